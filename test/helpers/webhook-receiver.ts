import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { Teardown } from './server.js';

/** The tests' hook secret, in the Standard Webhooks form. */
export const secret = `whsec_${Buffer.from('a webhook key of thirty-two bytes').toString('base64')}`;

/** A business's webhook endpoint on loopback: keeps every request, answers `status` (or never, with `hang`). */
export async function startReceiver(t: Teardown, port = 0) {
  const received: { headers: Record<string, string>; body: string }[] = [];
  const state = { status: 204, hang: false, held: [] as http.ServerResponse[] };
  const server = http.createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      received.push({ headers: request.headers as Record<string, string>, body });
      if (state.hang) state.held.push(response);
      else response.writeHead(state.status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, received, state };
}

/** What a business's server does with each request: the Standard Webhooks library's own check. */
export const verify = (request: { headers: Record<string, string>; body: string }) =>
  new Webhook(secret).verify(request.body, request.headers) as { type: string; timestamp: string; data: Record<string, unknown> };

