import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { loginMethods } from '../../src/db/login-history.js';
import { catalogues, placeholdersOf, translator, type MessageKey } from '../../src/messages/catalogue.js';
import { csrfOf } from '../helpers/browser-client.js';
import { openLoginPage, phoneFor, poll } from '../helpers/login-flow.js';
import { plainScanLogin, startServer } from '../helpers/server.js';

/** Every `'code'` given to an error class in src/: `new …Error('message', 'code')` and `new AppError(status, 'code', …)`. */
function errorCodesInSource(directory: string): Set<string> {
  const codes = new Set<string>();
  const patterns = [/new \w*Error\(\s*(?:'[^']*'|`[^`]*`)\s*,\s*'([a-z_]+)'/g, /new AppError\(\s*\d+,\s*'([a-z_]+)'/g];
  for (const name of readdirSync(directory, { recursive: true }) as string[]) {
    if (!name.endsWith('.ts')) continue;
    const source = readFileSync(path.join(directory, name), 'utf8');
    for (const pattern of patterns) for (const match of source.matchAll(pattern)) codes.add(match[1]);
  }
  return codes;
}

test('every language has every message, none empty, with the same placeholders', (t) => {
  const keys = Object.keys(catalogues.zh) as MessageKey[];
  t.deepEqual(Object.keys(catalogues.en).sort(), [...keys].sort());
  for (const key of keys) {
    t.true(catalogues.zh[key].trim().length > 0, `zh ${key}`);
    t.true(catalogues.en[key].trim().length > 0, `en ${key}`);
    t.deepEqual(placeholdersOf(catalogues.en[key]), placeholdersOf(catalogues.zh[key]), key);
  }
});

test('every error code thrown in src/ has a message in both languages', (t) => {
  const codes = [...errorCodesInSource(path.resolve(__dirname, '../../src'))];
  t.true(codes.length > 20, 'the walk found the codes');
  for (const code of codes) {
    t.true(code in catalogues.zh && code in catalogues.en, `${code} has messages`);
  }
});

test('every way a login comes in has its name on the profile, in both languages', (t) => {
  // The profile shows t('method_' + method): a missing one showed "method_open" as it is.
  for (const method of loginMethods) {
    for (const [lang, catalogue] of Object.entries(catalogues)) t.truthy(catalogue[`method_${method}` as MessageKey], `${lang}: method_${method}`);
  }
});

test('placeholders are filled from the values given', (t) => {
  t.is(translator('zh')('sms_too_soon', { seconds: 120 }), '发送太频繁，请 120 秒后再试。');
  t.is(translator('en')('codeSent', { minutes: 5 }), 'Code sent. It is valid for 5 minutes.');
});

test('pages show the configured numbers, and a code never shows bare', async (t) => {
  const server = await startServer(t, { env: { ...plainScanLogin, SMS_RESEND_INTERVAL_SECONDS: '120' } });
  const { browser, scene } = await openLoginPage(server);
  await phoneFor(server).scan('o_words', scene, 'ticket', false);
  await poll(browser, scene);
  const csrf = csrfOf(await (await browser.get('/bind')).text());
  t.regex(await (await browser.postForm('/bind/code', { phone: '13800000001', _csrf: csrf })).text(), /验证码已发送，5 分钟内有效/);
  const tooSoon = await browser.postForm('/bind/code', { phone: '13800000001', _csrf: csrf });
  t.is(tooSoon.status, 429);
  t.regex(await tooSoon.text(), /请 120 秒后再试/);
  // Another session's scene on the no-JavaScript status page: a message, not the word "forbidden".
  const stranger = await openLoginPage(server);
  const foreign = await stranger.browser.get(`/login/status?scene=${encodeURIComponent(scene)}`);
  t.is(foreign.status, 403);
  const html = await foreign.text();
  t.regex(html, /没有权限/);
  t.notRegex(html, />forbidden</);
});
