import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';

/**
 * One row per login, in `user_sessions`: a browser login was a login-history
 * row and a session row holding almost the same fields, written in one
 * transaction of four statements (with the user's last login time and the
 * scene marked used). Now it is one INSERT: the session row is the history
 * line, its unique `scene` is "one login per QR scene" (a scene is used when
 * a row names it), and the last login is the newest row.
 *
 * Logins without a browser session (the mini-program's, whose session is its
 * bearer token) are rows that ended as they began (`end_reason` `no-session`)
 * with the hash of a token nobody was given. The history is kept: each
 * login_history row that began a session (same user and method, created
 * within 2 s of it) lends it its scene; every other one becomes such a row.
 */
const batchSize = 1000;
const sameLoginMs = 2000;

type Row = Record<string, unknown>;

/** A stored time in ms: MySQL gives a Date, SQLite the number knex stored. */
const timeOf = (value: unknown) => (value instanceof Date ? value.getTime() : Number(value));

export async function up(knex: Knex): Promise<void> {
  const mysql = knex.client.config.client === 'mysql2';
  await knex.schema.alterTable('user_sessions', (table) => {
    table.string('scene', 64).nullable().unique();
    // The console counts logins by time, over everyone.
    table.index(['created_at']);
    table.index(['user_id', 'created_at']);
  });
  let lastId = 0;
  for (;;) {
    const history: Row[] = await knex('login_history').where('id', '>', lastId).orderBy('id').limit(batchSize);
    if (history.length === 0) break;
    lastId = Number(history[history.length - 1].id);
    const times = history.map((row) => timeOf(row.created_at));
    const sessions: Row[] = await knex('user_sessions')
      .whereIn('user_id', [...new Set(history.map((row) => Number(row.user_id)))])
      .whereNull('scene')
      .andWhere('created_at', '>=', new Date(Math.min(...times) - sameLoginMs))
      .andWhere('created_at', '<=', new Date(Math.max(...times) + sameLoginMs))
      .select('id', 'user_id', 'method', 'created_at');
    const taken = new Set<number>();
    const alone: Row[] = [];
    for (const [index, row] of history.entries()) {
      const match = sessions.find(
        (session) =>
          !taken.has(Number(session.id)) &&
          Number(session.user_id) === Number(row.user_id) &&
          session.method === row.method &&
          Math.abs(timeOf(session.created_at) - times[index]) <= sameLoginMs,
      );
      if (!match) {
        alone.push(row);
        continue;
      }
      taken.add(Number(match.id));
      if (row.scene) await knex('user_sessions').where({ id: match.id }).update({ scene: row.scene });
    }
    if (alone.length > 0) {
      await knex('user_sessions').insert(
        alone.map((row) => ({
          token_hash: createHash('sha256').update(randomBytes(32)).digest('hex'),
          user_id: row.user_id,
          method: row.method,
          ip: String(row.ip).slice(0, 45),
          user_agent: row.user_agent,
          scene: row.scene ?? null,
          created_at: row.created_at,
          last_seen_at: row.created_at,
          expires_at: row.created_at,
          revoked_at: row.created_at,
          end_reason: 'no-session',
        })),
      );
    }
  }
  await knex.schema.dropTable('login_history');
  // Read from the newest login row now; SQLite (3.35+) drops a plain column in place.
  if (mysql) await knex.schema.alterTable('users', (table) => table.dropColumn('last_login_time'));
  else await knex.raw('ALTER TABLE users DROP COLUMN last_login_time');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (table) => table.datetime('last_login_time', { precision: 3 }).nullable());
  await knex.schema.createTable('login_history', (table) => {
    if (knex.client.config.client === 'mysql2') {
      table.charset('utf8mb4');
      table.collate('utf8mb4_unicode_ci');
    }
    table.increments('id').primary();
    table.integer('user_id').unsigned().notNullable().references('id').inTable('users').onDelete('CASCADE');
    table.string('method', 16).notNullable();
    table.string('ip', 64).notNullable();
    table.string('user_agent', 512).notNullable();
    table.string('scene', 64).nullable().unique();
    table.datetime('created_at', { precision: 3 }).notNullable();
    table.index(['user_id', 'created_at']);
    table.index(['created_at']);
  });
  await knex.raw('INSERT INTO login_history (user_id, method, ip, user_agent, scene, created_at) SELECT user_id, method, ip, user_agent, scene, created_at FROM user_sessions ORDER BY id');
  await knex.raw('UPDATE users SET last_login_time = (SELECT MAX(created_at) FROM user_sessions WHERE user_sessions.user_id = users.id)');
  await knex('user_sessions').where({ end_reason: 'no-session' }).delete();
  await knex.schema.alterTable('user_sessions', (table) => {
    table.dropIndex(['user_id', 'created_at']);
    table.dropIndex(['created_at']);
    table.dropUnique(['scene']);
  });
  await knex.schema.alterTable('user_sessions', (table) => table.dropColumn('scene'));
}
