import test from 'ava';
import { computeSignature, signatureMatches, timestampIsFresh } from '../../src/wechat/signature.js';

// Published vector (wechatpy, tests/test_utils.py), copied from ../shared/vectors.
test('the wechatpy vector signs to f21891de…', (t) => {
  const expected = computeSignature(['test', '1410685589', 'test']);
  t.is(expected, 'f21891de399b4e33a1a93c9a7b8a8fffb5a443ff');
  t.true(signatureMatches(expected, 'f21891de399b4e33a1a93c9a7b8a8fffb5a443ff'));
});

test('a signature one character off fails', (t) => {
  const expected = computeSignature(['test', '1410685589', 'test']);
  t.false(signatureMatches(expected, 'f21891de399b4e33a1a93c9a7b8a8fffb5a443fe'));
});

test('missing, short and non-string signatures fail without throwing', (t) => {
  const expected = computeSignature(['test', '1410685589', 'test']);
  t.false(signatureMatches(expected, undefined));
  t.false(signatureMatches(expected, ''));
  t.false(signatureMatches(expected, 'f21891de'));
  t.false(signatureMatches(expected, ['f21891de399b4e33a1a93c9a7b8a8fffb5a443ff']));
});

test('the timestamp window: inside, outside, off, and garbage', (t) => {
  const now = 1_700_000_000_000;
  t.true(timestampIsFresh('1700000000', 300, now));
  t.true(timestampIsFresh('1699999701', 300, now));
  t.false(timestampIsFresh('1699999699', 300, now));
  t.false(timestampIsFresh('1700000301', 300, now));
  t.true(timestampIsFresh('1', 0, now));
  t.false(timestampIsFresh('abc', 0, now));
  t.false(timestampIsFresh('', 300, now));
  // Decimal digits with no leading zero, with the window or without it (a splice of digits between the
  // timestamp and a nonce that starts with 0 keeps the sorted, concatenated signature valid).
  t.false(timestampIsFresh('01700000000', 300, now));
  t.false(timestampIsFresh('0', 0, now));
  t.false(timestampIsFresh('0123', 0, now));
  t.false(timestampIsFresh('+1700000000', 300, now));
});
