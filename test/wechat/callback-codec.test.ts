import test from 'ava';
import { createCallbackCodec, type CallbackQuery } from '../../src/wechat/callback-codec.js';
import { CallbackRejectedError, type CallbackRejection } from '../../src/wechat/errors.js';
import { aesKeyFromEncodingAesKey } from '../../src/wechat/message-crypto.js';
import { createReplayGuard, type NonceStore } from '../../src/wechat/replay-guard.js';
import { buildEventXml, buildSignedPush, signCallbackQuery } from '../../src/wechat/signed-push.js';

const token = 'tok';
const appId = 'wx0123456789abcdef';
const accountId = 'gh_0123456789ab';
const encodingAesKey = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const key = aesKeyFromEncodingAesKey(encodingAesKey);
const now = () => 1_700_000_000_000;
const timestamp = String(now() / 1000);

/** Remembers pairs in a Map: the claim semantics of the real stores, without a database. */
function memoryNonceStore(): NonceStore {
  const pairs = new Map<string, string>();
  return {
    async remember(pairKey, bodyHash) {
      if (!pairs.has(pairKey)) pairs.set(pairKey, bodyHash);
      return pairs.get(pairKey)!;
    },
  };
}

function codec(options: { encodingAesKey?: string; originalId?: string } = {}) {
  const replayGuard = createReplayGuard({ store: memoryNonceStore(), toleranceSeconds: 300, now });
  return createCallbackCodec({ token, appId, timestampToleranceSeconds: 300, now, replayGuard, ...options });
}

const scan = buildEventXml({ toUser: accountId, openid: 'o_1', createTime: 1_700_000_000, event: 'SCAN', eventKey: 's1' });
const queryOf = (params: URLSearchParams): CallbackQuery => Object.fromEntries(params);

async function rejection(opening: Promise<unknown> | (() => unknown)): Promise<CallbackRejection | undefined> {
  try {
    await (typeof opening === 'function' ? opening() : opening);
  } catch (error) {
    if (error instanceof CallbackRejectedError) return error.reason;
    throw error;
  }
  return undefined;
}

test('a good push opens as fields and a typed message, plain and encrypted', async (t) => {
  for (const withKey of [undefined, key]) {
    const { query, body } = buildSignedPush(scan, { token, appId, accountId, key: withKey, timestamp });
    const opened = await codec({ encodingAesKey: withKey && encodingAesKey, originalId: accountId }).open(queryOf(query), async () => body);
    t.like(opened.message, { kind: 'scan', event: 'SCAN', scene: 's1', openid: 'o_1', toUser: accountId });
    t.is(opened.fields.EventKey, 's1');
    t.is(Boolean(opened.replyKey), Boolean(withKey));
  }
});

test('each failed check is a CallbackRejectedError naming its reason, free of HTTP', async (t) => {
  const plain = codec();
  const safe = codec({ encodingAesKey });
  const signed = signCallbackQuery(token, timestamp, 'n1');
  t.is(await rejection(() => plain.verifyUrl(queryOf(signCallbackQuery('guess', timestamp, 'n1')))), 'invalid_signature');
  t.is(await rejection(() => plain.verifyUrl(queryOf(signCallbackQuery(token, String(Number(timestamp) - 301), 'n1')))), 'stale_timestamp');
  t.is(await rejection(safe.open(queryOf(signed), async () => scan)), 'encryption_required');
  t.is(await rejection(plain.open(queryOf(signCallbackQuery(token, timestamp, 'n2')), async () => '<xml><A>x</B></xml>')), 'malformed_xml');
  t.is(await rejection(plain.open(queryOf(signCallbackQuery(token, timestamp, 'n3')), async () => '<xml><MsgType>event</MsgType></xml>')), 'malformed_xml');
  const elsewhere = codec({ originalId: 'gh_someoneelse01' });
  t.is(await rejection(elsewhere.open(queryOf(signCallbackQuery(token, timestamp, 'n4')), async () => scan)), 'wrong_account');

  const encrypted = buildSignedPush(scan, { token, appId, accountId, key, timestamp, nonce: 'n5' });
  t.is(await rejection(plain.open(queryOf(encrypted.query), async () => encrypted.body)), 'not_decryptable');
  const forged = new URLSearchParams(encrypted.query);
  forged.set('msg_signature', '0'.repeat(40));
  t.is(await rejection(codec({ encodingAesKey }).open(queryOf(forged), async () => encrypted.body)), 'invalid_signature');
  const foreign = buildSignedPush(scan, { token, appId: 'wxsomeoneelse00000', accountId, key, timestamp, nonce: 'n6' });
  t.is(await rejection(codec({ encodingAesKey }).open(queryOf(foreign.query), async () => foreign.body)), 'not_decryptable');
});

test('the same timestamp and nonce with another body is replayed_nonce; the same body again is a retry', async (t) => {
  const guarded = codec();
  const query = queryOf(signCallbackQuery(token, timestamp, 'n1'));
  await guarded.open(query, async () => scan);
  await guarded.open(query, async () => scan);
  const other = buildEventXml({ toUser: accountId, openid: 'o_2', createTime: 1_700_000_000, event: 'SCAN', eventKey: 's1' });
  t.is(await rejection(guarded.open(query, async () => other)), 'replayed_nonce');
});
