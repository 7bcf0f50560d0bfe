import * as oidc from 'openid-client';
import { createAdminQueries } from '../../src/db/admin-queries.js';
import { createEndSessionLinks } from '../../src/login/session/end-session-links.js';
import { BrowserClient, csrfOf } from './browser-client.js';
import { openInWechat } from './confirm-flow.js';
import { openLoginPage, phoneFor, poll } from './login-flow.js';
import { pathOf } from './oidc-flow.js';
import type { TestServer } from './server.js';

/** A person signed in here, in `browser`, through an application (`config`, its ID token). */
export interface SignedInThroughApplication {
  openid: string;
  server: TestServer;
  browser: BrowserClient;
  userId: number;
  sessionId: number;
  config: oidc.Configuration;
  idToken: string;
}

/** A second browser of the same person, signed in by scanning (the phone is bound, so at once). */
async function secondBrowser(server: TestServer, openid: string): Promise<BrowserClient> {
  const { browser, scene } = await openLoginPage(server);
  const pending = poll(browser, scene);
  await phoneFor(server).scan(openid, scene, 'ticket', true);
  if ((await pending).body.status !== 'success') throw new Error('the second browser did not sign in');
  return browser;
}

/**
 * Every way a session here ends (CONTRACT.md "OpenID Connect"), each done as
 * the person, another device, WeChat, the operator or time would do it. The
 * two expiries are found by the app's sweep (handle.jobs.endExpiredSessions).
 */
export const sessionEndings: Record<string, (signed: SignedInThroughApplication) => Promise<void>> = {
  'logging out': async ({ browser }) => {
    const csrf = csrfOf(await (await browser.get('/profile')).text());
    if ((await browser.postForm('/logout', { _csrf: csrf })).status !== 303) throw new Error('logout failed');
  },
  '"log out other devices" on another browser': async ({ server, openid }) => {
    const other = await secondBrowser(server, openid);
    const csrf = csrfOf(await (await other.get('/profile')).text());
    if ((await other.postForm('/sessions/revoke', { _csrf: csrf, all: 'others' })).status !== 303) throw new Error('revoke failed');
  },
  unfollowing: async ({ server, openid }) => {
    await phoneFor(server).unfollow(openid);
  },
  '"end this login" from the WeChat notice': async ({ server, openid, userId, sessionId }) => {
    const links = createEndSessionLinks({ keys: server.config.keys.link, publicUrl: server.url, lifetimeSeconds: 3600 });
    const opened = await openInWechat(server, openid, links.linkFor({ id: sessionId, userId }).slice(server.url.length));
    const token = opened.html.match(/name="t" value="([^"]+)"/)![1];
    if ((await opened.phone.postForm('/sessions/end', { _csrf: csrfOf(opened.html), t: token })).status !== 200) throw new Error('end link failed');
  },
  "the admin tool's end-sessions": async ({ server, userId }) => {
    await createAdminQueries(server.knex).endSessions([userId], new Date());
  },
  'logging out from the application (RP-initiated)': async ({ browser, config, idToken }) => {
    const end = oidc.buildEndSessionUrl(config, { id_token_hint: idToken });
    const html = await (await browser.get(pathOf(end))).text();
    const action = html.match(/<form id="op.logoutForm" method="post" action="([^"]+)"/)![1];
    const xsrf = html.match(/name="xsrf" value="([^"]+)"/)![1];
    if ((await browser.postForm(pathOf(action), { xsrf, logout: 'yes' })).status !== 303) throw new Error('RP-initiated logout failed');
  },
  'idleness past SESSION_IDLE_TIMEOUT_SECONDS': async ({ server, sessionId }) => {
    const idle = new Date(server.now() - (server.config.sessions.idleTimeoutSeconds + 60) * 1000);
    await server.knex('user_sessions').where({ id: sessionId }).update({ last_seen_at: idle });
    await server.handle.jobs.endExpiredSessions();
  },
  'the absolute lifetime': async ({ server, sessionId }) => {
    await server.knex('user_sessions').where({ id: sessionId }).update({ expires_at: new Date(server.now() - 1000) });
    await server.handle.jobs.endExpiredSessions();
  },
};
