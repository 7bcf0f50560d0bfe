import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Safe and compatible mode message encryption (WXBizMsgCrypt).
 * https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Message_encryption_and_decryption_instructions.html
 *
 * key = base64(EncodingAESKey + "="), 32 bytes; IV = the key's first 16 bytes.
 * plaintext = random(16) + length(4, big-endian) + message + appid,
 * PKCS#7-padded to a multiple of 32 bytes (not AES's 16).
 */
const paddingBlockSize = 32;

export class MessageCryptoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MessageCryptoError';
  }
}

export interface DecryptedMessage {
  message: string;
  appId: string;
}

/** Turns a 43-character EncodingAESKey into the 32-byte AES key. */
export function aesKeyFromEncodingAesKey(encodingAesKey: string): Buffer {
  const key = Buffer.from(`${encodingAesKey}=`, 'base64');
  if (key.length !== 32) throw new MessageCryptoError('EncodingAESKey must decode to 32 bytes');
  return key;
}

/** Encrypts `message` for `appId`; `random16` is only fixed by tests that replay published vectors. */
export function encryptMessage(key: Buffer, message: string, appId: string, random16 = randomBytes(16)): string {
  const body = Buffer.from(message, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length, 0);
  const plain = Buffer.concat([random16, length, body, Buffer.from(appId, 'utf8')]);
  const padLength = paddingBlockSize - (plain.length % paddingBlockSize);
  const padded = Buffer.concat([plain, Buffer.alloc(padLength, padLength)]);
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(padded), cipher.final()]).toString('base64');
}

/** Decrypts an `Encrypt` field; throws MessageCryptoError on anything that is not a well-formed ciphertext. */
export function decryptMessage(key: Buffer, encrypted: string): DecryptedMessage {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encrypted)) throw new MessageCryptoError('Encrypt is not base64');
  const cipherText = Buffer.from(encrypted, 'base64');
  if (cipherText.length === 0 || cipherText.length % 16 !== 0) {
    throw new MessageCryptoError('Encrypt is not a whole number of AES blocks');
  }
  let padded: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
    decipher.setAutoPadding(false);
    padded = Buffer.concat([decipher.update(cipherText), decipher.final()]);
  } catch {
    throw new MessageCryptoError('Encrypt could not be decrypted');
  }
  const padLength = padded[padded.length - 1];
  if (padLength < 1 || padLength > paddingBlockSize || padLength > padded.length) {
    throw new MessageCryptoError('bad padding');
  }
  const plain = padded.subarray(0, padded.length - padLength);
  if (plain.length < 20) throw new MessageCryptoError('plaintext too short');
  const messageLength = plain.readUInt32BE(16);
  if (20 + messageLength > plain.length) throw new MessageCryptoError('message length out of range');
  return {
    message: plain.subarray(20, 20 + messageLength).toString('utf8'),
    appId: plain.subarray(20 + messageLength).toString('utf8'),
  };
}
