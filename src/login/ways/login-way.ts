import type { LoginMethod } from '../../db/login-history.js';

/** The names of LOGIN_METHODS (CONTRACT.md "Ways to log in"). */
export type WayName = 'oa-qr' | 'oa-code' | 'miniprogram-code' | 'open-qr';

/**
 * A way in: what the login page shows for a scene, so that a person in
 * WeChat can claim it. Every way shares what follows the claim: the scene's
 * state (scan/scene-states.ts), the poll, the confirmation and the session
 * (scan/scan-to-login.ts). A way only makes the thing to show, once per scene
 * (it may cost a WeChat call), and draws it again for free on a reload.
 */
export interface LoginWay<Shown = unknown> {
  name: WayName;
  /** How its logins are recorded in the history. */
  method: LoginMethod;
  /**
   * Makes what the page shows for a new scene (`shown`, kept in the cookie
   * session with it), and, for a code the person sends, the hash the scene's
   * record keeps to find it.
   */
  present(scene: string, context: { ip: string }): Promise<{ shown: Shown; codeHash?: string }>;
  /** The login page's variables for what `present` made. */
  view(shown: Shown): Promise<Record<string, unknown>>;
}
