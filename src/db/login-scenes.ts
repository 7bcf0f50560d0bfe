import type { Knex } from 'knex';
import { type EventLog, noEventLog, withEventTransaction } from './event-log.js';
import { toUser, userColumns, type User } from './user-row.js';
import { isUniqueViolation } from './values.js';

/**
 * A scene's state, the one record of it (expired is read from expiresAt):
 * issued → awaiting (the scanner must confirm) → approved | denied, or
 * issued → approved; approved → used once a login completes with it. Used is
 * read, not written: the login's row in user_sessions names the scene (its
 * unique index lets one login use it), and every read of a scene here joins
 * it. Rows used before that change have the state written.
 */
export type LoginSceneState = 'issued' | 'awaiting' | 'approved' | 'denied' | 'used';

export interface LoginSceneRow {
  scene: string;
  deviceHash: string;
  userAgent: string;
  ip: string;
  createdAt: number;
  expiresAt: number;
  state: LoginSceneState;
  scannerOpenid: string | null;
  /** The scanner of a mini-program code, by user id (miniprogram-code). */
  scannerUserId: number | null;
  number: string | null;
  tokenExpiresAt: number | null;
  /** sha256 of the browser session id that may complete the login (null: rows from before it was kept). */
  ownerHash: string | null;
  /** The way in it was shown with (null: a QR code, from before ways were kept). */
  way: string | null;
  /** When the scanner approved on the phone (a confirmation); null when the scan was approved at once, or not yet. */
  confirmedAt: number | null;
  /** When the scan was approved or refused (at once, or on the phone). */
  decidedAt: number | null;
  /** The scan must be confirmed on the phone whatever LOGIN_CONFIRM says (the operator console asks for that). */
  confirmRequired: boolean;
}

/** What is known of a scene when its QR code is issued: the waiting browser. */
export type NewLoginScene = Pick<LoginSceneRow, 'scene' | 'deviceHash' | 'userAgent' | 'ip' | 'createdAt' | 'expiresAt' | 'ownerHash'> & {
  way?: string;
  confirmRequired?: boolean;
  /** With oa-code: the sha256 of the code the page shows. */
  codeHash?: string;
};

export interface ConfirmationRequest {
  scene: string;
  openid: string;
  number: string;
  tokenHash: string;
  tokenExpiresAt: number;
}

/** The code drawn for a new scene is another scene's (kept a day after it expired): draw another. */
export class CodeTakenError extends Error {
  constructor() {
    super('another scene holds this code');
    this.name = 'CodeTakenError';
  }
}

/** Who scanned: an openid of the Official Account, or a user (the scanner of a mini-program code). */
type Scanner = { scanner_openid: string } | { scanner_user_id: number };

/** How long a dead scene's row is kept after its QR code expired: enough to answer "expired" and to debug. */
const keepAfterExpiryMs = 24 * 60 * 60 * 1000;

/**
 * Data access for `login_scenes`. Every state change is one conditional
 * UPDATE: the state it starts from is in the WHERE clause, so two racing
 * requests (two scanners, a double-clicked button) change it at most once.
 */
