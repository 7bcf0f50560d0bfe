import NodeCache from 'node-cache';
import { ServiceUnavailableError } from '../../errors.js';
import type { RateLimiter } from '../../http/rate-limiter.js';
import { hashToken, randomToken } from '../../security/tokens.js';
import { unlimitedCodesPerMinute } from '../../wechat/constants.js';
import type { MiniProgramApi } from '../../wechat/mini-program-api.js';
import type { LoginWay } from './login-way.js';

export interface MiniProgramCodeDeps {
  api: Pick<MiniProgramApi, 'createUnlimitedCode'>;
  /** The mini-program page the code opens (MINIPROGRAM_LOGIN_PAGE), and which version (MINIPROGRAM_ENV_VERSION). */
  page: string;
  envVersion: 'release' | 'trial' | 'develop';
  /** Shared with the other instances through Redis: WeChat's per-minute cap is the mini-program's, not an instance's. */
  limiter: RateLimiter;
  /** How long a scene lives: its image is kept that long. */
  lifetimeSeconds: number;
  now?: () => number;
}

/** What the page keeps of a mini-program code: the short scene it carries (the image is cached here, not in the cookie). */
export interface MiniCodeShown {
  miniScene: string;
}

/** The most images kept at once; beyond, a reload fetches its image again. */
const maxCachedImages = 5000;

/**
 * `miniprogram-code` (the seeds' plan C): the page shows a mini-program code
 * (wxa/getwxacodeunlimit) that opens the login page of the mini-program with a
 * scene of 22 random characters naming this login (WeChat allows 32). The
 * mini-program sends that scene back with a wx.login code
 * (miniprogram/mini-code-scan.ts), which finds the login by the scene's hash,
 * as a code sent to the account does. The image is fetched once per scene and
 * kept for the scene's life, and WeChat's 5,000 a minute is counted here.
 */
export function createMiniProgramCodeWay(deps: MiniProgramCodeDeps): LoginWay<MiniCodeShown> {
  const now = deps.now ?? Date.now;
  const images = new NodeCache({ stdTTL: deps.lifetimeSeconds, checkperiod: 60, useClones: false, maxKeys: maxCachedImages });

  async function imageOf(miniScene: string): Promise<Buffer> {
    const cached = images.get<Buffer>(miniScene);
    if (cached) return cached;
    if (!(await deps.limiter.hit('wxacode', unlimitedCodesPerMinute, 60))) {
      throw new ServiceUnavailableError('the mini-program codes of this minute are used up', 'mini_code_busy');
    }
    const image = await deps.api.createUnlimitedCode(miniScene, deps.page, deps.envVersion);
    // Full: this one is not kept, and a reload of its page fetches it again.
    if (images.keys().length < maxCachedImages) images.set(miniScene, image);
    return image;
  }

  async function present() {
    const miniScene = randomToken(16);
    await imageOf(miniScene);
    return { shown: { miniScene }, codeHash: hashMiniScene(miniScene) };
  }

  /** The image while the scene lives; a dead scene's page shows none and costs WeChat nothing (only `present` may ask twice). */
  async function view(shown: MiniCodeShown & { expiresAt?: number }) {
    if ((shown.expiresAt ?? 0) <= now()) return { miniCodeGone: true, miniScene: shown.miniScene };
    // The scene is no secret from this page: the code it shows carries it.
    return { miniCodeSrc: `data:image/png;base64,${(await imageOf(shown.miniScene)).toString('base64')}`, miniScene: shown.miniScene };
  }

  return { name: 'miniprogram-code', method: 'miniprogram-code', present, view };
}

/** The scene a mini-program code carries: 22 base64url characters. */
export function isMiniScene(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9_-]{22}$/.test(value);
}

/** How a mini-program code's scene is stored: never the scene itself. */
export function hashMiniScene(miniScene: string): string {
  return hashToken(miniScene, 'mini-program scene');
}
