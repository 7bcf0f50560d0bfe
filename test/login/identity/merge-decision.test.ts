import test from 'ava';
import type { User } from '../../../src/db/users.js';
import { decideMerge } from '../../../src/login/identity/merge-decision.js';

const at = new Date('2026-11-23T08:00:00.000Z');

function user(fields: Partial<User> & { id: number }): User {
  return {
    openid: null,
    miniOpenid: null,
    openOpenid: null,
    unionid: null,
    nickname: null,
    avatarUrl: null,
    phone: null,
    tmpSceneStr: null,
    subscribed: false,
    sessionVersion: 0,
    isAdmin: false,
    blockedAt: null,
    createdAt: at,
    ...fields,
  };
}

test('the row with the Official Account openid stays, older or not: its id is the OpenID sub', (t) => {
  const mini = user({ id: 1, miniOpenid: 'm', unionid: 'u', phone: '13800138000', sessionVersion: 3 });
  const official = user({ id: 2, openid: 'o', tmpSceneStr: 'scene', subscribed: true, nickname: 'N', sessionVersion: 1 });
  for (const [first, second] of [[mini, official], [official, mini]]) {
    const decision = decideMerge(first, second);
    if ('refused' in decision) return t.fail();
    t.is(decision.keep.id, 2);
    t.is(decision.gone.id, 1);
    t.deepEqual(decision.merged, {
      openid: 'o',
      miniOpenid: 'm',
      openOpenid: null,
      unionid: 'u',
      phone: '13800138000',
      nickname: 'N',
      avatarUrl: null,
      tmpSceneStr: 'scene',
      subscribed: true,
      sessionVersion: 3,
      blockedAt: null,
    });
  }
});

test('a block on either row stays on the merged person; admin stays with the kept row alone', (t) => {
  const blockedAt = new Date(at.getTime() + 5000);
  const older = user({ id: 1, openid: 'o', isAdmin: false });
  const newer = user({ id: 2, openOpenid: 'w', unionid: 'u', phone: '13800138000', blockedAt, isAdmin: true });
  const decision = decideMerge(older, newer);
  if ('refused' in decision) return t.fail();
  t.is(decision.keep.id, 1);
  t.deepEqual(decision.merged.blockedAt, blockedAt);
  t.false('isAdmin' in decision.merged);
});

test('with no Official Account openid on either row, the older row stays', (t) => {
  const decision = decideMerge(user({ id: 9, unionid: 'u' }), user({ id: 4, miniOpenid: 'm' }));
  t.like(decision, { keep: { id: 4 }, gone: { id: 9 }, merged: { miniOpenid: 'm', unionid: 'u' } });
});

test('two different phones, or two openids of one app, are refused', (t) => {
  t.deepEqual(decideMerge(user({ id: 1, miniOpenid: 'm', phone: '13800138001' }), user({ id: 2, openid: 'o', phone: '13800138002' })), {
    refused: 'phone_conflict',
  });
  t.deepEqual(decideMerge(user({ id: 1, openid: 'o1' }), user({ id: 2, openid: 'o2' })), { refused: 'openid_conflict' });
  t.deepEqual(decideMerge(user({ id: 1, miniOpenid: 'm1' }), user({ id: 2, miniOpenid: 'm2', openid: 'o' })), { refused: 'openid_conflict' });
  // The same phone on both is no conflict.
  t.like(decideMerge(user({ id: 1, miniOpenid: 'm', phone: '13800138003' }), user({ id: 2, openid: 'o', phone: '13800138003' })), { keep: { id: 2 } });
});

test('a website user (open-qr) can have signed in too: kept over a mini-program row, and of two rows that both could, the older stays', (t) => {
  const mini = user({ id: 1, miniOpenid: 'm', unionid: 'u' });
  const web = user({ id: 2, openOpenid: 'w', unionid: 'u', phone: '13800138000' });
  for (const [first, second] of [[mini, web], [web, mini]]) {
    const decision = decideMerge(first, second);
    if ('refused' in decision) return t.fail();
    t.is(decision.keep.id, 2, 'the row that may have an OIDC sub');
    t.like(decision.merged, { miniOpenid: 'm', openOpenid: 'w', phone: '13800138000' });
  }
  const official = user({ id: 3, openid: 'o', unionid: 'u', tmpSceneStr: 'scene', subscribed: true });
  const decision = decideMerge(official, web);
  if ('refused' in decision) return t.fail();
  t.is(decision.keep.id, 2, 'both could sign in: the older');
  t.like(decision.merged, { openid: 'o', openOpenid: 'w', tmpSceneStr: 'scene', subscribed: true }, 'the follow stays with the openid it is about');
});
