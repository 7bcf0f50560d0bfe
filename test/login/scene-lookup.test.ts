import test from 'ava';
import type { User } from '../../src/db/users.js';
import { createSceneLookup } from '../../src/login/scan/scene-lookup.js';

function fakeUsers(known: Record<string, string>) {
  const queries: string[][] = [];
  return {
    queries,
    async findUsersByScenes(scenes: string[]) {
      queries.push(scenes);
      return new Map(scenes.filter((scene) => known[scene]).map((scene) => [scene, { openid: known[scene] } as User]));
    },
  };
}

test('lookups in the same tick share one query; each gets its own answer', async (t) => {
  const users = fakeUsers({ a: 'o_a', c: 'o_c' });
  const lookup = createSceneLookup(users);
  const [a, b, c, again] = await Promise.all(['a', 'b', 'c', 'a'].map((scene) => lookup.findUserByScene(scene)));
  t.is(a?.openid, 'o_a');
  t.is(b, undefined);
  t.is(c?.openid, 'o_c');
  t.is(again?.openid, 'o_a');
  t.deepEqual(users.queries, [['a', 'b', 'c']]);
});

test('a thousand lookups at once cost two queries of at most 500 scenes', async (t) => {
  const users = fakeUsers({});
  const lookup = createSceneLookup(users);
  await Promise.all(Array.from({ length: 1000 }, (_, index) => lookup.findUserByScene(`s${index}`)));
  t.deepEqual(users.queries.map((scenes) => scenes.length), [500, 500]);
});

test('a failed query rejects the lookups of that batch only', async (t) => {
  let fail = true;
  const lookup = createSceneLookup({
    async findUsersByScenes() {
      if (fail) throw new Error('database down');
      return new Map();
    },
  });
  await t.throwsAsync(lookup.findUserByScene('x'), { message: 'database down' });
  fail = false;
  t.is(await lookup.findUserByScene('x'), undefined);
});
