import test from 'ava';
import { createBatchedLookup } from '../../../src/login/scan/batched-lookup.js';

function fakeTable(known: Record<string, string>) {
  const queries: string[][] = [];
  return {
    queries,
    async findMany(keys: string[]) {
      queries.push(keys);
      return new Map(keys.filter((key) => known[key]).map((key) => [key, known[key]]));
    },
  };
}

test('lookups in the same tick share one query; each gets its own answer', async (t) => {
  const table = fakeTable({ a: 'o_a', c: 'o_c' });
  const lookup = createBatchedLookup(table.findMany);
  const [a, b, c, again] = await Promise.all(['a', 'b', 'c', 'a'].map((key) => lookup.find(key)));
  t.is(a, 'o_a');
  t.is(b, undefined);
  t.is(c, 'o_c');
  t.is(again, 'o_a');
  t.deepEqual(table.queries, [['a', 'b', 'c']]);
});

test('a thousand lookups at once cost two queries of at most 500 keys', async (t) => {
  const table = fakeTable({});
  const lookup = createBatchedLookup(table.findMany);
  await Promise.all(Array.from({ length: 1000 }, (_, index) => lookup.find(`s${index}`)));
  t.deepEqual(table.queries.map((keys) => keys.length), [500, 500]);
});

test('a failed query rejects the lookups of that batch only', async (t) => {
  let fail = true;
  const lookup = createBatchedLookup(async () => {
    if (fail) throw new Error('database down');
    return new Map<string, string>();
  });
  await t.throwsAsync(lookup.find('x'), { message: 'database down' });
  fail = false;
  t.is(await lookup.find('x'), undefined);
});

test('lookups that may wait go with the next query, or on their own once their wait is up', async (t) => {
  const table = fakeTable({ a: 'A', b: 'B', c: 'C' });
  const lookup = createBatchedLookup(table.findMany);
  const soonA = lookup.findSoon('a', 60_000);
  const soonB = lookup.findSoon('b', 60_000);
  // A lookup that cannot wait takes them along.
  t.is(await lookup.find('c'), 'C');
  t.deepEqual(await Promise.all([soonA, soonB]), ['A', 'B']);
  t.deepEqual(table.queries, [['c', 'a', 'b']]);
  // Alone, they are asked once the first one's wait is up.
  const alone = await Promise.all([lookup.findSoon('a', 5), lookup.findSoon('c', 5)]);
  t.deepEqual(alone, ['A', 'C']);
  t.deepEqual(table.queries.slice(1), [['a', 'c']]);
});

test('a lookup that can wait less brings the query forward for those waiting longer', async (t) => {
  const table = fakeTable({ a: 'A', b: 'B' });
  const lookup = createBatchedLookup(table.findMany);
  const long = lookup.findSoon('a', 60_000);
  t.is(await lookup.findSoon('b', 5), 'B');
  t.is(await long, 'A');
  t.deepEqual(table.queries, [['a', 'b']]);
});
