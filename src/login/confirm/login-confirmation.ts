import { createHash, randomInt } from 'node:crypto';
import type { LoginConfirmMode } from '../../config.js';
import type { KnownDeviceQueries } from '../../db/known-devices.js';
import type { Logger } from '../../logging/logger.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { LoginSceneQueries, LoginSceneRow } from '../../db/login-scenes.js';
import type { UserQueries } from '../../db/users.js';
import { hashToken as hashWithPurpose, randomToken } from '../../security/tokens.js';
import { hashDeviceId } from '../session/device-cookie.js';
import { describeDevice, type DeviceDescription } from '../session/device-description.js';

/** The confirm link lives at most this long (and never past its QR code). */
export const confirmTokenLifetimeMs = 3 * 60 * 1000;
const tokenPattern = /^[A-Za-z0-9_-]{32}$/;

export interface LoginConfirmationDeps {
  mode: Exclude<LoginConfirmMode, 'off'>;
  scenes: LoginSceneQueries;
  devices: KnownDeviceQueries;
  users: Pick<UserQueries, 'findUserByOpenid'>;
  /** Wakes the polls of a scene, on this instance and (through Redis) the others. */
  announce: (scene: string) => void;
  publicUrl: string;
  metrics?: Metrics;
  /** One line per answer on the phone (never the token or the number). */
  logger?: Logger;
  now?: () => number;
}

/** What a scan of a scene leads to. */
export type ScanClaim =
  | { kind: 'refused' }
  | { kind: 'approved' }
  | { kind: 'confirm'; link: string; device: DeviceDescription };

/** Where a confirm link stands, for the confirm page. */
export type TokenLookup =
  | { kind: 'live'; row: LoginSceneRow; device: DeviceDescription }
  | { kind: 'gone' };

export type ConfirmDecision = { decision: 'approve'; number: string } | { decision: 'deny' };
export type ConfirmResult = 'approved' | 'denied' | 'wrong_number' | 'gone' | 'foreign';

/**
 * The confirmation step of a QR login (LOGIN_CONFIRM): the browser that asked
 * for a scene is recorded when the code is issued; a scan from a phone that
 * has not logged in on that browser gets a single-use link instead of a
 * login; the scanner picks the number shown on the browser or refuses.
 * Every state lives in the database, so any instance can serve any step.
 */
