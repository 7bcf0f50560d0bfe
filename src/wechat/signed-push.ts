import { randomBytes } from 'node:crypto';
import { decryptMessage, encryptMessage, MessageCryptoError } from './message-crypto.js';
import { cdata, parseXmlFields, type XmlFields } from './messages.js';
import { computeSignature, signatureMatches } from './signature.js';

/**
 * WeChat's side of a callback, built once for everyone who plays WeChat: the
 * simulator's phone, the tests and the benchmarks. Free of Koa and of HTTP.
 * https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_event_pushes.html
 * https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Message_encryption_and_decryption_instructions.html
 */

export interface EventFields {
  /** The Official Account's original ID (gh_...). */
  toUser: string;
  openid: string;
  /** Seconds. */
  createTime: number;
  event: string;
  /**
   * Left out when undefined: the documented plain follow and unfollow pushes
   * carry no EventKey element (scans and menu clicks do).
   */
  eventKey?: string;
  ticket?: string;
}

/** An event push's XML, element for element as WeChat sends it. */
export function buildEventXml(fields: EventFields): string {
  return (
    `<xml><ToUserName>${cdata(fields.toUser)}</ToUserName><FromUserName>${cdata(fields.openid)}</FromUserName>` +
    `<CreateTime>${fields.createTime}</CreateTime><MsgType>${cdata('event')}</MsgType><Event>${cdata(fields.event)}</Event>` +
    (fields.eventKey === undefined ? '' : `<EventKey>${cdata(fields.eventKey)}</EventKey>`) +
    (fields.ticket === undefined ? '' : `<Ticket>${cdata(fields.ticket)}</Ticket>`) +
    '</xml>'
  );
}

/** A text message's XML, as WeChat sends what a person types to the account (MsgId is the retries' key). */
export function buildTextXml(fields: { toUser: string; openid: string; createTime: number; content: string; msgId: string }): string {
  return (
    `<xml><ToUserName>${cdata(fields.toUser)}</ToUserName><FromUserName>${cdata(fields.openid)}</FromUserName>` +
    `<CreateTime>${fields.createTime}</CreateTime><MsgType>${cdata('text')}</MsgType><Content>${cdata(fields.content)}</Content>` +
    `<MsgId>${fields.msgId}</MsgId></xml>`
  );
}

/** The query WeChat adds to a callback: `signature` = sha1 of the sorted token, timestamp and nonce. */
export function signCallbackQuery(token: string, timestamp: string, nonce: string, extra: Record<string, string> = {}): URLSearchParams {
  return new URLSearchParams({ signature: computeSignature([token, timestamp, nonce]), timestamp, nonce, ...extra });
}

export interface SignedPushOptions {
  token: string;
  appId: string;
  /** The Official Account's original ID, the outer ToUserName in safe mode. */
  accountId: string;
  /** The AES key (from the EncodingAESKey): set for safe mode. */
  key?: Buffer;
  /** WeChat adds the sender's openid to the query. */
  openid?: string;
  timestamp?: string;
  nonce?: string;
}

/**
 * A push ready to POST: the signed query and the body, encrypted in safe mode
 * (`encrypt_type=aes`, `msg_signature` over the ciphertext too).
 */
export function buildSignedPush(xml: string, options: SignedPushOptions): { query: URLSearchParams; body: string } {
  const timestamp = options.timestamp ?? String(Math.floor(Date.now() / 1000));
  const nonce = options.nonce ?? randomBytes(6).toString('hex');
  const query = signCallbackQuery(options.token, timestamp, nonce, options.openid ? { openid: options.openid } : {});
  if (!options.key) return { query, body: xml };
  const encrypt = encryptMessage(options.key, xml, options.appId);
  query.set('encrypt_type', 'aes');
  query.set('msg_signature', computeSignature([options.token, timestamp, nonce, encrypt]));
  return { query, body: `<xml><ToUserName>${cdata(options.accountId)}</ToUserName><Encrypt>${cdata(encrypt)}</Encrypt></xml>` };
}

/** An encrypted reply that WeChat would drop: a wrong MsgSignature, a wrong appid, or not decryptable. */
export class BadReplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadReplyError';
  }
}

/**
 * Opens a passive reply the way WeChat does: a plaintext reply is parsed as
 * it is; an encrypted one must carry a MsgSignature over token, TimeStamp,
 * Nonce and Encrypt, and decrypt to this appid, or it is refused.
 */
export async function openReply(reply: string, options: { token: string; appId: string; key?: Buffer }): Promise<XmlFields> {
  return parseXmlFields(await openReplyXml(reply, options));
}

/** The same checks, and the reply's plaintext XML: what is relayed when a reply is passed on. */
export async function openReplyXml(reply: string, options: { token: string; appId: string; key?: Buffer }): Promise<string> {
  const fields = await parseXmlFields(reply);
  if (fields.Encrypt === undefined) return reply;
  if (!options.key) throw new BadReplyError('an encrypted reply, but no EncodingAESKey is configured');
  const { Encrypt: encrypt, MsgSignature: signature, TimeStamp: timestamp, Nonce: nonce } = fields;
  if (!timestamp || !nonce || !signatureMatches(computeSignature([options.token, timestamp, nonce, encrypt]), signature)) {
    throw new BadReplyError('the reply’s MsgSignature does not match');
  }
  let opened;
  try {
    opened = decryptMessage(options.key, encrypt);
  } catch (error) {
    if (error instanceof MessageCryptoError) throw new BadReplyError(`the reply could not be decrypted: ${error.message}`);
    throw error;
  }
  if (opened.appId !== options.appId) throw new BadReplyError(`the reply was encrypted for another appid (${opened.appId})`);
  return opened.message;
}