export function createLoginSceneQueries(knex: Knex, events: EventLog = noEventLog) {
  const table = () => knex<Record<string, unknown>>('login_scenes');
  /** The scenes, each with the login that used it (by its unique index), for toRow. */
  const scenesWithLogin = () => knex('login_scenes as s').leftJoin('user_sessions as login', 'login.scene', 's.scene').select('s.*', 'login.id as login_id');

  async function insertScene(scene: NewLoginScene): Promise<void> {
    try {
      await table().insert({
        scene: scene.scene,
        device_hash: scene.deviceHash,
        user_agent: scene.userAgent.slice(0, 512),
        ip: scene.ip.slice(0, 64),
        created_at_ms: scene.createdAt,
        expires_at_ms: scene.expiresAt,
        state: 'issued',
        owner_hash: scene.ownerHash,
        way: scene.way ?? null,
        code_hash: scene.codeHash ?? null,
        confirm_required: scene.confirmRequired ?? false,
      });
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      // The same scene recorded twice (a retried request) is the same row; a code another scene holds is not.
      if (!(await findScene(scene.scene))) throw new CodeTakenError();
    }
  }

  async function findScene(scene: string): Promise<LoginSceneRow | undefined> {
    return toRow(await scenesWithLogin().where('s.scene', scene).first());
  }

  /** Many scenes in one query (the polls of one tick), by scene; unknown scenes are absent. */
  async function findScenes(scenes: string[]): Promise<Map<string, LoginSceneRow>> {
    const rows = await scenesWithLogin().whereIn('s.scene', scenes);
    return new Map(rows.map((row) => [String(row.scene), toRow(row)!]));
  }

  /**
   * Many scenes with their scanners' users, in one query (the polls of one
   * tick): the scanner by openid for an Official Account way, by user id for
   * a mini-program code, each through its own index.
   */
  async function findScenesWithScanners(scenes: string[]): Promise<Map<string, { row: LoginSceneRow; scanner?: User }>> {
    const byOpenid = userColumns.map((column) => `by_openid.${column} as o__${column}`);
    const byId = userColumns.map((column) => `by_id.${column} as i__${column}`);
    const rows = await scenesWithLogin()
      .leftJoin('users as by_openid', (join) => join.on('by_openid.openid', 's.scanner_openid').andOnNull('s.scanner_user_id'))
      .leftJoin('users as by_id', 'by_id.id', 's.scanner_user_id')
      .whereIn('s.scene', scenes)
      .select(...byOpenid, ...byId);
    return new Map(
      rows.map((row: Record<string, unknown>) => {
        const prefix = row.o__id !== null && row.o__id !== undefined ? 'o__' : row.i__id !== null && row.i__id !== undefined ? 'i__' : undefined;
        const scanner = prefix ? toUser(Object.fromEntries(userColumns.map((column) => [column, row[`${prefix}${column}`]]))) : undefined;
        return [String(row.scene), { row: toRow(row)!, scanner }];
      }),
    );
  }

  /** The scene a mini-program code's scene names, in whatever state. */
  async function findSceneByCodeHash(codeHash: string): Promise<LoginSceneRow | undefined> {
    return toRow(await scenesWithLogin().where('s.code_hash', codeHash).first());
  }

  async function findSceneByTokenHash(tokenHash: string): Promise<LoginSceneRow | undefined> {
    return toRow(await scenesWithLogin().where('s.token_hash', tokenHash).first());
  }

  /**
   * A scan that needs confirmation: the first scanner of an issued scene
   * takes it. The same scanner scanning again gets a fresh token (the old
   * link dies); anyone else gets false.
   */
  function markAwaiting(request: ConfirmationRequest, now: number): Promise<boolean> {
    return claimAwaiting({ scanner_openid: request.openid }, request, now);
  }

  /** The claim of both kinds of scanner: by openid (a QR scan), or by user id (a mini-program code). */
  async function claimAwaiting(scanner: Scanner, request: Omit<ConfirmationRequest, 'openid' | 'number'> & { number: string | null }, now: number): Promise<boolean> {
    const changes = { state: 'awaiting', ...scanner, number: request.number, token_hash: request.tokenHash, token_expires_at_ms: request.tokenExpiresAt };
    const first = await table().where({ scene: request.scene, state: 'issued' }).where('expires_at_ms', '>', now).update(changes);
    if (first > 0) return true;
    const again = await table()
      .where({ scene: request.scene, state: 'awaiting', ...scanner })
      .where('expires_at_ms', '>', now)
      .update({ token_hash: request.tokenHash, token_expires_at_ms: request.tokenExpiresAt });
    return again > 0;
  }

  /** A scan that needs no confirmation (LOGIN_CONFIRM off, or a device the scanner logged in on before): approved at once. */
  async function markApproved(scene: string, openid: string, now: number): Promise<boolean> {
    const changed = await table()
      .where({ scene, state: 'issued' })
      .where('expires_at_ms', '>', now)
      .update({ state: 'approved', scanner_openid: openid, decided_at_ms: now });
    if (changed > 0) return true;
    // A retried scan by the same person of a scene they already hold.
    return Boolean(await scenesWithLogin().where({ 's.scene': scene, 's.state': 'approved', 's.scanner_openid': openid }).whereNull('login.id').first());
  }

  /**
   * The usual scan in one statement, on MySQL (a multi-table UPDATE; undefined
   * elsewhere: not tried): a user with a phone scans an issued, live scene
   * that asks for no confirmation, from its browser when `onKnownDevice` (a
   * browser they logged in on before). The scene is approved for them and
   * the scan recorded on the user (as users.updateScan does) together, or
   * nothing changes and false says it was not that case. A scene string
   * another user holds is that too.
   */
  async function approveUsualScan(scene: string, openid: string, now: number, onKnownDevice: boolean, pendingBrowsers: string[] = []): Promise<boolean | undefined> {
    if (knex.client.config.client !== 'mysql2') return undefined;
    // A browser with a write pending (remembered or forgotten: login/session/device-memory.ts) is left to the general way, which waits for it.
    const pending = onKnownDevice && pendingBrowsers.length > 0 ? ` AND s.device_hash NOT IN (${pendingBrowsers.map(() => '?').join(', ')})` : '';
    const device = onKnownDevice ? ` AND EXISTS (SELECT 1 FROM known_devices k WHERE k.user_id = u.id AND k.device_hash = s.device_hash)${pending}` : '';
    try {
      const [result] = await knex.raw(
        `UPDATE login_scenes s JOIN users u ON u.openid = ?
         SET s.state = 'approved', s.scanner_openid = u.openid, s.decided_at_ms = ?, u.tmp_scene_str = s.scene, u.subscribed = 1, u.updated_at = ?
         WHERE s.scene = ? AND s.state = 'issued' AND s.expires_at_ms > ? AND s.confirm_required = 0 AND u.phone IS NOT NULL${device}`,
        [openid, now, new Date(now), scene, now, ...(pending ? pendingBrowsers : [])],
      );
      return (result as { affectedRows: number }).affectedRows > 0;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  /**
   * The scanner's decision, once: the token must be live and unused, and it is
   * burnt by the same UPDATE that records the decision.
   */
  function decide(tokenHash: string, openid: string, decision: 'approved' | 'denied', now: number): Promise<boolean> {
    return decideAs({ scanner_openid: openid }, tokenHash, decision, now);
  }

  async function decideAs(scanner: Scanner, tokenHash: string, decision: 'approved' | 'denied', now: number): Promise<boolean> {
    const told = decision === 'denied' && events.wants('login.denied');
    return withEventTransaction(knex, undefined, told, async (run) => {
      const changed = await run('login_scenes')
        .where({ token_hash: tokenHash, state: 'awaiting', ...scanner })
        .where('token_expires_at_ms', '>', now)
        .update({ state: decision, token_hash: null, token_expires_at_ms: null, decided_at_ms: now, confirmed_at_ms: decision === 'approved' ? now : null });
      if (changed > 0 && told) {
        const user = await run('users')
          .where('scanner_user_id' in scanner ? { id: scanner.scanner_user_id } : { openid: scanner.scanner_openid })
          .first('id', 'openid');
        if (user) await events.record(run, 'login.denied', { userId: Number(user.id), openid: user.openid ?? null }, new Date(now));
      }
      return changed > 0;
    });
  }

  /**
   * Moves the scene to another browser session, only from the session that holds it now: of two copies
   * of one cookie, the first to show the code again takes it, and the other is left with nothing.
   */
  async function moveScene(scene: string, fromOwnerHash: string, toOwnerHash: string): Promise<boolean> {
    return (await table().where({ scene, owner_hash: fromOwnerHash }).update({ owner_hash: toOwnerHash })) === 1;
  }

  /**
   * A mini-program code scanned (miniprogram-code): the first scanner of an
   * issued scene takes it, with a ticket for the confirmation in the
   * mini-program; the same user scanning again gets a fresh ticket.
   */
  function markAwaitingInMiniProgram(request: { scene: string; userId: number; number: string | null; tokenHash: string; tokenExpiresAt: number }, now: number): Promise<boolean> {
    return claimAwaiting({ scanner_user_id: request.userId }, request, now);
  }

  /** The mini-program scanner's decision, once: the ticket must be live and theirs, and is burnt by the same UPDATE. */
  function decideInMiniProgram(tokenHash: string, userId: number, decision: 'approved' | 'denied', now: number): Promise<boolean> {
    return decideAs({ scanner_user_id: userId }, tokenHash, decision, now);
  }

  /** Forgets scenes whose QR code expired long ago. */
  async function deleteExpiredScenes(now: number): Promise<number> {
    return table().where('expires_at_ms', '<', now - keepAfterExpiryMs).delete();
  }

  return { insertScene, findScene, findScenes, findScenesWithScanners, findSceneByCodeHash, findSceneByTokenHash, markAwaiting, markApproved, approveUsualScan, decide, markAwaitingInMiniProgram, decideInMiniProgram, moveScene, deleteExpiredScenes };
}

export type LoginSceneQueries = ReturnType<typeof createLoginSceneQueries>;

function toRow(row: Record<string, unknown> | undefined): LoginSceneRow | undefined {
  if (!row) return undefined;
  return {
    scene: String(row.scene),
    deviceHash: String(row.device_hash),
    userAgent: String(row.user_agent),
    ip: String(row.ip),
    createdAt: Number(row.created_at_ms),
    expiresAt: Number(row.expires_at_ms),
    state: row.login_id !== null && row.login_id !== undefined ? 'used' : (row.state as LoginSceneState),
    scannerOpenid: (row.scanner_openid as string | null) ?? null,
    scannerUserId: row.scanner_user_id === null || row.scanner_user_id === undefined ? null : Number(row.scanner_user_id),
    number: (row.number as string | null) ?? null,
    tokenExpiresAt: row.token_expires_at_ms === null || row.token_expires_at_ms === undefined ? null : Number(row.token_expires_at_ms),
    ownerHash: (row.owner_hash as string | null | undefined) ?? null,
    way: (row.way as string | null | undefined) ?? null,
    confirmedAt: row.confirmed_at_ms === null || row.confirmed_at_ms === undefined ? null : Number(row.confirmed_at_ms),
    decidedAt: row.decided_at_ms === null || row.decided_at_ms === undefined ? null : Number(row.decided_at_ms),
    confirmRequired: Boolean(row.confirm_required),
  };
}
