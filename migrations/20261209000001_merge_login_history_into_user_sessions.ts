import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';

/**
 * One row per login, in `user_sessions`: a browser login was a login-history
 * row and a session row holding almost the same fields, written in one
 * transaction of four statements (with the user's last login time and the
 * scene marked used). Now it is one INSERT: the session row is the history
 * line, and its unique `scene` is "one login per QR scene" (a scene is used
 * when a row names it). users.last_login_time stays (CONTRACT.md), written
 * after the login's answer.
 *
 * Logins without a browser session (the mini-program's, whose session is its
 * bearer token) are rows that ended as they began (`end_reason` `no-session`)
 * with the hash of a token nobody was given. The history is copied: each
 * login_history row that began a session (same user and method, the nearest
 * session created within 2 s, each session taken once) lends it its scene;
 * every other one becomes such a row. login_history itself is left as it is,
 * unwritten, so that instances of the previous version still running during
 * a rolling upgrade keep working; a later migration drops it.
 *
 * Run again after a failure part-way, it starts the copy over.
 */
const batchSize = 1000;
const sameLoginMs = 2000;

type Row = Record<string, unknown>;

/** A stored time in ms: MySQL gives a Date, SQLite the number knex stored. */
const timeOf = (value: unknown) => (value instanceof Date ? value.getTime() : Number(value));

export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasColumn('user_sessions', 'scene'))) {
    await knex.schema.alterTable('user_sessions', (table) => {
      table.string('scene', 64).nullable().unique();
      // The history by user, and (the console) by time over everyone.
      table.index(['user_id', 'created_at']);
      table.index(['created_at']);
    });
  }
  await knex('user_sessions').where({ end_reason: 'no-session' }).delete();
  await knex('user_sessions').whereNotNull('scene').update({ scene: null });
  const taken = new Set<number>();
  let lastId = 0;
  for (;;) {
    const history: Row[] = await knex('login_history').where('id', '>', lastId).orderBy('id').limit(batchSize);
    if (history.length === 0) break;
    lastId = Number(history[history.length - 1].id);
    const times = history.map((row) => timeOf(row.created_at));
    const sessions: Row[] = await knex('user_sessions')
      .whereIn('user_id', [...new Set(history.map((row) => Number(row.user_id)))])
      .andWhere((session) => session.whereNull('end_reason').orWhereNot('end_reason', 'no-session'))
      .andWhere('created_at', '>=', new Date(Math.min(...times) - sameLoginMs))
      .andWhere('created_at', '<=', new Date(Math.max(...times) + sameLoginMs))
      .orderBy([{ column: 'user_id' }, { column: 'created_at' }, { column: 'id' }])
      .select('id', 'user_id', 'method', 'created_at');
    const alone: Row[] = [];
    for (const [index, row] of history.entries()) {
      const match = nearestFreeSession(row, times[index], sessions, taken);
      if (!match) {
        alone.push(row);
        continue;
      }
      taken.add(Number(match.id));
      if (row.scene) await knex('user_sessions').where({ id: match.id }).update({ scene: row.scene });
    }
    if (alone.length > 0) await knex('user_sessions').insert(alone.map(loginWithoutSession));
  }
}

/** The session of the same user and method created nearest to the login (within 2 s) that no other login has taken. */
function nearestFreeSession(login: Row, at: number, sessions: Row[], taken: Set<number>): Row | undefined {
  let best: Row | undefined;
  let bestGap = Infinity;
  for (const session of sessions) {
    if (taken.has(Number(session.id)) || Number(session.user_id) !== Number(login.user_id) || session.method !== login.method) continue;
    const gap = Math.abs(timeOf(session.created_at) - at);
    if (gap <= sameLoginMs && gap < bestGap) [best, bestGap] = [session, gap];
  }
  return best;
}

function loginWithoutSession(row: Row): Row {
  return {
    token_hash: createHash('sha256').update(randomBytes(32)).digest('hex'),
    user_id: row.user_id,
    method: row.method,
    ip: String(row.ip).slice(0, 45),
    user_agent: row.user_agent,
    scene: row.scene ?? null,
    created_at: row.created_at,
    last_seen_at: row.created_at,
    expires_at: row.created_at,
    revoked_at: row.created_at,
    end_reason: 'no-session',
  };
}

/**
 * Back to login_history, which still holds every login until this ran: the
 * logins since (newer than its newest row) are copied into it, their scenes
 * marked used as the previous version did, and the rows of logins without a
 * session go.
 */
export async function down(knex: Knex): Promise<void> {
  const newest = (await knex('login_history').max({ at: 'created_at' }).first())?.at;
  const since = knex('user_sessions').where('created_at', '>', newest ?? new Date(0));
  const columns = ['user_id', 'method', 'ip', 'user_agent', 'scene', 'created_at'];
  await knex.into(knex.raw(`?? (${columns.map(() => '??').join(', ')})`, ['login_history', ...columns])).insert(since.clone().select(columns).orderBy('id'));
  await knex('login_scenes').whereIn('scene', since.clone().whereNotNull('scene').select('scene')).where({ state: 'approved' }).update({ state: 'used' });
  await knex('user_sessions').where({ end_reason: 'no-session' }).delete();
  await knex.schema.alterTable('user_sessions', (table) => {
    table.dropIndex(['user_id', 'created_at']);
    table.dropIndex(['created_at']);
    table.dropUnique(['scene']);
  });
  // SQLite (3.35+) drops a plain column in place; knex would copy the table, and dropping the original inside the
  // migration's transaction would cascade to oidc_grant_sessions (foreign keys cannot be switched off there).
  if (knex.client.config.client === 'mysql2') await knex.schema.alterTable('user_sessions', (table) => table.dropColumn('scene'));
  else await knex.raw('ALTER TABLE user_sessions DROP COLUMN scene');
}
