import test from 'ava';
import { createDatabaseNonceStore } from '../../src/db/callback-nonces.js';
import { createReplayGuard } from '../../src/wechat/replay-guard.js';
import { databaseKinds, migratedDatabase } from '../helpers/databases.js';

async function migrated(t: { teardown(fn: () => unknown): void }, kind: 'sqlite' | 'mysql') {
  const knex = await migratedDatabase(t, kind);
  return knex;
}

for (const { kind, enabled } of databaseKinds) {
  const dbTest = enabled ? test : test.skip;

  dbTest(`${kind}: the first body of a pair is kept; parallel claims of one pair agree on one body`, async (t) => {
    const knex = await migrated(t, kind);
    const store = createDatabaseNonceStore(knex);
    const until = Date.now() + 60_000;
    const firsts = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((hash) => store.remember('pair-1', hash.repeat(64), until)));
    t.is(new Set(firsts).size, 1, 'every caller is told the same first body');
    t.is(await store.remember('pair-1', 'z'.repeat(64), until), firsts[0]);
    t.is(Number((await knex('callback_nonces').count({ n: '*' }).first())!.n), 1);
  });

  dbTest(`${kind}: an expired pair is taken over, and expired rows are swept at most once a minute`, async (t) => {
    const knex = await migrated(t, kind);
    let now = Date.now();
    const store = createDatabaseNonceStore(knex, () => now);
    await store.remember('old', 'a'.repeat(64), now + 1000);
    await store.remember('older', 'a'.repeat(64), now + 1000);
    now += 2000;
    // Not swept yet (the last sweep was 2 s ago), but expired: a new body may claim it.
    t.is(await store.remember('old', 'b'.repeat(64), now + 60_000), 'b'.repeat(64));
    t.is(Number((await knex('callback_nonces').count({ n: '*' }).first())!.n), 2);
    now += 61_000;
    await store.remember('new', 'c'.repeat(64), now + 60_000);
    // The sweep is not awaited by the claim; give it a moment.
    for (let i = 0; i < 50 && (await knex('callback_nonces').where({ pair_hash: 'older' }).first()); i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    t.deepEqual((await knex('callback_nonces').orderBy('pair_hash').select('pair_hash')).map((row) => row.pair_hash), ['new']);
  });

  dbTest(`${kind}: the guard accepts a pair again with the same body and refuses it with another`, async (t) => {
    const knex = await migrated(t, kind);
    const guard = createReplayGuard({ store: createDatabaseNonceStore(knex), toleranceSeconds: 300 });
    const timestamp = String(Math.floor(Date.now() / 1000));
    await guard.check(timestamp, 'n1', '<xml>one</xml>');
    await t.notThrowsAsync(guard.check(timestamp, 'n1', '<xml>one</xml>'));
    await t.throwsAsync(guard.check(timestamp, 'n1', '<xml>two</xml>'), { message: /already used with another body/ });
    await t.notThrowsAsync(guard.check(timestamp, 'n2', '<xml>two</xml>'));
  });
}
