// No relative imports in this file: the knex CLI loads it through knexfile.ts with sucrase,
// which does not map `./x.js` to `./x.ts`.

import path from 'node:path';
import dotenv from 'dotenv';

/**
 * The repository root: the folder of package.json and `.env`. This file is
 * `src/db/env-file.ts` under tsx and `dist/db/env-file.js` in the build, two
 * levels down either way.
 */
export const projectRoot = path.resolve(__dirname, '../..');

/**
 * Reads `<root>/.env` into `process.env` (variables already set win). Every
 * entry point calls it: the server, the admin tool and both knexfiles. The
 * knex CLI changes into the knexfile's folder first, so a plain
 * `import 'dotenv/config'` there read `dist/db/.env`, and `migrate:built`
 * migrated another database than the server used.
 */
export function loadEnvFile(): void {
  dotenv.config({ path: path.join(projectRoot, '.env'), quiet: true });
}
