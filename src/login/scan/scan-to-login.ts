import { ForbiddenError } from '../../errors.js';
import type { AppContext } from '../../http/context.js';
import { sessionOf } from '../../http/cookie-session.js';
import type { Lang } from '../../messages/catalogue.js';
import { wechatTexts } from '../../messages/wechat-texts.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { ScanClaim } from '../confirm/login-confirmation.js';
import type { UnionidBackfill } from '../identity/unionid-backfill.js';
import type { RateLimiter } from '../../http/rate-limiter.js';
import type { Logger } from '../../logging/logger.js';
import { describeDevice } from '../session/device-description.js';
import type { CompleteLogin } from '../session/session-login.js';
import { hashLoginCode, loginCodeIn } from '../ways/oa-code.js';
import type { OaCodeShown } from '../ways/oa-code.js';
import type { OaQrShown } from '../ways/oa-qr.js';
import type { ScanRecord, ScanRecording } from './scan-recording.js';
import type { SceneIssuer } from './scene-issuer.js';
import { ownerHashOf, type SceneState, type SceneStates } from './scene-states.js';

export type PollStatus = 'pending' | 'scanned' | 'success' | 'bind' | 'denied' | 'expired';
export interface PollAnswer {
  status: PollStatus;
  redirect?: string;
  /** With `scanned`: the number the scanner must pick in WeChat. */
  number?: string;
}

/** A code this browser session was shown (kept in its cookie session), with what its way shows (ways/). */
export type ShownScene = { scene: string; expiresAt: number; way?: string; confirmRequired?: boolean } & Partial<OaQrShown & OaCodeShown>;

export interface ScanToLoginDeps {
  scenes: SceneIssuer;
  sceneStates: SceneStates;
  scans: ScanRecording;
  /** Wakes the polls waiting for a scene: the local hub, and other instances through Redis when configured. */
  announceScan: (scene: string) => void;
  /** Asks for the unionids of users a scan created, after the wake, many per call. */
  unionidBackfill?: Pick<UnionidBackfill, 'add'>;
  completeLogin: CompleteLogin;
  /** Counts the login codes each WeChat user sends (oa-code), shared between instances with Redis. */
  limiter: RateLimiter;
  /** Login codes one WeChat user may send per hour, right or wrong: ten guesses among 5 · 10^11 codes. */
  codesPerUserPerHour: number;
  /** The site a code logs into, as the reply names it (PUBLIC_URL's host). */
  siteName: string;
  metrics?: Metrics;
  logger?: Pick<Logger, 'warn'>;
  now?: () => number;
}

/**
 * The rule that a scan of a login QR code logs in, in the order it happens.
 *
 * On the phone, the scan's callback (`onScan`):
 *   1. readScene     the scene is one we issued and has not expired (its HMAC; no database)
 *   2. claimScene    the first scanner takes it: approved, or awaiting their confirmation (login_scenes)
 *   3. recordScanner the scanner is, or becomes, a user who follows the account (users)
 *   4. wakeBrowser   the polls of the scene look again, on every instance
 *   5. reply         "logged in", "bind your phone" or "confirm", in the page's language
 * In the browser, the long-poll (`answerPoll`), from the scene's state in login_scenes:
 *   6. issued or awaiting: keep waiting (showing the number to pick); denied: say so
 *   7. approved: only the browser session that showed the code may go on
 *   8. completeLogin: without a phone, bind one first; with one, the login is
 *      recorded once (the scene becomes used) and a session starts
 * A code sent to the account (oa-code, `onCode`) is that person's scan of the
 * scene it names: its steps 1 and 2 are to find the live scene by the code and
 * approve it (typing the page's code in WeChat is the confirmation), then 3 to 8
 * as above. The other ways in (in-WeChat OAuth, the mini-program) end in the
 * same completeLogin (session/session-login.ts).
 */
