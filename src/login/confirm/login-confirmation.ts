import { createHash, randomInt } from 'node:crypto';
import type { LoginConfirmMode } from '../../config.js';
import type { KnownDeviceQueries } from '../../db/known-devices.js';
import type { Logger } from '../../logging/logger.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { LoginSceneQueries, LoginSceneRow } from '../../db/login-scenes.js';
import type { UserQueries } from '../../db/users.js';
import { hashToken as hashWithPurpose, randomToken } from '../../security/tokens.js';
import { describeDevice, type DeviceDescription } from '../session/device-description.js';

/** The confirm link lives at most this long (and never past its QR code). */
export const confirmTokenLifetimeMs = 3 * 60 * 1000;
const tokenPattern = /^[A-Za-z0-9_-]{32}$/;

export interface LoginConfirmationDeps {
  mode: LoginConfirmMode;
  scenes: LoginSceneQueries;
  devices: Pick<KnownDeviceQueries, 'isKnownDevice'>;
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
 * The confirmation step of a QR login (LOGIN_CONFIRM): a scan from a phone that
 * has not logged in on the waiting browser gets a single-use link instead of a
 * login; the scanner picks the number shown on the browser or refuses. The
 * scene's state lives in `login_scenes` (scan/scene-states.ts), so any
 * instance can serve any step.
 */
export function createLoginConfirmation(deps: LoginConfirmationDeps) {
  const now = deps.now ?? Date.now;

  /** The scan of `row` by `openid` must be confirmed: a fresh link and number, unless another scanner took the scene first. */
  async function askToConfirm(openid: string, row: LoginSceneRow): Promise<ScanClaim> {
    const token = randomToken(24);
    const claimed = await deps.scenes.markAwaiting(
      {
        scene: row.scene,
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

  /** Whether the scanner must confirm: always, or (new-device) unless they logged in on the waiting browser before. */
  async function needsConfirmation(openid: string, row: LoginSceneRow): Promise<boolean> {
    // The operator console asked for a confirmed login (console/console-access.ts).
    if (row.confirmRequired) return true;
    if (deps.mode !== 'new-device') return deps.mode === 'always';
    return needsConfirmationOf(await deps.users.findUserByOpenid(openid), row);
  }

  /**
   * Which scans LOGIN_CONFIRM lets through without asking, for the scan that
   * is checked and approved in one statement (scan/scene-states.ts): every
   * one (off), one from a browser the scanner logged in on before
   * (new-device), or none (always).
   */
  const approvedAtOnce: 'any device' | 'known device' | undefined = deps.mode === 'off' ? 'any device' : deps.mode === 'new-device' ? 'known device' : undefined;

  /** The same rule for a scanner already known by user (a mini-program code's). */
  async function needsConfirmationOf(user: { id: number } | undefined, row: LoginSceneRow): Promise<boolean> {
    if (row.confirmRequired) return true;
    if (deps.mode !== 'new-device') return deps.mode === 'always';
    // A new user's first login is always from a new device.
    return !user || !(await deps.devices.isKnownDevice(user.id, row.deviceHash));
  }

  /** The live scene behind a confirm link, or `gone` when the link is malformed, used, expired or unknown. */
  async function lookUpToken(token: unknown): Promise<TokenLookup> {
    if (typeof token !== 'string' || !tokenPattern.test(token)) return { kind: 'gone' };
    const row = await deps.scenes.findSceneByTokenHash(hashToken(token));
    if (!row || row.state !== 'awaiting' || (row.tokenExpiresAt ?? 0) <= now() || row.expiresAt <= now()) return { kind: 'gone' };
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

  return { approvedAtOnce, needsConfirmation, needsConfirmationOf, askToConfirm, lookUpToken, decide, numberChoices };
}

export type LoginConfirmation = ReturnType<typeof createLoginConfirmation>;

function hashToken(token: string): string {
  return hashWithPurpose(token, 'confirm');
}
