import type { Knex } from 'knex';
import type { Config } from '../../src/config.js';
import { createLoginSceneQueries } from '../../src/db/login-scenes.js';
import type { Lang } from '../../src/messages/catalogue.js';
import { createSceneIssuer } from '../../src/login/scan/scene-issuer.js';
import { hashDeviceId } from '../../src/login/session/device-cookie.js';

/**
 * A scene as GET /login issues it, for tests of the callback alone: signed with
 * the server's scene keys and recorded in login_scenes (the one record of a
 * scene's state; a scan of a scene without one is refused). No browser session
 * owns it, so any session may complete it.
 */
export async function recordedScene(server: { config: Config; knex: Knex }, expiresAt = Date.now() + 300_000, lang: Lang = 'zh'): Promise<string> {
  const scene = createSceneIssuer(server.config.keys.scene).issueScene(expiresAt, lang);
  await createLoginSceneQueries(server.knex).insertScene({
    scene,
    deviceHash: hashDeviceId('test-browser'),
    userAgent: 'test',
    ip: '127.0.0.1',
    createdAt: Date.now(),
    expiresAt,
    ownerHash: null,
  });
  return scene;
}
