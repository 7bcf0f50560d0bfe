import type { LoginSceneQueries, LoginSceneRow } from '../../db/login-scenes.js';
import type { User } from '../../db/users.js';
import { hashToken } from '../../security/tokens.js';
import type { LoginConfirmation, ScanClaim } from '../confirm/login-confirmation.js';
import { hashDeviceId } from '../session/device-cookie.js';
import { createBatchedLookup } from './batched-lookup.js';

/** Where a scene stands, as the poll reads it from `login_scenes` (the one record of it). */
export type SceneState =
  | { status: 'issued' }
  /** Scanned, waiting for the scanner to confirm (in WeChat, or in the mini-program): the number to pick, if any. */
  | { status: 'awaiting'; number: string | null }
  /**
   * Scanned and approved: `user` logs in, in the browser session whose id hashes to `ownerHash` (null: rows
   * from before it was kept), and the login is recorded as `method`.
   */
  | { status: 'approved'; user: User; ownerHash: string | null; method: SceneLoginMethod; confirmedAt?: number }
  | { status: 'denied' }
  /** A login completed with it already. */
  | { status: 'used' };

/** How a login through a scene is recorded, by the way it was shown. */
export type SceneLoginMethod = 'qrcode' | 'code' | 'miniprogram-code';

/** The browser waiting on a new scene: the scan's callback will not carry its cookie. */
export interface WaitingBrowser {
  deviceId: string;
  userAgent: string;
  ip: string;
  sessionId: string;
}

export interface SceneStateDeps {
  scenes: LoginSceneQueries;
  /** Whether a scan must be confirmed in WeChat, and asking for it (LOGIN_CONFIRM). */
  confirmation: Pick<LoginConfirmation, 'approvedAtOnce' | 'needsConfirmation' | 'askToConfirm'>;
  /** The browsers whose known-device write is still pending here (session/device-memory.ts): the one-statement scan leaves them out. */
  pendingBrowsers?: () => string[];
  now?: () => number;
}

/**
 * The life of a QR scene, kept in one place whatever LOGIN_CONFIRM says:
 * issued when a browser shows the code, claimed by the first scanner (approved
 * at once, or awaiting the scanner's confirmation), and used by exactly one
 * login. Every change is one conditional UPDATE (db/login-scenes.ts), so any
 * instance can serve any step and races change a scene at most once.
 */
