import { randomBytes } from 'node:crypto';
import { aesKeyFromEncodingAesKey, decryptMessage, encryptMessage } from '../wechat/message-crypto.js';
import { cdata, parseXmlFields } from '../wechat/messages.js';
import { computeSignature } from '../wechat/signature.js';

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
  body: string;
}

/**
 * The phone side of WeChat: it builds an event exactly as WeChat's servers
 * would, signs it with the Token, encrypts it in safe mode, and POSTs it to
 * the callback over real HTTP. The simulator never takes a shortcut into the
 * login service.
 */
export function createSimulatedPhone(options: PhoneOptions) {
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const key = options.encodingAesKey ? aesKeyFromEncodingAesKey(options.encodingAesKey) : undefined;

  function eventXml(openid: string, createTime: number, fields: Record<string, string>): string {
    const extra = Object.entries(fields)
      .map(([name, value]) => `<${name}>${cdata(value)}</${name}>`)
      .join('');
    return (
      `<xml><ToUserName>${cdata(options.accountId)}</ToUserName><FromUserName>${cdata(openid)}</FromUserName>` +
      `<CreateTime>${createTime}</CreateTime><MsgType>${cdata('event')}</MsgType>${extra}</xml>`
    );
  }

  async function push(openid: string, fields: Record<string, string>): Promise<PushResult> {
    const timestamp = String(Math.floor(now() / 1000));
    const nonce = randomBytes(6).toString('hex');
    const url = new URL(options.callbackUrl);
    url.searchParams.set('signature', computeSignature([options.token, timestamp, nonce]));
    url.searchParams.set('timestamp', timestamp);
    url.searchParams.set('nonce', nonce);
    url.searchParams.set('openid', openid);
    let body = eventXml(openid, Number(timestamp), fields);
    if (key) {
      const encrypt = encryptMessage(key, body, options.appId);
      url.searchParams.set('encrypt_type', 'aes');
      url.searchParams.set('msg_signature', computeSignature([options.token, timestamp, nonce, encrypt]));
      body = `<xml><ToUserName>${cdata(options.accountId)}</ToUserName><Encrypt>${cdata(encrypt)}</Encrypt></xml>`;
    }
    const response = await doFetch(url, {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    return { status: response.status, body: text, replyText: response.ok ? await readReplyText(text) : undefined };
  }

  async function readReplyText(reply: string): Promise<string | undefined> {
    if (!reply.startsWith('<xml>')) return undefined;
    let fields = await parseXmlFields(reply);
    if (fields.Encrypt && key) fields = await parseXmlFields(decryptMessage(key, fields.Encrypt).message);
    return fields.Content;
  }

  return {
    /** A scan of a parametric QR code: `subscribe` + `qrscene_` for a new follower, `SCAN` for a follower. */
    scan(openid: string, scene: string, ticket: string, following: boolean) {
      return following
        ? push(openid, { Event: 'SCAN', EventKey: scene, Ticket: ticket })
        : push(openid, { Event: 'subscribe', EventKey: `qrscene_${scene}`, Ticket: ticket });
    },
    follow: (openid: string) => push(openid, { Event: 'subscribe', EventKey: '' }),
    unfollow: (openid: string) => push(openid, { Event: 'unsubscribe', EventKey: '' }),
  };
}

export type SimulatedPhone = ReturnType<typeof createSimulatedPhone>;
