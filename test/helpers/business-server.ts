import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
// node-easywechat's own Official Account server, request and encryptor (its Application would load node-socialite for OAuth,
// whose published 1.5.3 lacks a file that node-easywechat 3.6.2 requires; the server needs none of it).
import Encryptor from 'node-easywechat/dist/Core/Encryptor';
import ServerRequest from 'node-easywechat/dist/Core/Http/ServerRequest';
import WechatServer from 'node-easywechat/dist/OfficialAccount/Server';
// The business's own WeChat server, written as co-wechat's README says: nothing of ours in it. co-wechat ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const wechat = require('co-wechat');

export interface BusinessMessage {
  MsgType: string;
  Event?: string;
  EventKey?: string;
  Content?: string;
  FromUserName: string;
}

/**
 * A business's WeChat bot on a real socket, served by co-wechat (npm,
 * unchanged): it checks the signature with its own Token, decrypts in safe mode
 * with its own EncodingAESKey and the account's appid, and answers with
 * `answer`. `received` lists what reached it, to count deliveries.
 */
export async function startBusinessServer(
  t: { teardown(fn: () => unknown): void },
  config: { token: string; appid: string; encodingAESKey?: string },
  answer: (message: BusinessMessage) => string | Promise<string>,
) {
  const received: BusinessMessage[] = [];
  const app = new Koa();
  app.use(
    wechat(config).middleware(async (message: BusinessMessage) => {
      received.push(message);
      return answer(message);
    }),
  );
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/wechat`, received };
}

/**
 * The same bot on node-easywechat (npm, unchanged), serving an Official
 * Account as its Application does: a ServerRequest from Node's request, its
 * Encryptor with the account's appid, Token and EncodingAESKey,
 * `server.with(...)`, `serve()`. Its checks (signature, safe-mode decryption, appid) are its own.
 */
export async function startEasyWechatServer(
  t: { teardown(fn: () => unknown): void },
  config: { token: string; appid: string; encodingAESKey?: string },
  answer: (message: BusinessMessage) => string | Promise<string>,
) {
  const received: BusinessMessage[] = [];
  const server = http.createServer(async (request, response) => {
    // As its Application: an encryptor only for an account in safe mode.
    const encryptor = config.encodingAESKey ? new Encryptor(config.appid, config.token, config.encodingAESKey) : undefined;
    const wechatServer = new WechatServer(await ServerRequest.createFromIncomingMessage(request), encryptor);
    wechatServer.with(async (message) => {
      const fields = message as unknown as BusinessMessage;
      received.push(fields);
      return answer(fields);
    });
    try {
      const answered = await wechatServer.serve();
      response.writeHead(answered.getStatusCode(), answered.getHeaders()).end(answered.getBody());
    } catch {
      response.writeHead(400).end('refused');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/wechat`, received };
}
