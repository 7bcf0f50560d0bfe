import type { Knex } from 'knex';
import type { LoginHistoryQueries, LoginMethod } from '../db/login-history.js';
import type { User, UserQueries } from '../db/users.js';
import type { WechatMessage } from '../wechat/messages.js';
import { createSceneLookup } from './scene-lookup.js';
import type { SceneIssuer } from './scenes.js';
import type { Metrics } from '../metrics/metrics.js';

/** The texts the scanner sees in WeChat, as passive replies. */
export const scanReplies = {
  loggedIn: '登录成功',
  bindPhone: '扫码成功！请回到网页上绑定手机号，完成登录。',
  sceneInvalid: '二维码已失效，请刷新网页后重新扫码。',
} as const;

/** The "nothing to say" answer WeChat expects. */
export const emptyReply = 'success';

export interface LoginServiceDeps {
  users: UserQueries;
  loginHistory: LoginHistoryQueries;
  transaction: <T>(work: (trx: Knex.Transaction) => Promise<T>) => Promise<T>;
  /** Wakes the polls waiting for a scene: the local hub, and other instances through Redis when configured. */
  announceScan: (scene: string) => void;
  scenes: SceneIssuer;
  /**
   * Asks WeChat for a newcomer's unionid (cgi-bin/user/info), so that the
   * same person coming from the mini-program is the same user.
   */
  fetchUnionid?: (openid: string) => Promise<string | undefined>;
  logger?: { warn(message: string, fields?: Record<string, unknown>): void };
  metrics?: Metrics;
  now?: () => Date;
}

export interface LoginMeta {
  ip: string;
  userAgent: string;
}

export type SceneState = { status: 'pending' } | { status: 'scanned'; user: User };

/**
 * What a scan, a follow or an unfollow does, and how a poll finds out. The
 * database is the source of truth; announcing a scan only says "look again now".
 */
export function createLoginService(deps: LoginServiceDeps) {
  const now = deps.now ?? (() => new Date());
  const sceneLookup = createSceneLookup(deps.users);

  /** Handles one callback event and returns the text to reply with (or `success`). */
  async function handleWechatEvent(message: WechatMessage): Promise<string> {
    switch (message.kind) {
      case 'scan':
        return handleScan(message.openid, message.scene);
      case 'subscribe':
        await deps.users.recordFollow(message.openid, now(), await unionidOfNewcomer(message.openid));
        return emptyReply;
      case 'unsubscribe':
        await deps.users.recordUnfollow(message.openid, now());
        return emptyReply;
      default:
        return emptyReply;
    }
  }

  async function handleScan(openid: string, scene: string): Promise<string> {
    const expiresAt = deps.scenes.readSceneExpiry(scene);
    // A scene we never issued, or one past its lifetime, changes nothing.
    if (expiresAt === undefined || expiresAt < now().getTime()) {
      deps.metrics?.scans.inc({ outcome: 'scene_invalid' });
      return scanReplies.sceneInvalid;
    }
    const result =
      (await deps.users.recordReturningScan(openid, scene, now())) ??
      (await deps.users.recordScan(openid, scene, now(), await unionidOf(openid)));
    if (result.outcome === 'scene_taken') {
      deps.metrics?.scans.inc({ outcome: 'scene_taken' });
      return scanReplies.sceneInvalid;
    }
    deps.metrics?.scans.inc({ outcome: result.hasPhone ? 'logged_in' : 'bind' });
    deps.announceScan(scene);
    return result.hasPhone ? scanReplies.loggedIn : scanReplies.bindPhone;
  }

  /**
   * Only for an openid we have never seen: a returning user costs no API call.
   * If WeChat cannot be asked, the login goes on without the unionid.
   */
  async function unionidOfNewcomer(openid: string): Promise<string | undefined> {
    return (await deps.users.findUserByOpenid(openid)) ? undefined : unionidOf(openid);
  }

  async function unionidOf(openid: string): Promise<string | undefined> {
    if (!deps.fetchUnionid) return undefined;
    try {
      return await deps.fetchUnionid(openid);
    } catch (error) {
      deps.logger?.warn('user/info failed; going on without unionid', { error: error instanceof Error ? error.message : String(error) });
      return undefined;
    }
  }

  /** Who, if anyone, has scanned `scene` (lookups of the same tick share one query). */
  async function findSceneState(scene: string): Promise<SceneState> {
    const user = await sceneLookup.findUserByScene(scene);
    return user ? { status: 'scanned', user } : { status: 'pending' };
  }

  /**
   * Records a completed login. With a scene, at most one login ever uses it:
   * the loser of a race gets false and must not log in.
   */
  async function recordLogin(user: User, method: LoginMethod, meta: LoginMeta, scene?: string): Promise<boolean> {
    const at = now();
    const login = { userId: user.id, method, scene, ...meta };
    // A QR login's scan set last_login_time already: the history row alone is one
    // autocommit INSERT, which keeps the poll's answer fast.
    const recorded = scene
      ? await deps.loginHistory.insertLogin(login, at)
      : // Otherwise one transaction: the history row and the last-login time land together (one commit).
        await deps.transaction(async (trx) => {
          const inserted = await deps.loginHistory.insertLogin(login, at, trx);
          if (inserted) await deps.users.touchLastLogin(user.id, at, trx);
          return inserted;
        });
    if (recorded) deps.metrics?.logins.inc({ method });
    return recorded;
  }

  return { handleWechatEvent, findSceneState, recordLogin };
}

export type LoginService = ReturnType<typeof createLoginService>;
