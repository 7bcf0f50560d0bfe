import 'dotenv/config';
import { createAdminQueries } from '../db/admin-queries.js';
import { createKnex } from '../db/knex.js';
import { runAdmin, usage } from './cli.js';

/** `npm run admin -- <command>` (compiled: `node dist/admin/main.js <command>`), on DATABASE_URL. */
async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const out = (text: string) => process.stdout.write(`${text}\n`);
  const err = (text: string) => process.stderr.write(`${text}\n`);
  if (argv.length === 0) {
    err(usage);
    return 2;
  }
  const databaseUrl = process.env.DATABASE_URL || 'sqlite:./data/wechat-login.sqlite3';
  if (!/^(sqlite:|mysql:\/\/)/.test(databaseUrl)) {
    err('DATABASE_URL must start with sqlite: or mysql://');
    return 2;
  }
  const knex = createKnex(databaseUrl);
  try {
    return await runAdmin(argv, createAdminQueries(knex), { out, err });
  } finally {
    await knex.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
