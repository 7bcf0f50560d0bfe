import type { UnionidBackfill } from '../identity/unionid-backfill.js';
import type { UnionidLookup } from '../identity/unionid-lookup.js';
import type { Knex } from 'knex';
import type { LoginHistoryQueries, LoginMethod } from '../../db/login-history.js';
import type { User, UserQueries } from '../../db/users.js';
import type { WechatMessage } from '../../wechat/messages.js';
import type { LoginConfirmation } from '../confirm/login-confirmation.js';
import { createScanRecording } from './scan-recording.js';
import { createSceneLookup } from './scene-lookup.js';
import type { SceneIssuer } from './scene-issuer.js';
import type { UserIdentity } from '../identity/user-identity.js';
import { wechatTexts } from '../../messages/wechat-texts.js';
import type { Metrics } from '../../metrics/metrics.js';

/** The passive replies in the default language (Chinese); wechat-texts.ts has every language. */
export const scanReplies = wechatTexts.zh;

/** The "nothing to say" answer WeChat expects. */
export const emptyReply = 'success';

export interface LoginServiceDeps {
  users: UserQueries;
  /** Who a follow is (one person, one user: user-identity.ts). */
  identity: Pick<UserIdentity, 'recordFollow'>;
  loginHistory: LoginHistoryQueries;
  transaction: <T>(work: (trx: Knex.Transaction) => Promise<T>) => Promise<T>;
  /**
   * Ends everything that lets the user in without a new login (server-side
   * sessions, mini-program tokens), inside the unfollow's transaction.
   */
  endAllAccess: (userId: number, trx: Knex.Transaction) => Promise<void>;
  /** Wakes the polls waiting for a scene: the local hub, and other instances through Redis when configured. */
  announceScan: (scene: string) => void;
  scenes: SceneIssuer;
  /**
   * Asks WeChat for a newcomer's unionid (cgi-bin/user/info), so that the
   * same person coming from the mini-program is the same user.
   */
  /** user/info for a newcomer's unionid; never throws (login/identity/unionid-lookup.ts). */
  fetchUnionid?: UnionidLookup;
  /**
   * Whether a newcomer's unionid must be known before their scan is recorded
   * (true when a mini-program is configured; see scan-recording.ts). Defaults to true.
   */
  linkUnionidBeforeRecording?: boolean;
  /** Asks for the unionids of users a scan created, after the wake, many per call (unionid-backfill.ts). */
  unionidBackfill?: Pick<UnionidBackfill, 'add' | 'settled'>;
  /** Present when LOGIN_CONFIRM is on: a scan may have to be confirmed in WeChat before it logs in. */
  confirmation?: LoginConfirmation;
  logger?: { warn(message: string, fields?: Record<string, unknown>): void };
  metrics?: Metrics;
  now?: () => Date;
}

export interface LoginMeta {
  ip: string;
  userAgent: string;
}

export type SceneState =
  | { status: 'pending' }
  /** `ownerHash`: with LOGIN_CONFIRM, the browser session that may complete it (login-confirmation.ts). */
  | { status: 'scanned'; user: User; ownerHash?: string | null }
  /** Scanned, waiting for the scanner to confirm in WeChat (LOGIN_CONFIRM). */
  | { status: 'awaiting'; number: string }
  | { status: 'denied' };

/**
 * What a scan, a follow or an unfollow does, and how a poll finds out. The
 * database is the source of truth; announcing a scan only says "look again now".
 */
