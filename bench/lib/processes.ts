import { spawn } from 'node:child_process';
import path from 'node:path';
import { freePort, startServerProcess, type ServerProcess } from '../../test/helpers/process-server.js';
import { sessionKey } from './setup.js';

export { type ServerProcess };

/**
 * Our server, as `npm start` runs it, with GC exposed and the bench's stats route (bench/lib/server-entry.ts).
 * `nodeArgs` go to node itself (`--cpu-prof` is refused in NODE_OPTIONS).
 */
export function startOurServer(databaseUrl: string, env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<ServerProcess> {
  return startServerProcess(
    { DATABASE_URL: databaseUrl, SESSION_KEYS: sessionKey, RATE_LIMITS: 'off', LOGIN_CONFIRM: 'off', QR_EXPIRE_SECONDS: '3600', ...env },
    ['--expose-gc', ...profileArgs(), ...nodeArgs],
    'bench/lib/server-entry.ts',
  );
}

/**
 * Our server as in production without a mini-program: simulator off, WeChat's API answered by
 * bench/fake-wechat-server.ts (started here, stopped with the server).
 */
export async function startOurServerWithFakeWechat(databaseUrl: string, env: Record<string, string> = {}, nodeArgs: string[] = []) {
  const fake = await startHelperServer('fake-wechat-server.ts', {});
  try {
    const server = await startOurServer(
      databaseUrl,
      {
        WECHAT_APP_ID: 'wxbenchfake',
        WECHAT_APP_SECRET: 'bench-fake-secret',
        WECHAT_TOKEN: 'dev-token',
        WECHAT_API_BASE: fake.url,
        WECHAT_OPEN_BASE: fake.url,
        ...env,
      },
      nodeArgs,
    );
    void server.exited.then(() => fake.stop());
    return server;
  } catch (error) {
    await fake.stop();
    throw error;
  }
}

/** With BENCH_PROFILE_DIR set, every server the bench starts writes a CPU profile there (node flags, never NODE_OPTIONS). */
function profileArgs(): string[] {
  const dir = process.env.BENCH_PROFILE_DIR;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

/** A helper server from bench/ (the tutorial baseline or co-wechat), waited for until it listens. */
export async function startHelperServer(script: string, env: Record<string, string>) {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', path.resolve(__dirname, '..', script)], {
    env: { ...process.env, PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => String(chunk).includes('listening') && resolve());
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

/** Stops a server and waits; held polls are answered by its drain. */
export async function stop(server: ServerProcess): Promise<void> {
  server.child.kill('SIGTERM');
  await Promise.race([server.exited, new Promise((resolve) => setTimeout(resolve, 12_000))]);
  await server.stop();
}
