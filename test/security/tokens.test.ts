import test from 'ava';
import { createTokenSigner } from '../../src/security/signed-token.js';
import { hashToken, randomToken } from '../../src/security/tokens.js';

const oldKey = Buffer.alloc(32, 1);
const newKey = Buffer.alloc(32, 2);

test('randomToken: base64url of the bytes asked for, never twice the same', (t) => {
  t.regex(randomToken(), /^[A-Za-z0-9_-]{24}$/);
  t.regex(randomToken(24), /^[A-Za-z0-9_-]{32}$/);
  t.not(randomToken(), randomToken());
});

test('hashToken: sha256 hex of the token, or of the token under its purpose, so one kind never matches another', (t) => {
  t.is(hashToken('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  t.regex(hashToken('abc', 'device'), /^[0-9a-f]{64}$/);
  t.not(hashToken('abc', 'device'), hashToken('abc'));
  t.not(hashToken('abc', 'device'), hashToken('abc', 'confirm'));
});

test('a signed token opens with the key that signed it, or any older key still listed; a rotated-out key or a changed byte opens nothing', (t) => {
  const payload = Buffer.from('0123456789ab');
  const token = createTokenSigner([oldKey], 10).sign(payload);
  t.deepEqual(createTokenSigner([newKey, oldKey], 10).open(token, 12), payload, 'rotation keeps live tokens');
  t.is(createTokenSigner([newKey], 10).open(token, 12), undefined, 'a retired key verifies nothing');
  const bytes = Buffer.from(token, 'base64url');
  bytes[0] ^= 1;
  t.is(createTokenSigner([oldKey], 10).open(bytes.toString('base64url'), 12), undefined, 'a changed payload byte');
  t.is(createTokenSigner([oldKey], 10).open(token, 11), undefined, 'another length');
  t.is(createTokenSigner([oldKey], 10).open(`${token.slice(0, -1)}!`, 12), undefined, 'not base64url');
});
