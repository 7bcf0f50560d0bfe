import { loadEnvFile } from './env-file.js';
import { knexConfigFromUrl } from './knex.js';

/**
 * The knex CLI's configuration for the compiled build: `dist/db/knexfile.js`,
 * used by `npm run migrate:built` (or `npx knex --knexfile dist/db/knexfile.js …`)
 * with no TypeScript tooling. The root `knexfile.ts` does the same from the sources:
 * both read the root's `.env`, as the server does.
 */
loadEnvFile();
export default knexConfigFromUrl(process.env.DATABASE_URL || 'sqlite:./data/wechat-login.sqlite3');
