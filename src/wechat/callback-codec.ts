import { randomBytes } from 'node:crypto';
import { BadRequestError, UnauthorizedError } from '../errors.js';
import { aesKeyFromEncodingAesKey, decryptMessage, encryptMessage, MessageCryptoError } from './message-crypto.js';
import { buildEncryptedReply, MalformedMessageError, parseXmlFields, type XmlFields } from './messages.js';
import type { ReplayGuard } from './replay-guard.js';
import { computeSignature, signatureMatches, timestampIsFresh } from './signature.js';

export interface CallbackCodecOptions {
  token: string;
  appId: string;
  encodingAesKey?: string;
  /** Tried after the current key while a key is being rotated. */
  encodingAesKeyPrevious?: string;
  timestampToleranceSeconds: number;
  /** Refuses a (timestamp, nonce) pair seen before with another body. */
  replayGuard?: ReplayGuard;
  now?: () => number;
}

export type CallbackQuery = Record<string, string | string[] | undefined>;

export interface OpenedCallback {
  fields: XmlFields;
  /** Set when the push came encrypted; the reply must then be sealed with the same key. */
  replyKey?: Buffer;
}

/**
 * Checks and opens WeChat callbacks: the signature on every GET and POST, the
 * timestamp window, and in safe/compatible mode the msg_signature, the
 * decryption and the appid. Free of Koa so that the simulator and tests can
 * use the same code.
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
      throw new UnauthorizedError('invalid signature', 'invalid_signature');
    }
    // Checked after the signature so that an attacker cannot probe our clock.
    if (!timestampIsFresh(timestamp, options.timestampToleranceSeconds, now())) {
      throw new UnauthorizedError('stale timestamp', 'stale_timestamp');
    }
    return { timestamp, nonce };
  }

  /** GET: the URL check WeChat does when the callback is configured. Returns echostr. */
  function verifyUrl(query: CallbackQuery): string {
    verifySignature(query);
    return single(query.echostr);
  }

  /**
   * POST: verifies, parses and (in safe mode) decrypts one push. The body is
   * read only after the signature checks out, so forged requests cost nothing.
   * With a key configured, only encrypted pushes are accepted: the plaintext
   * signature does not cover the body, the msg_signature does.
   */
  async function open(query: CallbackQuery, readBody: () => Promise<string>): Promise<OpenedCallback> {
    const { timestamp, nonce } = verifySignature(query);
    const isEncrypted = single(query.encrypt_type) === 'aes';
    if (keys.length > 0 && !isEncrypted) {
      throw new UnauthorizedError('plaintext push refused: safe mode is configured', 'encryption_required');
    }
    const body = await readBody();
    // Before anything acts on the body: a known pair with another body stops here.
    await options.replayGuard?.check(timestamp, nonce, body);
    const outer = await parseFields(body);
    if (!isEncrypted) {
      return { fields: outer };
    }
    if (keys.length === 0) throw new BadRequestError('encrypted callbacks are not configured', 'not_decryptable');
    const encrypted = outer.Encrypt;
    if (!encrypted) throw new BadRequestError('Encrypt is missing', 'not_decryptable');
    const expected = computeSignature([options.token, timestamp, nonce, encrypted]);
    if (!signatureMatches(expected, single(query.msg_signature))) {
      throw new UnauthorizedError('invalid msg_signature', 'invalid_signature');
    }
    for (const key of keys) {
      try {
        const { message, appId } = decryptMessage(key, encrypted);
        if (appId !== options.appId) continue;
        return { fields: await parseFields(message), replyKey: key };
      } catch (error) {
        if (!(error instanceof MessageCryptoError)) throw error;
      }
    }
    throw new BadRequestError('Encrypt could not be decrypted for this appid', 'not_decryptable');
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

async function parseFields(xml: string): Promise<XmlFields> {
  try {
    return await parseXmlFields(xml);
  } catch (error) {
    if (error instanceof MalformedMessageError) throw new BadRequestError(error.message, 'malformed_xml');
    throw error;
  }
}

function single(value: string | string[] | undefined): string {
  return typeof value === 'string' ? value : '';
}
