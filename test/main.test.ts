import { spawn } from 'node:child_process';
import path from 'node:path';
import test from 'ava';

/** Runs `src/main.ts` as `npm start` would, and collects how it ends. */
function runMain(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.resolve(__dirname, '../src/main.ts')], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) => child.once('exit', (code) => {
    clearTimeout(timer);
    resolve({ code, stderr });
  }));
}

test('NODE_ENV=production with nothing set refuses to start, naming everything missing in one message', async (t) => {
  const { code, stderr } = await runMain({ NODE_ENV: 'production' });
  t.is(code, 1);
  t.is(stderr.match(/Invalid configuration/g)?.length, 1);
  for (const name of ['PUBLIC_URL', 'SESSION_KEYS', 'WECHAT_APP_ID', 'WECHAT_TOKEN', 'WECHAT_ORIGINAL_ID', 'SMS_PROVIDER']) t.true(stderr.includes(name), name);
  t.notRegex(stderr, /\n\s+at /, 'a message, not a stack trace');
});

test('invalid variables stop the start with one message naming every one', async (t) => {
  const { code, stderr } = await runMain({ PORT: 'x', QR_EXPIRE_SECONDS: '0', WECHAT_TOKEN_API: 'nope' });
  t.is(code, 1);
  t.is(stderr.match(/Invalid configuration/g)?.length, 1);
  for (const name of ['PORT', 'QR_EXPIRE_SECONDS', 'WECHAT_TOKEN_API']) t.true(stderr.includes(name), name);
});