export function createLoginService(deps: LoginServiceDeps) {
  const now = deps.now ?? (() => new Date());
  const sceneLookup = createSceneLookup(deps.users);
  const scans = createScanRecording({
    users: deps.users,
    unionidOf,
    linkBeforeRecording: deps.linkUnionidBeforeRecording ?? true,
    now,
  });

  /** Handles one callback event and returns the text to reply with (or `success`). */
  async function handleWechatEvent(message: WechatMessage): Promise<string> {
    switch (message.kind) {
      case 'scan':
        return handleScan(message.openid, message.scene, message.event);
      case 'subscribe':
        await deps.identity.recordFollow(message.openid, await unionidOfNewcomer(message.openid));
        return emptyReply;
      case 'unsubscribe':
        await handleUnfollow(message.openid);
        return emptyReply;
      default:
        return emptyReply;
    }
  }

  async function handleScan(openid: string, scene: string, event: 'SCAN' | 'subscribe'): Promise<string> {
    const facts = deps.scenes.readScene(scene);
    // A scene we never issued, or one past its lifetime, changes nothing.
    if (facts === undefined || facts.expiresAt < now().getTime()) {
      deps.metrics?.scans.inc({ outcome: 'scene_invalid' });
      return wechatTexts[facts?.lang ?? 'zh'].sceneInvalid;
    }
    // The page that showed the code chose the language of what the scanner reads.
    const texts = wechatTexts[facts.lang];
    // With LOGIN_CONFIRM, the scene is claimed (and confirmation asked for) before the scan is recorded.
    const claim = deps.confirmation ? await deps.confirmation.claimScan(openid, scene) : undefined;
    if (claim?.kind === 'refused') {
      deps.metrics?.scans.inc({ outcome: 'scene_invalid' });
      return texts.sceneInvalid;
    }
    const result = await scans.record(openid, scene, event);
    if (result.outcome === 'scene_taken') {
      deps.metrics?.scans.inc({ outcome: 'scene_taken' });
      return texts.sceneInvalid;
    }
    deps.metrics?.scans.inc({ outcome: claim?.kind === 'confirm' ? 'confirm' : result.hasPhone ? 'logged_in' : 'bind' });
    deps.announceScan(scene);
    // The browser is awake; a user created just now gets their unionid from WeChat after that.
    if ('created' in result) deps.unionidBackfill?.add(openid);
    if (claim?.kind === 'confirm') return texts.confirm(claim.device, claim.link);
    return result.hasPhone ? texts.loggedIn : texts.bindPhone;
  }

  /**
   * Unfollowing ends the relationship: the phone is unbound, every session and
   * mini-program token ends, and so does every pending binding (the session
   * version moves on). All or nothing, and a retried delivery changes nothing more.
   */
  async function handleUnfollow(openid: string): Promise<void> {
    await deps.transaction(async (trx) => {
      const user = await deps.users.findUserByOpenid(openid, trx);
      if (!user) return;
      await deps.users.recordUnfollow(user.id, now(), trx);
      await deps.endAllAccess(user.id, trx);
    });
  }

  /**
   * Only for an openid we have never seen, or one whose unionid we still lack
   * (a follow is when user/info starts answering it, and learning it may join
   * this user with their mini-program twin): others cost no API call.
   * If WeChat cannot be asked, the follow goes on without the unionid.
   */
  async function unionidOfNewcomer(openid: string): Promise<string | undefined> {
    return (await deps.users.findUserByOpenid(openid))?.unionid ? undefined : unionidOf(openid);
  }

  async function unionidOf(openid: string): Promise<string | undefined> {
    return deps.fetchUnionid?.(openid);
  }


  /** Who, if anyone, has scanned `scene` (lookups of the same tick share one query). */
  async function findSceneState(scene: string): Promise<SceneState> {
    if (deps.confirmation) return deps.confirmation.findSceneState(scene);
    const user = await sceneLookup.findUserByScene(scene);
    return user ? { status: 'scanned', user } : { status: 'pending' };
  }

  /**
   * Records a completed login. With a scene, at most one login ever uses it:
   * the loser of a race gets false and must not log in. Runs in `trx` when
   * given (the caller's transaction), otherwise in one of its own.
   */
  async function recordLogin(
    user: User,
    method: LoginMethod,
    meta: LoginMeta,
    { scene, trx }: { scene?: string; trx?: Knex.Transaction } = {},
  ): Promise<boolean> {
    if (!trx) return deps.transaction((own) => recordLogin(user, method, meta, { scene, trx: own }));
    const at = now();
    const inserted = await deps.loginHistory.insertLogin({ userId: user.id, method, scene, ...meta }, at, trx);
    // A QR login's scan set last_login_time already; the other methods set it here.
    if (inserted && !scene) await deps.users.touchLastLogin(user.id, at, trx);
    if (inserted) deps.metrics?.logins.inc({ method });
    return inserted;
  }

  /** Waits for the unionids still being asked for (shutdown, tests). */
  async function settled(): Promise<void> {
    await deps.unionidBackfill?.settled();
  }

  return { handleWechatEvent, findSceneState, recordLogin, settled };
}

export type LoginService = ReturnType<typeof createLoginService>;
