import { browserTest, launchChromium } from '../helpers/chromium.js';
import { captureLogs } from '../helpers/log-capture.js';
import { watchPageProblems } from '../helpers/page-problems.js';
import { plainScanLogin, startServer } from '../helpers/server.js';

/**
 * Issue 26, finding 4, in a real browser: a page whose address carries a code
 * (the OAuth return) loads its stylesheet and favicon with that whole address
 * in Referer. Someone who could read the access log redeemed such a code.
 */
browserTest('the stylesheet and favicon requests of a page with a code in its address leave no code in the log', async (t) => {
  const { logger, raw, lines } = captureLogs('info');
  const server = await startServer(t, { env: plainScanLogin, logger });
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const page = await (await browser.newContext()).newPage();
  const problems = watchPageProblems(page);
  problems.expect(400, '/auth/wechat/callback');
  const code = 'oauth-code-seen-by-chromium-8c8c8c';
  await page.goto(`${server.url}/auth/wechat/callback?code=${code}&state=state-seen-by-chromium`);
  await page.waitForLoadState('networkidle');
  const stylesheet = lines().find((line) => line.path === '/static/css/app.css');
  t.truthy(stylesheet, 'the stylesheet was requested');
  t.is((stylesheet!.headers as { referer?: string }).referer, `${server.url}/auth/wechat/callback?[redacted]`);
  t.false(raw().includes(code));
  t.false(raw().includes('state-seen-by-chromium'));
  problems.assertClean('OAuth return page');
});
