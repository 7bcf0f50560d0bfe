import net from 'node:net';
import test from 'ava';
import { serverTimeouts } from '../../src/http/server-timeouts.js';
import { openLoginPage, poll } from '../helpers/login-flow.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { signedQuery } from '../helpers/wechat-push.js';
import { pollJitterMs } from '../../src/login/scan/poll-hold.js';

/**
 * Issue 11, attack 5: unfinished headers were held 76 s, and bodies dripped at
 * one byte every 10 s were held 316 s on routes that need no login. The
 * server's timeouts (src/http/server-timeouts.ts, used by main.ts and by these
 * test servers) now cut both within 15 s, without cutting a held long-poll or
 * an idle keep-alive connection.
 */

const limitMs = 15_000;

/** Opens a raw connection, writes `head` and then one byte of `drip` every 2 s until the server closes it. */
function dripRequest(server: TestServer, head: string, drip: string) {
  const { hostname, port } = new URL(server.url);
  return new Promise<{ ms: number; response: string }>((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(Number(port), hostname);
    let response = '';
    let sent = 0;
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => (response += chunk));
    socket.on('error', () => undefined); // a write after the server hung up: expected
    socket.write(head);
    const timer = setInterval(() => {
      if (sent < drip.length) socket.write(drip[sent++]);
    }, 2000);
    const giveUp = setTimeout(() => {
      socket.destroy();
      reject(new Error(`still open after 40 s; got ${JSON.stringify(response.slice(0, 80))}`));
    }, 40_000);
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve({ ms: Date.now() - started, response });
    });
  });
}

test('bodies dripped at 1 byte / 2 s are cut within 15 s with 408, on every route (no login or CSRF needed to try)', async (t) => {
  const server = await startServer(t);
  const post = (path: string, type: string) => `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: ${type}\r\nContent-Length: 200\r\n\r\n`;
  const results = await Promise.all([
    dripRequest(server, post('/bind/code', 'application/x-www-form-urlencoded'), 'phone=13800138000&_csrf=x'.repeat(8)),
    dripRequest(server, post('/api/miniprogram/login', 'application/json'), '{"code":"'.padEnd(200, 'a')),
    dripRequest(server, post(`/wechat/callback?${signedQuery()}`, 'text/xml'), '<xml>'.padEnd(200, 'a')),
  ]);
  for (const { ms, response } of results) {
    t.true(ms < limitMs, `closed after ${ms} ms`);
    t.regex(response, /^HTTP\/1\.1 408/);
  }
});

test('headers dripped at 1 byte / 2 s are cut within 15 s', async (t) => {
  const server = await startServer(t);
  const { ms, response } = await dripRequest(server, 'GET /login HTTP/1.1\r\nHost: x\r\n', 'X-Slow: '.padEnd(100, 'z'));
  t.true(ms < limitMs, `closed after ${ms} ms`);
  t.regex(response, /^HTTP\/1\.1 408/);
});

test('a long-poll held longer than the request timeout is answered normally', async (t) => {
  // Held at least this less its jitter (poll-hold.ts): still past the request timeout.
  const holdMs = serverTimeouts.requestTimeoutMs + 2000 + pollJitterMs;
  const server = await startServer(t, { env: { LOGIN_POLL_TIMEOUT_MS: String(holdMs) } });
  const { browser, scene } = await openLoginPage(server);
  const started = Date.now();
  const answer = await poll(browser, scene);
  t.true(Date.now() - started >= holdMs - pollJitterMs - 100, 'it was really held');
  t.true(Date.now() - started > serverTimeouts.requestTimeoutMs, 'longer than the request timeout');
  t.deepEqual(answer, { status: 200, body: { status: 'pending' } });
});

test('an idle keep-alive connection outlives the header timeout and is reused', async (t) => {
  const server = await startServer(t);
  const { hostname, port } = new URL(server.url);
  const socket = net.connect(Number(port), hostname);
  t.teardown(() => socket.destroy());
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => (received += chunk));
  const request = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';
  const answers = () => received.match(/HTTP\/1\.1 200/g)?.length ?? 0;
  const waitFor = async (count: number) => {
    for (let i = 0; i < 100 && answers() < count; i += 1) await new Promise((resolve) => setTimeout(resolve, 50));
  };
  socket.write(request);
  await waitFor(1);
  t.regex(received, /keep-alive/i);
  t.regex(received, new RegExp(`timeout=${serverTimeouts.keepAliveTimeoutMs / 1000}`));
  await new Promise((resolve) => setTimeout(resolve, serverTimeouts.headersTimeoutMs + 1500));
  t.false(socket.destroyed || socket.readyState !== 'open', 'still open');
  socket.write(request);
  await waitFor(2);
  t.is(answers(), 2);
});
