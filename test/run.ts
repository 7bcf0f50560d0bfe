/**
 * `npm test`: finds out once whether MySQL/MariaDB and Redis are reachable,
 * says so clearly, and runs ava with TEST_MYSQL and TEST_REDIS set to 1 or 0
 * so that test files can declare (or skip) those variants synchronously.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { isMysqlAvailable } from './helpers/databases.js';
import { isRedisAvailable } from './helpers/redis-probe.js';

async function main() {
  let available: boolean;
  let redis: boolean;
  try {
    available = await isMysqlAvailable();
    redis = await isRedisAvailable();
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
  process.stdout.write(available ? 'MySQL suites: ON\n' : 'MySQL suites: SKIPPED (no MySQL reachable)\n');
  process.stdout.write(redis ? 'Redis suites: ON\n' : 'Redis suites: SKIPPED (no Redis reachable)\n');
  const ava = spawn(process.execPath, [path.resolve(__dirname, '../node_modules/ava/entrypoints/cli.mjs'), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, TEST_MYSQL: available ? '1' : '0', TEST_REDIS: redis ? '1' : '0' },
  });
  ava.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

void main();
