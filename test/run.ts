/**
 * `npm test`: finds out once whether MySQL/MariaDB is reachable, says so
 * clearly, and runs ava with TEST_MYSQL=1 or 0 so that test files can
 * declare (or skip) their MySQL variants synchronously.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { isMysqlAvailable } from './helpers/databases.js';

async function main() {
  let available: boolean;
  try {
    available = await isMysqlAvailable();
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
  process.stdout.write(available ? 'MySQL suites: ON\n' : 'MySQL suites: SKIPPED (no MySQL reachable)\n');
  const ava = spawn(process.execPath, [path.resolve(__dirname, '../node_modules/ava/entrypoints/cli.mjs'), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, TEST_MYSQL: available ? '1' : '0' },
  });
  ava.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

void main();
