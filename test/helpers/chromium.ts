import { existsSync } from 'node:fs';
import test from 'ava';
import { chromium, type Browser } from 'playwright-core';

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
