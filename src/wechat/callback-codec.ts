import { randomBytes } from 'node:crypto';
import { CallbackRejectedError } from './errors.js';
import { aesKeyFromEncodingAesKey, decryptMessage, encryptMessage, MessageCryptoError } from './message-crypto.js';
import { buildEncryptedReply, MalformedMessageError, parseXmlFields, toWechatMessage, type WechatMessage, type XmlFields } from './messages.js';
import type { ReplayGuard } from './replay-guard.js';
import { computeSignature, signatureMatches, timestampIsFresh } from './signature.js';

export interface CallbackCodecOptions {
  token: string;
  appId: string;
  encodingAesKey?: string;
  /** Tried after the current key while a key is being rotated. */
  encodingAesKeyPrevious?: string;
  /** The account's original ID (gh_...), when configured: a push addressed to another account is refused. */
  originalId?: string;
  timestampToleranceSeconds: number;
  /** Refuses a (timestamp, nonce) pair seen before with another body. */
  replayGuard?: ReplayGuard;
  now?: () => number;
}

export type CallbackQuery = Record<string, string | string[] | undefined>;

export interface OpenedCallback {
  /** The push's XML as WeChat wrote it (decrypted in safe mode): what a forwarded copy carries. */
  xml: string;
  fields: XmlFields;
  /** The same fields as a typed message. */
  message: WechatMessage;
  /** Set when the push came encrypted; the reply must then be sealed with the same key. */
  replyKey?: Buffer;
}

/**
 * Checks and opens WeChat callbacks: the signature on every GET and POST, the
 * timestamp window, and in safe/compatible mode the msg_signature, the
 * decryption and the appid, then the message's form and addressee. Every
 * refusal is a CallbackRejectedError with its reason; what that means over
 * HTTP is decided in http/wechat-errors.ts. Free of Koa, so that tests can
 * check every refusal without a server.
 */
export function createCallbackCodec(options: CallbackCodecOptions) {
  const now = options.now ?? Date.now;
  const keys = [options.encodingAesKey, options.encodingAesKeyPrevious]
    .filter((key): key is string => Boolean(key))
    .map(aesKeyFromEncodingAesKey);

  function verifySignature(query: CallbackQuery): { timestamp: string; nonce: string } {
    const timestamp = single(query.timestamp);
    const nonce = single(query.nonce);
    const expected = computeSignature([options.token, timestamp, nonce]);
    if (!signatureMatches(expected, single(query.signature))) {
      throw new CallbackRejectedError('invalid signature', 'invalid_signature');
    }
    // Checked after the signature so that an attacker cannot probe our clock.
    if (!timestampIsFresh(timestamp, options.timestampToleranceSeconds, now())) {
      throw new CallbackRejectedError('stale timestamp', 'stale_timestamp');
    }
    return { timestamp, nonce };
  }

  /** GET: the URL check WeChat does when the callback is configured. Returns echostr. */
  function verifyUrl(query: CallbackQuery): string {
    verifySignature(query);
    return single(query.echostr);
  }

  /**
   * POST: verifies, parses and (in safe mode) decrypts one push, and reads it
   * as a typed message for this account. The body is read only after the
   * signature checks out, so forged requests cost nothing.
   * With a key configured, only encrypted pushes are accepted: the plaintext
   * signature does not cover the body, the msg_signature does.
   */
  async function open(query: CallbackQuery, readBody: () => Promise<string>): Promise<OpenedCallback> {
    const { timestamp, nonce } = verifySignature(query);
    const isEncrypted = single(query.encrypt_type) === 'aes';
    if (keys.length > 0 && !isEncrypted) {
      throw new CallbackRejectedError('plaintext push refused: safe mode is configured', 'encryption_required');
    }
    const body = await readBody();
    // Before anything acts on the body: a known pair with another body stops here.
    await options.replayGuard?.check(timestamp, nonce, body);
    const outer = await parseFields(body);
    if (!isEncrypted) {
      return { xml: body, ...(await addressedMessage(outer)) };
    }
    if (keys.length === 0) throw new CallbackRejectedError('encrypted callbacks are not configured', 'not_decryptable');
    const encrypted = outer.Encrypt;
    if (!encrypted) throw new CallbackRejectedError('Encrypt is missing', 'not_decryptable');
    const expected = computeSignature([options.token, timestamp, nonce, encrypted]);
    if (!signatureMatches(expected, single(query.msg_signature))) {
      throw new CallbackRejectedError('invalid msg_signature', 'invalid_signature');
    }
    for (const key of keys) {
      try {
        const { message, appId } = decryptMessage(key, encrypted);
        if (appId !== options.appId) continue;
        return { xml: message, ...(await addressedMessage(await parseFields(message))), replyKey: key };
      } catch (error) {
        if (!(error instanceof MessageCryptoError)) throw error;
      }
    }
    throw new CallbackRejectedError('Encrypt could not be decrypted for this appid', 'not_decryptable');
  }

  /** The typed message of a push, refused when it is for another account. */
  async function addressedMessage(fields: XmlFields): Promise<Pick<OpenedCallback, 'fields' | 'message'>> {
    const message = await rejectingMalformed(() => toWechatMessage(fields));
    if (options.originalId && message.toUser !== options.originalId) {
      throw new CallbackRejectedError('the push is addressed to another account', 'wrong_account');
    }
    return { fields, message };
  }

  /** Encrypts a reply for a push that came encrypted; plaintext replies pass through. */
  function seal(reply: string, opened: Pick<OpenedCallback, 'replyKey'>): string {
    if (!opened.replyKey || reply === 'success') return reply;
    const encrypt = encryptMessage(opened.replyKey, reply, options.appId);
    const timestamp = String(Math.floor(now() / 1000));
    const nonce = randomBytes(8).toString('hex');
    return buildEncryptedReply(encrypt, computeSignature([options.token, timestamp, nonce, encrypt]), timestamp, nonce);
  }

  return { verifyUrl, open, seal };
}

export type CallbackCodec = ReturnType<typeof createCallbackCodec>;

function parseFields(xml: string): Promise<XmlFields> {
  return rejectingMalformed(() => parseXmlFields(xml));
}

/** Runs `read`; XML that does not parse, or a push missing what every push has, is the sender's fault. */
async function rejectingMalformed<T>(read: () => T | Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof MalformedMessageError) throw new CallbackRejectedError(error.message, 'malformed_xml');
    throw error;
  }
}

function single(value: string | string[] | undefined): string {
  return typeof value === 'string' ? value : '';
}
