import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { createSimulatedPhone } from '../../src/simulator/phone.js';
import { createCallbackCodec } from '../../src/wechat/callback-codec.js';
import { aesKeyFromEncodingAesKey, encryptMessage } from '../../src/wechat/message-crypto.js';
import { buildEncryptedReply, buildTextReply, parseXmlFields, toWechatMessage } from '../../src/wechat/messages.js';
import { BadReplyError, buildEventXml, buildSignedPush, openReply } from '../../src/wechat/signed-push.js';
import { computeSignature } from '../../src/wechat/signature.js';

const token = 'tok';
const appId = 'wx0123456789abcdef';
const accountId = 'gh_0123456789ab';
const encodingAesKey = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const key = aesKeyFromEncodingAesKey(encodingAesKey);
const codec = createCallbackCodec({ token, appId, encodingAesKey, timestampToleranceSeconds: 0 });
const plainCodec = createCallbackCodec({ token, appId, timestampToleranceSeconds: 0 });

// The documented plain follow/unfollow push has no EventKey element
// (https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_event_pushes.html);
// pushes seen in the wild carry an empty one. Both are a plain (un)follow.
test('plain follow and unfollow have no EventKey element, and both forms parse as (un)follow', async (t) => {
  const follow = buildEventXml({ toUser: accountId, openid: 'o_1', createTime: 1_700_000_000, event: 'subscribe' });
  t.false(follow.includes('EventKey'));
  t.is(follow, `<xml><ToUserName><![CDATA[${accountId}]]></ToUserName><FromUserName><![CDATA[o_1]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>`);
  for (const event of ['subscribe', 'unsubscribe'] as const) {
    for (const eventKey of [undefined, '']) {
      const message = toWechatMessage(await parseXmlFields(buildEventXml({ toUser: accountId, openid: 'o_1', createTime: 1, event, eventKey })));
      t.is(message.kind, event, `${event} with EventKey ${JSON.stringify(eventKey)}`);
    }
  }
  const scan = buildEventXml({ toUser: accountId, openid: 'o_1', createTime: 1, event: 'subscribe', eventKey: 'qrscene_abc', ticket: 'T' });
  t.like(toWechatMessage(await parseXmlFields(scan)), { kind: 'scan', scene: 'abc', ticket: 'T' });
});

test('a signed push opens with the server’s own codec, plain and encrypted', async (t) => {
  const xml = buildEventXml({ toUser: accountId, openid: 'o_1', createTime: Math.floor(Date.now() / 1000), event: 'SCAN', eventKey: 's1' });
  for (const withKey of [undefined, key]) {
    const { query, body } = buildSignedPush(xml, { token, appId, accountId, key: withKey, openid: 'o_1' });
    t.is(query.get('openid'), 'o_1');
    t.is(query.get('encrypt_type'), withKey ? 'aes' : null);
    const opened = await (withKey ? codec : plainCodec).open(Object.fromEntries(query), async () => body);
    t.like(opened.fields, { Event: 'SCAN', EventKey: 's1', FromUserName: 'o_1' });
  }
});

test('openReply accepts the codec’s sealed reply and refuses a bad MsgSignature, another appid or garbage', async (t) => {
  const reply = buildTextReply({ toUser: accountId, openid: 'o_1' }, '你好');
  const sealed = codec.seal(reply, { replyKey: key });
  t.is((await openReply(sealed, { token, appId, key })).Content, '你好');
  t.is((await openReply(reply, { token, appId, key })).Content, '你好', 'a plaintext reply is read as it is');

  const forged = sealed.replace(/<MsgSignature><!\[CDATA\[([0-9a-f]+)\]\]>/, (_, hex: string) => `<MsgSignature><![CDATA[${hex.slice(0, -1)}${hex.endsWith('0') ? '1' : '0'}]]>`);
  await t.throwsAsync(openReply(forged, { token, appId, key }), { instanceOf: BadReplyError, message: /MsgSignature/ });

  const foreign = encryptMessage(key, reply, 'wxsomeoneelse00000');
  const foreignReply = buildEncryptedReply(foreign, computeSignature([token, '1', 'n', foreign]), '1', 'n');
  await t.throwsAsync(openReply(foreignReply, { token, appId, key }), { instanceOf: BadReplyError, message: /another appid/ });

  const junk = buildEncryptedReply('AAAA', computeSignature([token, '1', 'n', 'AAAA']), '1', 'n');
  await t.throwsAsync(openReply(junk, { token, appId, key }), { instanceOf: BadReplyError, message: /decrypted/ });
});

/** A callback that answers every push with `reply(body)`, recording what it received. */
async function fakeCallback(t: { teardown(fn: () => unknown): void }, reply: (xml: string) => string) {
  const received: { url: string; body: string }[] = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', async () => {
      received.push({ url: request.url!, body });
      const opened = await codec.open(Object.fromEntries(new URL(request.url!, 'http://x').searchParams), async () => body);
      response.end(reply(buildTextReply({ toUser: opened.fields.ToUserName, openid: opened.fields.FromUserName }, `got ${opened.fields.Event}`)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { received, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/wechat/callback` };
}

test('the simulated phone shows a well-sealed reply and visibly refuses a badly signed or foreign one', async (t) => {
  const good = await fakeCallback(t, (plain) => codec.seal(plain, { replyKey: key }));
  const phone = createSimulatedPhone({ callbackUrl: good.url, token, appId, accountId, encodingAesKey });
  const followed = await phone.follow('o_1');
  t.like(followed, { status: 200, replyText: 'got subscribe', replyRefused: undefined });
  // What went over the wire: encrypted, and once decrypted, no EventKey.
  const opened = await codec.open(Object.fromEntries(new URL(good.received[0].url, 'http://x').searchParams), async () => good.received[0].body);
  t.false('EventKey' in opened.fields);
  t.false(good.received[0].body.includes('subscribe'), 'the event itself is encrypted');

  const badSignature = await fakeCallback(t, (plain) => codec.seal(plain, { replyKey: key }).replace(/<MsgSignature><!\[CDATA\[[0-9a-f]+/, '<MsgSignature><![CDATA[' + '0'.repeat(40)));
  const refused = await createSimulatedPhone({ callbackUrl: badSignature.url, token, appId, accountId, encodingAesKey }).unfollow('o_1');
  t.is(refused.replyText, undefined);
  t.regex(refused.replyRefused!, /MsgSignature/);

  const otherApp = createCallbackCodec({ token, appId: 'wxsomeoneelse00000', encodingAesKey, timestampToleranceSeconds: 0 });
  const foreign = await fakeCallback(t, (plain) => otherApp.seal(plain, { replyKey: key }));
  const foreignResult = await createSimulatedPhone({ callbackUrl: foreign.url, token, appId, accountId, encodingAesKey }).follow('o_1');
  t.regex(foreignResult.replyRefused!, /another appid/);
});
