/**
 * What one INSERT of a callback nonce costs this process (µs of CPU, waiting on MariaDB not counted), by
 * the way it is sent: knex's builder, knex.raw, mysql2's prepared statements (execute) and its plain
 * queries. Each runs 2,700 times one after another, after 300 of warm-up.
 *
 *   node --import tsx bench/statement-cost.ts
 */
import { createHash, randomBytes } from 'node:crypto';
import { createBenchDatabase } from './lib/setup.js';
import { countInserted } from '../src/db/values.js';

async function main() {
  const database = await createBenchDatabase('mysql');
  const { knex } = database;
  const n = 3000;
  const rows = () => Array.from({ length: n }, () => ({ pair_hash: createHash('sha256').update(randomBytes(8)).digest('hex'), body_hash: 'b'.repeat(64), expires_at: new Date(Date.now() + 3600e3) }));
  const measure = async (name: string, run: (row: { pair_hash: string; body_hash: string; expires_at: Date }) => Promise<unknown>) => {
    const data = rows();
    for (let i = 0; i < 300; i++) await run(data[i]);
    const before = process.cpuUsage();
    for (let i = 300; i < n; i++) await run(data[i]);
    const cpu = process.cpuUsage(before);
    console.log(name, ((cpu.user + cpu.system) / (n - 300)).toFixed(0), 'µs');
  };
  await measure('knex builder, insert … onConflict().ignore() run raw for its count', (row) => {
    const { sql, bindings } = knex('callback_nonces').insert(row).onConflict('pair_hash').ignore().toSQL();
    return countInserted(knex, sql, bindings);
  });
  await measure('knex builder insert (plain)', (row) => knex('callback_nonces').insert(row));
  await measure('knex.raw', (row) => knex.raw('INSERT IGNORE INTO callback_nonces (pair_hash, body_hash, expires_at) VALUES (?, ?, ?)', [row.pair_hash, row.body_hash, row.expires_at]));
  // knex's own pool hands out mysql2 connections.
  const client = knex.client as unknown as { acquireConnection(): Promise<any>; releaseConnection(connection: unknown): Promise<void> };
  await measure('mysql2 execute (prepared)', async (row) => {
    const connection = await client.acquireConnection();
    try {
      await new Promise((resolve, reject) => connection.execute('INSERT IGNORE INTO callback_nonces (pair_hash, body_hash, expires_at) VALUES (?, ?, ?)', [row.pair_hash, row.body_hash, row.expires_at], (error: unknown, result: unknown) => (error ? reject(error) : resolve(result))));
    } finally {
      await client.releaseConnection(connection);
    }
  });
  await measure('mysql2 query (text, no knex)', async (row) => {
    const connection = await client.acquireConnection();
    try {
      await new Promise((resolve, reject) => connection.query('INSERT IGNORE INTO callback_nonces (pair_hash, body_hash, expires_at) VALUES (?, ?, ?)', [row.pair_hash, row.body_hash, row.expires_at], (error: unknown, result: unknown) => (error ? reject(error) : resolve(result))));
    } finally {
      await client.releaseConnection(connection);
    }
  });
  await database.drop();
}
main().catch((e) => { console.error(e); process.exit(1); });
