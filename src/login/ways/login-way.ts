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
  /** Makes what the page shows for a new scene; kept in the cookie session with the scene. */
  present(scene: string, context: { ip: string }): Promise<Shown>;
  /** The login page's variables for what `present` made. */
  view(shown: Shown): Promise<Record<string, unknown>>;
}
