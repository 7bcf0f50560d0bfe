import { loadEnvFile } from './src/db/env-file';
import { knexConfigFromUrl } from './src/db/knex';

/** Used by `npm run migrate` and `npx knex migrate:latest`; the server migrates SQLite by itself on start. */
loadEnvFile();
export default knexConfigFromUrl(process.env.DATABASE_URL || 'sqlite:./data/wechat-login.sqlite3');
