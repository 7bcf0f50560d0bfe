import { parseStringPromise } from 'xml2js';
import { maxSceneStrLength, subscribeScenePrefix } from './constants.js';

/**
 * The callback XML, parsed into the few events this server acts on.
 * https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_event_pushes.html
 */

export class MalformedMessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedMessageError';
  }
}

interface MessageEnvelope {
  /** The Official Account's original ID (gh_...). */
  toUser: string;
  /** The sender's openid. */
  openid: string;
  createTime: number;
}

/** A scan of one of our login QR codes: `subscribe` by a new follower, or `SCAN` by a follower. */
export interface ScanEvent extends MessageEnvelope {
  kind: 'scan';
  event: 'subscribe' | 'SCAN';
  scene: string;
  ticket?: string;
}

export interface SubscribeEvent extends MessageEnvelope {
  kind: 'subscribe';
}

export interface UnsubscribeEvent extends MessageEnvelope {
  kind: 'unsubscribe';
}

/** A text message to the account (MsgType text): with oa-code, it may be a login code. */
export interface TextMessage extends MessageEnvelope {
  kind: 'text';
  content: string;
}

/** Any message or event we do not act on; it is acknowledged with `success`. */
export interface OtherMessage extends MessageEnvelope {
  kind: 'other';
  msgType: string;
  event?: string;
}

export type WechatMessage = ScanEvent | SubscribeEvent | UnsubscribeEvent | TextMessage | OtherMessage;

export type XmlFields = Record<string, string>;

/**
 * The longest value each field of a push may have; longer is refused (400).
 * FromUserName is stored in users.openid (64 characters); the others are
 * bounded by what WeChat documents (a menu EventKey is up to 128 bytes).
 */
export const maxFieldLengths: Readonly<Record<string, number>> = {
  ToUserName: 64,
  FromUserName: 64,
  MsgType: 32,
  Event: 64,
  EventKey: 128,
  Ticket: 256,
  MsgId: 64,
};

/**
 * Parses an XML document into its root's child elements as strings. A DOCTYPE
 * or entity declaration is refused outright, so nothing is ever expanded
 * (billion laughs, external entities).
 */
export async function parseXmlFields(xml: string): Promise<XmlFields> {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new MalformedMessageError('DOCTYPE and entity declarations are refused');
  let parsed: unknown;
  try {
    parsed = await parseStringPromise(xml, { explicitArray: false, explicitRoot: false, trim: true, strict: true });
  } catch {
    throw new MalformedMessageError('the body is not well-formed XML');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new MalformedMessageError('the body has no XML elements');
  }
  const fields: XmlFields = {};
  for (const [name, value] of Object.entries(parsed)) {
    // Only flat text elements matter; nested or repeated ones are ignored rather than trusted.
    if (typeof value === 'string') fields[name] = value;
  }
  return fields;
}

/** Turns the fields of a (decrypted) callback into a typed message. */
export function toWechatMessage(fields: XmlFields): WechatMessage {
  const toUser = requireField(fields, 'ToUserName');
  const openid = requireField(fields, 'FromUserName');
  const createTimeText = requireField(fields, 'CreateTime');
  const msgType = requireField(fields, 'MsgType');
  if (!/^\d{1,12}$/.test(createTimeText)) throw new MalformedMessageError('CreateTime is not a number');
  for (const [name, limit] of Object.entries(maxFieldLengths)) {
    // Refused here, never cut by the database: a cut openid would be another person's.
    if ((fields[name]?.length ?? 0) > limit) throw new MalformedMessageError(`${name} is longer than ${limit} characters`);
  }
  const envelope = { toUser, openid, createTime: Number(createTimeText) };
  const event = fields.Event;
  const eventKey = fields.EventKey ?? '';
  const ticket = fields.Ticket || undefined;

  if (msgType === 'event' && event === 'subscribe') {
    // Only the documented prefix is stripped; a plain follow has no EventKey at all.
    if (eventKey.startsWith(subscribeScenePrefix) && eventKey.length > subscribeScenePrefix.length) {
      return { ...envelope, kind: 'scan', event: 'subscribe', scene: boundedScene(eventKey.slice(subscribeScenePrefix.length)), ticket };
    }
    return { ...envelope, kind: 'subscribe' };
  }
  if (msgType === 'event' && event === 'SCAN' && eventKey !== '') {
    return { ...envelope, kind: 'scan', event: 'SCAN', scene: boundedScene(eventKey), ticket };
  }
  if (msgType === 'event' && event === 'unsubscribe') {
    return { ...envelope, kind: 'unsubscribe' };
  }
  if (msgType === 'text') {
    return { ...envelope, kind: 'text', content: fields.Content ?? '' };
  }
  return { ...envelope, kind: 'other', msgType, event };
}

/** The key WeChat's retries share: same sender, time, event and key. Messages use MsgId. */
export function deliveryKey(fields: XmlFields): string {
  if (fields.MsgId) return `msg:${fields.MsgId}`;
  return ['event', fields.FromUserName, fields.CreateTime, fields.Event, fields.EventKey ?? ''].join(':');
}

/** A scene is stored in users.tmp_scene_str (64 characters), the most qrcode/create accepts. */
function boundedScene(scene: string): string {
  if (scene.length > maxSceneStrLength) throw new MalformedMessageError(`the scene is longer than ${maxSceneStrLength} characters`);
  return scene;
}

function requireField(fields: XmlFields, name: string): string {
  const value = fields[name];
  if (!value) throw new MalformedMessageError(`${name} is missing`);
  return value;
}

/** Wraps text in CDATA; a `]]>` inside is split across two sections so the XML stays valid. */
export function cdata(text: string): string {
  return `<![CDATA[${text.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
}

/**
 * A passive text reply: To and From swapped.
 * https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Passive_user_reply_message.html
 */
export function buildTextReply(message: Pick<MessageEnvelope, 'toUser' | 'openid'>, content: string, nowMs = Date.now()): string {
  return (
    '<xml>' +
    `<ToUserName>${cdata(message.openid)}</ToUserName>` +
    `<FromUserName>${cdata(message.toUser)}</FromUserName>` +
    `<CreateTime>${Math.floor(nowMs / 1000)}</CreateTime>` +
    `<MsgType>${cdata('text')}</MsgType>` +
    `<Content>${cdata(content)}</Content>` +
    '</xml>'
  );
}

/** The envelope of an encrypted reply. */
export function buildEncryptedReply(encrypt: string, msgSignature: string, timestamp: string, nonce: string): string {
  return (
    '<xml>' +
    `<Encrypt>${cdata(encrypt)}</Encrypt>` +
    `<MsgSignature>${cdata(msgSignature)}</MsgSignature>` +
    `<TimeStamp>${timestamp}</TimeStamp>` +
    `<Nonce>${cdata(nonce)}</Nonce>` +
    '</xml>'
  );
}
