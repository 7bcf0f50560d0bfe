import http from 'node:http';
import type { AddressInfo } from 'node:net';
import NodeCache from 'node-cache';
import type { TokenApi } from '../../src/config.js';
import { createAccessTokenProvider } from '../../src/wechat/access-token.js';
import { createWechatHttp } from '../../src/wechat/http-client.js';
import { createMiniProgramApi } from '../../src/wechat/mini-program-api.js';
import { createOauthApi } from '../../src/wechat/oauth-api.js';
import { createOfficialAccountApi } from '../../src/wechat/official-account-api.js';

export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
}

export type FakeHandler = (request: FakeRequest) => unknown | Promise<unknown>;

/**
 * A fake WeChat API on a real loopback socket. Each path answers with what
 * its handler returns (as JSON); every request is recorded so tests can count.
 */
export async function startFakeWechat(handlers: Record<string, FakeHandler>) {
  const requests: FakeRequest[] = [];
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const request: FakeRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, body: text ? JSON.parse(text) : undefined };
    requests.push(request);
    const handler = handlers[url.pathname];
    if (!handler) {
      res.writeHead(404).end();
      return;
    }
    const answer = await handler(request);
    if (answer === 'hang') return; // never answer: for timeout tests
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    count: (path: string) => requests.filter((request) => request.path === path).length,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A server's settings for a real WeChat account whose API is `fake`: pushes
 * are signed with the token 'tok' and addressed to 'gh_real'.
 */
export function realWechatAt(fake: { url: string }): Record<string, string> {
  return { WECHAT_APP_ID: 'wxreal', WECHAT_APP_SECRET: 'secret', WECHAT_TOKEN: 'tok', WECHAT_ORIGINAL_ID: 'gh_real', WECHAT_API_BASE: fake.url };
}

export interface WechatClientOptions {
  tokenApi?: TokenApi;
  timeoutMs?: number;
}

/**
 * The server's WeChat API clients, talking to a fake WeChat that answers with
 * `handlers`; both are closed when the test ends. `warnings` collects what the
 * clients log (what an answer left out), instead of a log file.
 */
export async function startWechatClients(t: { teardown(fn: () => unknown): void }, handlers: Record<string, FakeHandler>, options: WechatClientOptions = {}) {
  const fake = await startFakeWechat(handlers);
  const cache = new NodeCache({ useClones: false });
  t.teardown(async () => {
    cache.close();
    await fake.close();
  });
  const warnings: { message: string; fields?: Record<string, unknown> }[] = [];
  const logger = { warn: (message: string, fields?: Record<string, unknown>) => void warnings.push({ message, fields }) };
  const http = createWechatHttp({ apiBase: fake.url, timeoutMs: options.timeoutMs ?? 5000, logger });
  const app = { appId: 'wxapp', appSecret: 'secret' };
  const tokens = createAccessTokenProvider({ http, cache, ...app, tokenApi: options.tokenApi ?? 'stable' });
  return {
    fake,
    cache,
    tokens,
    warnings,
    api: createOfficialAccountApi({ http, tokens }),
    oauth: createOauthApi({ http, ...app, openBase: fake.url }),
    miniProgram: createMiniProgramApi({ http, tokens, ...app }),
  };
}