export function createSceneStates(deps: SceneStateDeps) {
  const now = deps.now ?? Date.now;
  const lookup = createBatchedLookup(findStates);

  /** GET /login issued `scene`: remembers which browser, and which of its session ids, waits on it, and how it was shown. */
  async function recordIssued(scene: string, expiresAt: number, browser: WaitingBrowser, shown: { way: string; codeHash?: string; confirmRequired?: boolean }): Promise<void> {
    await deps.scenes.insertScene({
      ...shown,
      scene,
      deviceHash: hashDeviceId(browser.deviceId),
      userAgent: browser.userAgent,
      ip: browser.ip,
      createdAt: now(),
      expiresAt,
      ownerHash: ownerHashOf(browser.sessionId),
    });
  }

  /** The login page shows the scene again under a new session id: only the session that holds it may move it. */
  function moveOwner(scene: string, fromSessionId: string, toSessionId: string): Promise<boolean> {
    return deps.scenes.moveScene(scene, ownerHashOf(fromSessionId), ownerHashOf(toSessionId));
  }

  /**
   * A scan, before it is recorded on the user: the first scanner of a live,
   * issued scene takes it, approved at once or awaiting their confirmation.
   * A scene with no record, or another scanner's, is refused.
   */
  async function claim(openid: string, scene: string): Promise<ScanClaim> {
    const row = await deps.scenes.findScene(scene);
    if (!row || row.expiresAt <= now()) return { kind: 'refused' };
    if (await deps.confirmation.needsConfirmation(openid, row)) return deps.confirmation.askToConfirm(openid, row);
    return (await deps.scenes.markApproved(scene, openid, now())) ? { kind: 'approved' } : { kind: 'refused' };
  }

  /**
   * The usual scan, claimed and recorded in one statement where the database
   * can (db/login-scenes.ts): a user with a phone whose scan LOGIN_CONFIRM
   * lets through. False when it is not that case, and nothing changed: the
   * scan goes the general way (claim, then record).
   */
  async function approveUsualScan(openid: string, scene: string): Promise<boolean> {
    const when = deps.confirmation.approvedAtOnce;
    if (when === undefined) return false;
    // A browser whose write is still pending (session/device-memory.ts) is left to the general way, which waits for it.
    return (await deps.scenes.approveUsualScan(scene, openid, now(), when === 'known device', deps.pendingBrowsers?.() ?? [])) === true;
  }

  /**
   * A code sent to the account (oa-code) by `openid`: the live scene it names
   * is approved for them at once (typing the page's code in WeChat is the
   * confirmation). A retried delivery of the same message finds the scene
   * approved for the same sender and goes on. `taken` when another WeChat
   * user sent the code first; `unknown` when it names no live scene.
   */
  async function claimByCode(openid: string, codeHash: string): Promise<{ row: LoginSceneRow } | { refused: 'unknown' | 'taken' }> {
    const row = await deps.scenes.findSceneByCodeHash(codeHash);
    if (!row || row.expiresAt <= now() || row.way !== 'oa-code') return { refused: 'unknown' };
    if (row.state !== 'issued' && !(row.state === 'approved' && row.scannerOpenid === openid)) {
      return { refused: row.scannerOpenid && row.scannerOpenid !== openid ? 'taken' : 'unknown' };
    }
    return (await deps.scenes.markApproved(row.scene, openid, now())) ? { row } : { refused: 'taken' };
  }

  /**
   * Where `scene` stands, with its scanner; the polls of one tick share one query. `withinMs`: it may wait
   * that long for other polls' lookups to share theirs (batched-lookup.ts).
   */
  function stateOf(scene: string, withinMs?: number): Promise<SceneState> {
    return (withinMs === undefined ? lookup.find(scene) : lookup.findSoon(scene, withinMs)).then((state) => state ?? { status: 'issued' });
  }

  /** One query for the polls of a tick: the scenes and their scanners' users (db/login-scenes.ts). */
  async function findStates(scenes: string[]): Promise<Map<string, SceneState>> {
    const found = await deps.scenes.findScenesWithScanners(scenes);
    return new Map([...found].map(([scene, { row, scanner }]) => [scene, stateOfRow(row, scanner)]));
  }

  return { recordIssued, moveOwner, approveUsualScan, claim, claimByCode, stateOf };
}

export type SceneStates = ReturnType<typeof createSceneStates>;

const methodOfWay: Record<string, SceneLoginMethod> = { 'oa-code': 'code', 'miniprogram-code': 'miniprogram-code' };

function stateOfRow(row: LoginSceneRow, scanner: User | undefined): SceneState {
  switch (row.state) {
    case 'awaiting':
      return { status: 'awaiting', number: row.number };
    case 'approved':
      // The scanner's user is gone (unfollowed and merged away): the scene leads nowhere.
      return scanner
        ? { status: 'approved', user: scanner, ownerHash: row.ownerHash, method: methodOfWay[row.way ?? ''] ?? 'qrcode', confirmedAt: confirmedOnPhoneAt(row) }
        : { status: 'issued' };
    case 'denied':
    case 'used':
      return { status: row.state };
    default:
      return { status: 'issued' };
  }
}

/**
 * When the login was confirmed on the phone, for the operator console: the
 * scanner picked the right number (a tap with no number is not enough), or
 * typed the page's code into WeChat (oa-code, itself the confirmation).
 */
function confirmedOnPhoneAt(row: LoginSceneRow): number | undefined {
  if (row.confirmedAt !== null && row.number !== null) return row.confirmedAt;
  if (row.way === 'oa-code' && row.decidedAt !== null) return row.decidedAt;
  return undefined;
}

/** How a scene's owning session is stored: never the session id itself. */
export function ownerHashOf(sessionId: string): string {
  return hashToken(sessionId, 'scene owner');
}