export function createScanToLogin(deps: ScanToLoginDeps) {
  const now = deps.now ?? Date.now;

  /** The reply to a scan; undefined when the scene is not one of ours (the business's own QR codes). */
  async function onScan(openid: string, scene: string, event: 'SCAN' | 'subscribe'): Promise<string | undefined> {
    // 1. A scene we never issued, or one past its lifetime, changes nothing.
    const facts = deps.scenes.readScene(scene);
    if (!facts) {
      deps.metrics?.scans.inc({ outcome: 'scene_foreign' });
      return undefined;
    }
    if (facts.expiresAt < now()) return refuse('scene_invalid', facts.lang);
    // 2 and 3 in one statement for the usual scan, a follower with a phone (MySQL), otherwise one after the other.
    if (event === 'SCAN' && (await deps.sceneStates.approveUsualScan(openid, scene))) {
      const scan = { outcome: 'recorded', hasPhone: true } as const;
      wakeBrowser(openid, scene, scan);
      deps.metrics?.scans.inc({ outcome: 'logged_in' });
      return reply(facts.lang, { kind: 'approved' }, scan);
    }
    const claim = await deps.sceneStates.claim(openid, scene);
    if (claim.kind === 'refused') return refuse('scene_invalid', facts.lang);
    const scan = await deps.scans.record(openid, scene, event);
    if (scan.outcome === 'scene_taken') return refuse('scene_taken', facts.lang);
    wakeBrowser(openid, scene, scan);
    deps.metrics?.scans.inc({ outcome: claim.kind === 'confirm' ? 'confirm' : scan.hasPhone ? 'logged_in' : 'bind' });
    return reply(facts.lang, claim, scan);
  }

  /**
   * A text message to the account: undefined when it is not shaped like a login
   * code (not ours to answer); otherwise what became of it, and the reply.
   * Only `login` and `taken` name a live code: the others may be the business's.
   */
  async function onCode(openid: string, content: string): Promise<{ outcome: 'login' | 'taken' | 'unknown' | 'refused'; reply: string } | undefined> {
    const code = loginCodeIn(content);
    if (!code) return undefined;
    // Counted before the lookup, right or wrong: parallel guesses cannot outrun the count.
    if (!(await deps.limiter.hit(`login-code:${openid}`, deps.codesPerUserPerHour, 3600))) {
      deps.metrics?.scans.inc({ outcome: 'code_refused' });
      deps.logger?.warn('login code refused: too many from one WeChat user this hour', { limitPerHour: deps.codesPerUserPerHour });
      return { outcome: 'refused', reply: wechatTexts.zh.codeTooMany };
    }
    const claim = await deps.sceneStates.claimByCode(openid, hashLoginCode(code));
    if ('refused' in claim) {
      deps.metrics?.scans.inc({ outcome: `code_${claim.refused}` });
      return claim.refused === 'taken' ? { outcome: 'taken', reply: wechatTexts.zh.codeTaken } : { outcome: 'unknown', reply: wechatTexts.zh.codeUnknown };
    }
    const { row } = claim;
    const lang = deps.scenes.readScene(row.scene)?.lang ?? 'zh';
    const scan = await deps.scans.record(openid, row.scene, 'SCAN');
    if (scan.outcome === 'scene_taken') return { outcome: 'taken', reply: refuse('scene_taken', lang) };
    wakeBrowser(openid, row.scene, scan);
    deps.metrics?.scans.inc({ outcome: scan.hasPhone ? 'logged_in' : 'bind' });
    return { outcome: 'login', reply: wechatTexts[lang].codeLogin(deps.siteName, describeDevice(row.userAgent, row.ip), scan.hasPhone) };
  }

  function refuse(outcome: 'scene_invalid' | 'scene_taken', lang: Lang): string {
    deps.metrics?.scans.inc({ outcome });
    return wechatTexts[lang].sceneInvalid;
  }

  /** 4. The browser first; a user created just now gets their unionid from WeChat after that. */
  function wakeBrowser(openid: string, scene: string, scan: ScanRecord): void {
    deps.announceScan(scene);
    if ('created' in scan) deps.unionidBackfill?.add(openid);
  }

  /** 5. The page that showed the code chose the language the scanner reads. */
  function reply(lang: Lang, claim: ScanClaim, scan: Extract<ScanRecord, { outcome: 'recorded' }>): string {
    const texts = wechatTexts[lang];
    if (claim.kind === 'confirm') return texts.confirm(claim.device, claim.link);
    return scan.hasPhone ? texts.loggedIn : texts.bindPhone;
  }

  /** Steps 6 to 8: what a poll of `shown` answers, given the scene's state; an approved scanner with a phone is logged in here. */
  async function answerPoll(ctx: AppContext, shown: ShownScene, state: SceneState): Promise<PollAnswer> {
    const expired = shown.expiresAt <= now();
    switch (state.status) {
      case 'issued':
        return { status: expired ? 'expired' : 'pending' };
      case 'awaiting':
        return expired ? { status: 'expired' } : state.number ? { status: 'scanned', number: state.number } : { status: 'scanned' };
      case 'denied':
        return { status: 'denied' };
      case 'used':
        return { status: 'expired' };
      case 'approved': {
        // 7. Only the session that showed the code last may complete it: not a copy of the cookie from before.
        if (state.ownerHash && state.ownerHash !== ownerHashOf(sessionOf(ctx).sid!)) throw new ForbiddenError('another session holds this scene');
        const { status, redirect } = await deps.completeLogin(ctx, state.user, state.method, shown.scene, state.confirmedAt);
        return redirect ? { status, redirect } : { status };
      }
    }
  }

  return { onScan, onCode, answerPoll };
}

export type ScanToLogin = ReturnType<typeof createScanToLogin>;
