import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedSms {
  phone: string;
  code: string;
  purpose: string;
}

/**
 * An SMS provider's webhook on a real socket (SMS_PROVIDER=webhook points here).
 * The server awaits the provider before it answers `POST /bind/code`, so once that
 * answer is in, the code is here: tests never read it back from a log.
 */
export async function startSmsReceiver(t: { teardown(fn: () => unknown): void }, status = 200) {
  const received: ReceivedSms[] = [];
  const contentTypes: (string | undefined)[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      contentTypes.push(req.headers['content-type']);
      received.push(JSON.parse(body) as ReceivedSms);
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sms`;
  return {
    url,
    /** The server's environment for this receiver. */
    env: { SMS_PROVIDER: 'webhook', SMS_WEBHOOK_URL: url },
    received,
    contentTypes,
    /** The newest code sent to `phone`; throws when none was. */
    codeFor(phone: string): string {
      const found = received.filter((sms) => sms.phone === phone).at(-1);
      if (!found) throw new Error(`no SMS was sent to ${phone}`);
      return found.code;
    },
  };
}

export type SmsReceiver = Awaited<ReturnType<typeof startSmsReceiver>>;
