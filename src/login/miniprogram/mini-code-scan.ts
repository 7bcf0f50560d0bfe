import { randomInt } from 'node:crypto';
import { BadRequestError, ForbiddenError } from '../../errors.js';
import type { LoginSceneQueries } from '../../db/login-scenes.js';
import type { Logger } from '../../logging/logger.js';
import type { Metrics } from '../../metrics/metrics.js';
import { hashToken, randomToken } from '../../security/tokens.js';
import type { MiniProgramApi } from '../../wechat/mini-program-api.js';
import { confirmTokenLifetimeMs, type LoginConfirmation } from '../confirm/login-confirmation.js';
import type { UserIdentity } from '../identity/user-identity.js';
import { describeDevice } from '../session/device-description.js';
import { hashMiniScene, isMiniScene } from '../ways/miniprogram-code.js';

export interface MiniCodeScanDeps {
  api: Pick<MiniProgramApi, 'codeToSession'>;
  identity: Pick<UserIdentity, 'recordMiniProgramUser'>;
  scenes: Pick<LoginSceneQueries, 'findSceneByCodeHash' | 'findScene' | 'findSceneByTokenHash' | 'markAwaitingInMiniProgram' | 'decideInMiniProgram'>;
  confirmation: Pick<LoginConfirmation, 'needsConfirmationOf' | 'numberChoices'>;
  /** Wakes the polls of a scene, on this instance and (through Redis) the others. */
  announce: (scene: string) => void;
  metrics?: Metrics;
  logger?: Logger;
  now?: () => number;
}

/** What the mini-program shows after a scan: the waiting browser, and the numbers when LOGIN_CONFIRM asks for one. */
export interface MiniScanAnswer {
  ticket: string;
  browser: string;
  os: string;
  ip: string;
  region: string | null;
  numbers: string[] | null;
}

export type MiniDecision = { decision: 'approve'; number?: string } | { decision: 'deny' };

const ticketPattern = /^[A-Za-z0-9_-]{32}$/;

/**
 * A mini-program code scanned and confirmed in the mini-program (the example
 * page in examples/miniprogram/): the scan claims the scene for the WeChat
 * user the wx.login code names and gives the mini-program a single-use ticket;
 * the confirmation, with a fresh wx.login code (who is tapping), approves or
 * denies it. The browser's poll then answers as for a QR code
 * (scan/scan-to-login.ts, steps 6 to 8), with method miniprogram-code.
 */
export function createMiniCodeScan(deps: MiniCodeScanDeps) {
  const now = deps.now ?? Date.now;

  async function scan(miniScene: unknown, code: string): Promise<MiniScanAnswer> {
    if (!isMiniScene(miniScene)) throw new BadRequestError('scene is missing or malformed', 'mini_scene_gone');
    const user = await scannerOf(code);
    const found = await deps.scenes.findSceneByCodeHash(hashMiniScene(miniScene));
    if (!found || found.way !== 'miniprogram-code' || found.expiresAt <= now()) throw new BadRequestError('no live login for this scene', 'mini_scene_gone');
    const number = (await deps.confirmation.needsConfirmationOf(user, found)) ? String(randomInt(10, 100)) : null;
    const ticket = randomToken(24);
    const request = { scene: found.scene, userId: user.id, number, tokenHash: hashTicket(ticket), tokenExpiresAt: Math.min(now() + confirmTokenLifetimeMs, found.expiresAt) };
    // The first scanner takes the scene; the same person scanning again gets a fresh ticket (and keeps their number).
    if (!(await deps.scenes.markAwaitingInMiniProgram(request, now()))) throw new BadRequestError('the scene is taken or over', 'mini_scene_gone');
    const row = (await deps.scenes.findScene(found.scene))!;
    deps.announce(row.scene);
    deps.metrics?.scans.inc({ outcome: 'mini_code' });
    const device = describeDevice(row.userAgent, row.ip);
    return { ticket, ...device, region: device.region || null, numbers: row.number ? deps.confirmation.numberChoices(row.number, row.scene) : null };
  }

  /**
   * The scanner's answer in the mini-program. The right number (or a tap, when
   * none was asked) approves; "deny" or a wrong number kills the scene. The
   * ticket is burnt by the same UPDATE that records the answer.
   */
  async function confirm(ticket: unknown, code: string, answer: MiniDecision): Promise<'approved' | 'denied' | 'wrong_number'> {
    if (typeof ticket !== 'string' || !ticketPattern.test(ticket)) throw new BadRequestError('ticket is missing or malformed', 'mini_ticket_gone');
    const user = await scannerOf(code);
    const row = await deps.scenes.findSceneByTokenHash(hashTicket(ticket));
    if (!row || row.state !== 'awaiting' || row.scannerUserId === null || (row.tokenExpiresAt ?? 0) <= now()) {
      throw new BadRequestError('unknown, used or expired ticket', 'mini_ticket_gone');
    }
    if (row.scannerUserId !== user.id) {
      deps.logger?.warn('mini-program confirmation refused: not the scanner', {});
      throw new ForbiddenError('another WeChat user scanned this code', 'not_the_scanner');
    }
    const approve = answer.decision === 'approve' && (row.number === null || answer.number === row.number);
    if (!(await deps.scenes.decideInMiniProgram(hashTicket(ticket), user.id, approve ? 'approved' : 'denied', now()))) {
      throw new BadRequestError('unknown, used or expired ticket', 'mini_ticket_gone');
    }
    deps.announce(row.scene);
    const result = approve ? 'approved' : answer.decision === 'approve' ? 'wrong_number' : 'denied';
    deps.metrics?.confirmations.inc({ outcome: result });
    return result;
  }

  /** The WeChat user a wx.login code names: one person, one user, as for the mini-program's own login. */
  async function scannerOf(code: string) {
    const session = await deps.api.codeToSession(code);
    return deps.identity.recordMiniProgramUser(session.openid, session.unionid);
  }

  return { scan, confirm };
}

export type MiniCodeScan = ReturnType<typeof createMiniCodeScan>;

function hashTicket(ticket: string): string {
  return hashToken(ticket, 'mini-program ticket');
}
