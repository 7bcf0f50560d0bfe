import { aesKeyFromEncodingAesKey } from '../wechat/message-crypto.js';
import { randomInt } from 'node:crypto';
import { BadReplyError, buildEventXml, buildSignedPush, buildTextXml, openReply } from '../wechat/signed-push.js';

export interface PhoneOptions {
  /** Where WeChat would POST: the server's own /wechat/callback. */
  callbackUrl: string;
  token: string;
  appId: string;
  /** The Official Account's original ID, the ToUserName of every push. */
  accountId: string;
  encodingAesKey?: string;
  fetch?: typeof fetch;
  now?: () => number;
}

export interface PushResult {
  status: number;
  /** The passive reply's text (decrypted), or undefined for `success` or an error. */
  replyText?: string;
  /** Why WeChat would have dropped the reply: a bad MsgSignature or appid. The user would see nothing. */
  replyRefused?: string;
  body: string;
}

/**
 * The phone side of WeChat: it builds an event exactly as WeChat's servers
 * would, signs it with the Token, encrypts it in safe mode, and POSTs it to
 * the callback over real HTTP. The simulator never takes a shortcut into the
 * login service. Like WeChat, it drops an encrypted reply whose MsgSignature
 * or appid is wrong, and says so (`replyRefused`).
 */
export function createSimulatedPhone(options: PhoneOptions) {
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const key = options.encodingAesKey ? aesKeyFromEncodingAesKey(options.encodingAesKey) : undefined;

  function push(openid: string, event: string, extra: { eventKey?: string; ticket?: string } = {}): Promise<PushResult> {
    const createTime = Math.floor(now() / 1000);
    return post(openid, createTime, buildEventXml({ toUser: options.accountId, openid, createTime, event, ...extra }));
  }

  /** A text message typed to the account; WeChat numbers each message (MsgId, 64-bit). */
  function sendText(openid: string, content: string): Promise<PushResult> {
    const createTime = Math.floor(now() / 1000);
    const msgId = `${createTime}${String(randomInt(1_000_000_000)).padStart(9, '0')}`;
    return post(openid, createTime, buildTextXml({ toUser: options.accountId, openid, createTime, content, msgId }));
  }

  async function post(openid: string, createTime: number, xml: string): Promise<PushResult> {
    const signed = buildSignedPush(xml, { token: options.token, appId: options.appId, accountId: options.accountId, key, openid, timestamp: String(createTime) });
    const url = new URL(options.callbackUrl);
    url.search = signed.query.toString();
    const response = await doFetch(url, {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body: signed.body,
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    if (!response.ok || !text.startsWith('<xml>')) return { status: response.status, body: text };
    try {
      const fields = await openReply(text, { token: options.token, appId: options.appId, key });
      return { status: response.status, body: text, replyText: fields.Content };
    } catch (error) {
      if (error instanceof BadReplyError) return { status: response.status, body: text, replyRefused: error.message };
      throw error;
    }
  }

  return {
    /** A scan of a parametric QR code: `subscribe` + `qrscene_` for a new follower, `SCAN` for a follower. */
    scan(openid: string, scene: string, ticket: string, following: boolean) {
      return following
        ? push(openid, 'SCAN', { eventKey: scene, ticket })
        : push(openid, 'subscribe', { eventKey: `qrscene_${scene}`, ticket });
    },
    /** The documented plain follow and unfollow: no EventKey element at all. */
    follow: (openid: string) => push(openid, 'subscribe'),
    unfollow: (openid: string) => push(openid, 'unsubscribe'),
    sendText,
  };
}

export type SimulatedPhone = ReturnType<typeof createSimulatedPhone>;