export function createLoginConfirmation(deps: LoginConfirmationDeps) {
  const now = deps.now ?? Date.now;

  /** Called when GET /login issues a scene: remembers which browser (and which of its session ids) is waiting on it. */
  async function recordSceneRequest(scene: string, expiresAt: number, browser: { deviceId: string; userAgent: string; ip: string; sessionId: string }) {
    await deps.scenes.insertScene({
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
  function moveScene(scene: string, fromSessionId: string, toSessionId: string): Promise<boolean> {
    return deps.scenes.moveScene(scene, ownerHashOf(fromSessionId), ownerHashOf(toSessionId));
  }

  /**
   * A scan, before it is recorded on the user: decides whether it needs the
   * scanner's confirmation, and claims the scene for this scanner (the first
   * scanner wins; a scene with no record is refused, never logged in).
   */
  async function claimScan(openid: string, scene: string): Promise<ScanClaim> {
    const row = await deps.scenes.findScene(scene);
    if (!row || row.expiresAt <= now()) return { kind: 'refused' };
    if (!(await needsConfirmation(openid, row))) {
      return (await deps.scenes.markApprovedAtScan(scene, openid, now())) ? { kind: 'approved' } : { kind: 'refused' };
    }
    const token = randomToken(24);
    const claimed = await deps.scenes.markScanned(
      {
        scene,
        openid,
        number: String(randomInt(10, 100)),
        tokenHash: hashToken(token),
        tokenExpiresAt: Math.min(now() + confirmTokenLifetimeMs, row.expiresAt),
      },
      now(),
    );
    if (!claimed) return { kind: 'refused' };
    return { kind: 'confirm', link: `${deps.publicUrl}/login/confirm?t=${token}`, device: describeDevice(row.userAgent, row.ip) };
  }

  async function needsConfirmation(openid: string, row: LoginSceneRow): Promise<boolean> {
    if (deps.mode === 'always') return true;
    const user = await deps.users.findUserByOpenid(openid);
    // A new user's first login is always from a new device.
    return !user || !(await deps.devices.isKnownDevice(user.id, row.deviceHash));
  }

  /** The scene as the poll sees it; only an approved scene leads to a login. */
  async function findSceneState(scene: string) {
    const row = await deps.scenes.findScene(scene);
    if (!row || row.state === 'waiting') return { status: 'pending' as const };
    if (row.state === 'scanned') return { status: 'awaiting' as const, number: row.number! };
    if (row.state === 'denied') return { status: 'denied' as const };
    const user = row.scannerOpenid ? await deps.users.findUserByOpenid(row.scannerOpenid) : undefined;
    return user ? { status: 'scanned' as const, user, ownerHash: row.ownerHash } : { status: 'pending' as const };
  }

  /** The live scene behind a confirm link, or `gone` when the link is malformed, used, expired or unknown. */
  async function lookUpToken(token: unknown): Promise<TokenLookup> {
    if (typeof token !== 'string' || !tokenPattern.test(token)) return { kind: 'gone' };
    const row = await deps.scenes.findSceneByTokenHash(hashToken(token));
    if (!row || row.state !== 'scanned' || (row.tokenExpiresAt ?? 0) <= now() || row.expiresAt <= now()) return { kind: 'gone' };
    return { kind: 'live', row, device: describeDevice(row.userAgent, row.ip) };
  }

  /**
   * The scanner's answer. The right number approves; a wrong one, or "deny",
   * kills the scene (a guess costs the attacker the whole code). The token is
   * burnt either way, in the same UPDATE that records the answer.
   */
  async function decide(token: string, openid: string, answer: ConfirmDecision): Promise<ConfirmResult> {
    const result = await decideOnce(token, openid, answer);
    if (result !== 'foreign') deps.metrics?.confirmations.inc({ outcome: result === 'gone' ? 'expired' : result });
    // A link opened by another WeChat user than the scanner is worth an operator's look: a forwarded link, or a relay.
    if (result === 'foreign') deps.logger?.warn('login confirmation refused: not the scanner', {});
    else deps.logger?.info('login confirmation', { outcome: result });
    return result;
  }

  async function decideOnce(token: string, openid: string, answer: ConfirmDecision): Promise<ConfirmResult> {
    const found = await lookUpToken(token);
    if (found.kind === 'gone') return 'gone';
    if (found.row.scannerOpenid !== openid) return 'foreign';
    const approve = answer.decision === 'approve' && answer.number === found.row.number;
    if (!(await deps.scenes.decide(hashToken(token), openid, approve ? 'approved' : 'denied', now()))) return 'gone';
    deps.announce(found.row.scene);
    if (approve) return 'approved';
    return answer.decision === 'approve' ? 'wrong_number' : 'denied';
  }

  /**
   * Three different two-digit numbers, the right one among them, in an order that looks random, and the
   * same three in the same order for the whole life of the confirmation (`seed`: the scene). Drawn afresh
   * at each load, two reloads showed which number stayed: the right one.
   */
  function numberChoices(right: string, seed: string): string[] {
    let counter = 0;
    // Each draw hashes the seed with its own counter: a stream with no end, the same for the same seed.
    const draw = (below: number) =>
      createHash('sha256').update(`confirm-numbers\n${seed}\n${right}\n${(counter += 1)}`).digest().readUInt32BE(0) % below;
    const choices = new Set([right]);
    while (choices.size < 3) choices.add(String(10 + draw(90)));
    const list = [...choices];
    for (let index = list.length - 1; index > 0; index -= 1) {
      const other = draw(index + 1);
      [list[index], list[other]] = [list[other], list[index]];
    }
    return list;
  }

  return { recordSceneRequest, moveScene, claimScan, findSceneState, lookUpToken, decide, numberChoices };
}

export type LoginConfirmation = ReturnType<typeof createLoginConfirmation>;

function hashToken(token: string): string {
  return hashWithPurpose(token, 'confirm');
}

/** How a scene's owning session is stored: never the session id itself. */
export function ownerHashOf(sessionId: string): string {
  return hashWithPurpose(sessionId, 'scene owner');
}
