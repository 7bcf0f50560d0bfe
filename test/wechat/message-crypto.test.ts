import test from 'ava';
import { aesKeyFromEncodingAesKey, decryptMessage, encryptMessage, MessageCryptoError } from '../../src/wechat/message-crypto.js';
import { computeSignature } from '../../src/wechat/signature.js';

// Published vector (WxJava WxCryptUtilTest), copied from ../shared/vectors.
const encodingAesKey = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const appId = 'wxb11529c136998cb6';
const expectedCipher = 'jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==';
const key = aesKeyFromEncodingAesKey(encodingAesKey);

test('encrypting the WxJava plaintext with the fixed random gives the published ciphertext', (t) => {
  t.is(encryptMessage(key, '我是中文abcd123', appId, Buffer.from('aaaabbbbccccdddd')), expectedCipher);
});

test('the published ciphertext decrypts to the message and the appid', (t) => {
  t.deepEqual(decryptMessage(key, expectedCipher), { message: '我是中文abcd123', appId });
});

test('msg_signature of the published ciphertext', (t) => {
  t.is(computeSignature(['pamtest', '1409304348', 'xxxxxx', expectedCipher]), '82c962d39941aa48552f90ef55aa323dc620cc10');
});

test('a round trip keeps messages of every length, padding included', (t) => {
  for (const length of [0, 1, 11, 12, 31, 32, 33, 500]) {
    const message = 'x'.repeat(length);
    t.deepEqual(decryptMessage(key, encryptMessage(key, message, appId)), { message, appId });
  }
});

test('a wrong key, a truncated ciphertext and garbage are refused with MessageCryptoError', (t) => {
  const otherKey = aesKeyFromEncodingAesKey('ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210abcdefg');
  const decryptedWithWrongKey = () => decryptMessage(otherKey, expectedCipher);
  // A wrong key usually fails the padding check; if the padding happens to pass, the appid is garbage.
  try {
    t.not(decryptedWithWrongKey().appId, appId);
  } catch (error) {
    t.true(error instanceof MessageCryptoError);
  }
  t.throws(() => decryptMessage(key, expectedCipher.slice(0, 40)), { instanceOf: MessageCryptoError });
  t.throws(() => decryptMessage(key, 'not base64 !!'), { instanceOf: MessageCryptoError });
  t.throws(() => decryptMessage(key, ''), { instanceOf: MessageCryptoError });
});
