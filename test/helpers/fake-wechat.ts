import http from 'node:http';
import type { AddressInfo } from 'node:net';

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
