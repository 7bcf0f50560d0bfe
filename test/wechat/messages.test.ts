import test from 'ava';
import { parseStringPromise } from 'xml2js';
import { buildTextReply, deliveryKey, MalformedMessageError, parseXmlFields, toWechatMessage } from '../../src/wechat/messages.js';

const event = (fields: string) =>
  `<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o_user]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType>${fields}</xml>`;

test('subscribe with qrscene_ gives a scan with the scene; only the prefix is stripped', async (t) => {
  const message = toWechatMessage(await parseXmlFields(event('<Event>subscribe</Event><EventKey>qrscene_qrscene_abc</EventKey><Ticket>T1</Ticket>')));
  t.like(message, { kind: 'scan', event: 'subscribe', scene: 'qrscene_abc', ticket: 'T1', openid: 'o_user', toUser: 'gh_1' });
});

test('subscribe with no or empty EventKey is a plain follow', async (t) => {
  t.is(toWechatMessage(await parseXmlFields(event('<Event>subscribe</Event>'))).kind, 'subscribe');
  t.is(toWechatMessage(await parseXmlFields(event('<Event>subscribe</Event><EventKey></EventKey>'))).kind, 'subscribe');
  t.is(toWechatMessage(await parseXmlFields(event('<Event>subscribe</Event><EventKey>last_trade_no</EventKey>'))).kind, 'subscribe');
});

test('SCAN keeps the EventKey as it is', async (t) => {
  t.like(toWechatMessage(await parseXmlFields(event('<Event>SCAN</Event><EventKey>qrscene_x</EventKey>'))), { kind: 'scan', event: 'SCAN', scene: 'qrscene_x' });
});

test('unsubscribe, and anything else is "other"', async (t) => {
  t.is(toWechatMessage(await parseXmlFields(event('<Event>unsubscribe</Event>'))).kind, 'unsubscribe');
  t.like(toWechatMessage(await parseXmlFields(event('<Event>LOCATION</Event>'))), { kind: 'other', event: 'LOCATION' });
});

test('missing fields and a bad CreateTime are malformed', async (t) => {
  const fields = await parseXmlFields('<xml><ToUserName>gh</ToUserName><MsgType>event</MsgType></xml>');
  t.throws(() => toWechatMessage(fields), { instanceOf: MalformedMessageError });
  const badTime = await parseXmlFields(event('').replace('1700000000', 'yesterday'));
  t.throws(() => toWechatMessage(badTime), { instanceOf: MalformedMessageError });
});

test('DOCTYPE, entities and broken XML are refused, never expanded', async (t) => {
  const laughs = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><xml><A>&lol2;</A></xml>';
  await t.throwsAsync(parseXmlFields(laughs), { instanceOf: MalformedMessageError });
  // Even a harmless-looking DOCTYPE in front of a valid push is refused, not parsed around.
  await t.throwsAsync(parseXmlFields(`<!DOCTYPE xml [<!ENTITY a "b">]>${event('<Event>SCAN</Event><EventKey>s</EventKey>')}`), { instanceOf: MalformedMessageError });
  await t.throwsAsync(parseXmlFields('<xml><A>x</B></xml>'), { instanceOf: MalformedMessageError });
  await t.throwsAsync(parseXmlFields(''), { instanceOf: MalformedMessageError });
  await t.throwsAsync(parseXmlFields('just text'), { instanceOf: MalformedMessageError });
});

test('a text reply swaps To and From and survives ]]> in the content', async (t) => {
  const reply = buildTextReply({ toUser: 'gh_1', openid: 'o_user' }, 'a]]>b<c>', 1_700_000_000_000);
  const parsed = await parseStringPromise(reply, { explicitArray: false });
  t.is(parsed.xml.ToUserName, 'o_user');
  t.is(parsed.xml.FromUserName, 'gh_1');
  t.is(parsed.xml.MsgType, 'text');
  t.is(parsed.xml.Content, 'a]]>b<c>');
  t.is(parsed.xml.CreateTime, '1700000000');
});

test('retries share a delivery key; other events do not', (t) => {
  const base = { FromUserName: 'o', CreateTime: '1', Event: 'SCAN', EventKey: 's' };
  t.is(deliveryKey(base), deliveryKey({ ...base }));
  t.not(deliveryKey(base), deliveryKey({ ...base, CreateTime: '2' }));
  t.not(deliveryKey(base), deliveryKey({ ...base, EventKey: 't' }));
});
