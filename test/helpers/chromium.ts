import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { chromium, type Browser } from 'playwright-core';
import { startSharedServer, type StartOptions, type TestServer } from './server.js';

/** Debian's chromium (`.ci/run` installs it); CHROMIUM_PATH points elsewhere. */
export const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const hasChromium = existsSync(chromiumPath);
if (!hasChromium) console.warn(`\n  Browser tests SKIPPED: no chromium at ${chromiumPath} (.ci/run installs Debian's chromium)\n`);

/** Browser tests run one at a time in a file (they share one browser and one server), and skip without chromium. */
export const browserTest = hasChromium ? test.serial : test.serial.skip;

/** Headless, and quiet: no background traffic, nothing but the pages under test. */
const launchArgs = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: launchArgs });
}

/**
 * The browser and the server that a file's browser tests share: launched
 * before its first test, closed after its last. `ready` hands them over.
 */
export function shareChromiumAndServer(options: StartOptions, ready: (browser: Browser, server: TestServer) => void): void {
  let browser: Browser | undefined;
  let server: TestServer | undefined;
  test.before(async () => {
    if (!hasChromium) return;
    browser = await launchChromium();
    server = await startSharedServer(options);
    ready(browser, server);
  });
  test.after.always(async () => {
    await browser?.close();
    await server?.close();
  });
}

/** The two screens every page is checked at, and the two languages. */
export const widths = { phone: { width: 390, height: 844 }, desktop: { width: 1280, height: 800 } } as const;
export const languages = { zh: 'zh-CN', en: 'en-US' } as const;

/** Where the pages' screenshots go (git-ignored), made once per file that takes them. */
export const screenshots = path.resolve(__dirname, '../../screenshots');
export function makeScreenshotsFolder(): void {
  test.before(() => {
    if (hasChromium) mkdirSync(screenshots, { recursive: true });
  });
}
