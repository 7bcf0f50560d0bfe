import os from 'node:os';
import { createAdminQueries } from '../db/admin-queries.js';
import { createEventLog } from '../db/event-log.js';
import { createOutboxQueries } from '../db/outbox.js';
import { ConfigError, loadConfig } from '../config.js';
import { loadEnvFile } from '../db/env-file.js';
import { createKnex } from '../db/knex.js';
import { rotateOidcSigningKeys } from '../oidc/signing-keys.js';
import { runAdmin, usage } from './cli.js';

/** The operator's login name on this machine, for the admin log; `unknown` where the system has none. */
function operatorName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** `npm run admin -- <command>` (compiled: `node dist/admin/main.js <command>`), on DATABASE_URL. */
async function main(): Promise<number> {
  loadEnvFile();
  const argv = process.argv.slice(2);
  const out = (text: string) => process.stdout.write(`${text}\n`);
  const err = (text: string) => process.stderr.write(`${text}\n`);
  if (argv.length === 0) {
    err(usage);
    return 2;
  }
  let config;
  try {
    // The server's own configuration: the same database, and the same keys for what is stored encrypted.
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    err(error.message);
    return 2;
  }
  const knex = createKnex(config.databaseUrl);
  const { keys } = config;
  const oidc = config.oidc.enabled ? { clients: config.oidc.clients, rotateKeys: () => rotateOidcSigningKeys(knex, keys.oidcSigningKey) } : undefined;
  try {
    return await runAdmin(argv, createAdminQueries(knex, createEventLog(config.webhooks)), { out, err, actor: `cli:${operatorName()}` }, oidc, createOutboxQueries(knex));
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
