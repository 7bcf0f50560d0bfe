import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { wechatTexts } from '../../src/messages/wechat-texts.js';
import { aesKeyFromEncodingAesKey, encryptMessage } from '../../src/wechat/message-crypto.js';
import { computeSignature } from '../../src/wechat/signature.js';
import { databaseKinds } from '../helpers/databases.js';
import { openLoginPage } from '../helpers/login-flow.js';
import { startServer, plainScanLogin } from '../helpers/server.js';
import { replyContent, signedQuery, testToken } from '../helpers/wechat-push.js';
import type { CallbackItem, CorpusItem, Sign } from '../fixtures/hostile-corpus.js';

const corpus: CorpusItem[] = JSON.parse(readFileSync(path.join(__dirname, '../fixtures/hostile-callbacks.json'), 'utf8'));
const aesKey = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const wrongKey = 'ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210abcdefg';

function queryFor(sign: Sign): URLSearchParams {
  if (sign === 'none') return new URLSearchParams({ timestamp: String(Math.floor(Date.now() / 1000)), nonce: 'n' });
  if (sign === 'forged') return signedQuery({ token: 'not-the-token' });
  if (sign === 'stale') return signedQuery({ timestamp: Math.floor(Date.now() / 1000) - 3600 });
  return signedQuery();
}

function bodyOf(item: CallbackItem): Buffer {
  if (item.bodyBase64) return Buffer.from(item.bodyBase64, 'base64');
  return Buffer.from((item.body ?? '').repeat(item.repeat ?? 1), 'utf8');
}

/** Builds the request an attacker (or a broken proxy) would send for one corpus item. */
function requestFor(item: CallbackItem, appId: string): { query: URLSearchParams; body: Buffer } {
  const query = queryFor(item.sign);
  let body = bodyOf(item);
  const envelope = (encrypt: string, signature?: string) => {
    query.set('encrypt_type', 'aes');
    query.set('msg_signature', signature ?? computeSignature([testToken, query.get('timestamp')!, query.get('nonce')!, encrypt]));
  };
  if (item.encrypt) {
    const key = aesKeyFromEncodingAesKey(item.encrypt.key === 'right' ? aesKey : wrongKey);
    let encrypt = encryptMessage(key, body.toString('utf8'), item.encrypt.appid === 'right' ? appId : 'wx_wrong_app');
    if (item.encrypt.truncate) encrypt = encrypt.slice(0, 64);
    envelope(encrypt, item.encrypt.msgSignature === 'forged' ? 'f'.repeat(40) : undefined);
    body = Buffer.from(`<xml><ToUserName><![CDATA[gh_simulator00001]]></ToUserName><Encrypt><![CDATA[${encrypt}]]></Encrypt></xml>`);
  } else if (item.aesEnvelope) {
    envelope(body.toString('utf8').match(/<Encrypt>(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?<\/Encrypt>/)?.[1] ?? '');
  }
  return { query, body };
}

for (const { kind, enabled } of databaseKinds) {
  (enabled ? test : test.skip)(`${kind}: ${corpus.length} hostile inputs: each gets a 4xx (or success), the server stays up, the database is unchanged`, async (t) => {
    t.true(corpus.length >= 200);
    // Safe mode refuses every plaintext push (401), so plaintext items are aimed at a plaintext-mode
    // server, where they reach the parser; encrypted ones at a safe-mode server. Each safe-mode
    // server must also refuse the validly signed plaintext items, whatever they hold.
    const plainServer = await startServer(t, { database: kind, env: plainScanLogin });
    const safeServer = await startServer(t, { database: kind, env: { ...plainScanLogin, WECHAT_ENCODING_AES_KEY: aesKey } });
    const { browser } = await openLoginPage(plainServer);
    const failures: string[] = [];
    for (const item of corpus) {
      const server = item.kind === 'callback' && (item.encrypt || item.aesEnvelope) ? safeServer : plainServer;
      if (item.kind === 'callback' && server === plainServer && item.sign === 'valid' && (!item.contentType || /xml/.test(item.contentType))) {
        const { query, body } = requestFor(item, safeServer.config.wechat.appId);
        const headers = item.contentType ? { 'content-type': item.contentType } : undefined;
        const refused = await fetch(`${safeServer.url}/wechat/callback?${query}`, { method: 'POST', headers, body: new Uint8Array(body) });
        if (refused.status !== 401) failures.push(`${item.name}: plaintext in safe mode got ${refused.status}`);
        await refused.text();
      }
      let status: number;
      let text: string;
      if (item.kind === 'poll') {
        const response = await browser.get(`/login/poll?${item.query}`);
        status = response.status;
        text = await response.text();
      } else if (item.kind === 'verify') {
        const query = queryFor(item.sign);
        query.set('echostr', item.echostr);
        const response = await fetch(`${server.url}/wechat/callback?${query}`);
        status = response.status;
        text = await response.text();
        if (text.includes(item.echostr)) failures.push(`${item.name}: echostr came back`);
      } else {
        const { query, body } = requestFor(item, server.config.wechat.appId);
        const response = await fetch(`${server.url}/wechat/callback?${query}`, {
          method: 'POST',
          headers: item.contentType ? { 'content-type': item.contentType } : {},
          body: new Uint8Array(body),
        }).catch((error: Error) => ({ status: 0, text: async () => error.message }));
        status = response.status;
        text = await response.text();
      }
      const ok =
        item.expect === '4xx'
          ? status >= 400 && status < 500
          : item.expect === 'success'
            ? status === 200 && text === 'success'
            : status === 200 && replyContent(text) === wechatTexts.zh.sceneInvalid;
      if (!ok) failures.push(`${item.name}: expected ${item.expect}, got ${status} ${text.slice(0, 80)}`);
      if (/at .+\.(ts|js):\d+|Error:/.test(text)) failures.push(`${item.name}: the answer shows internals`);
    }
    t.deepEqual(failures, []);
    for (const server of [plainServer, safeServer]) {
      t.deepEqual(await (await fetch(`${server.url}/healthz`)).json(), { status: 'ok' });
      t.is(Number((await server.knex('users').count({ n: '*' }).first())!.n), 0);
      t.is(Number((await server.knex('user_sessions').count({ n: '*' }).first())!.n), 0);
      t.deepEqual(server.logs.filter((log) => log.level === 'error'), []);
    }
  });
}
