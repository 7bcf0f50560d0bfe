import type { Page } from 'playwright-core';

/**
 * Collects what a newcomer would see in the browser console while `page`
 * lives: console errors, uncaught exceptions, requests that failed, and
 * responses with a 4xx or 5xx status. Attach it before the first goto.
 */
export function watchPageProblems(page: Page) {
  const problems: string[] = [];
  // Some pages answer with a 4xx on purpose (a form error, the 404 page): the test names them.
  const expected = new Set<string>();
  const isExpected = (status: number, url: string) => expected.has(`${status} ${new URL(url).pathname}`);

  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    // Chromium echoes every 4xx/5xx as "Failed to load resource: ... status of 404 (Not Found)".
    const status = Number(/status of (\d{3})/.exec(message.text())?.[1]);
    const url = message.location().url;
    if (status && url && isExpected(status, url)) return;
    problems.push(`console error on ${page.url()}: ${message.text()}${url ? ` (${url})` : ''}`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught exception on ${page.url()}: ${error.message}`));
  page.on('requestfailed', (request) => {
    const reason = request.failure()?.errorText ?? 'failed';
    // Leaving a page aborts its held long-poll, background fetch or a favicon still loading: the browser's doing, not a fault.
    if (reason === 'net::ERR_ABORTED' && (request.resourceType() === 'fetch' || /\/favicon\.(svg|ico)$/.test(request.url()))) return;
    problems.push(`request failed: ${request.method()} ${request.url()} (${reason})`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400 && !isExpected(response.status(), response.url())) {
      problems.push(`HTTP ${response.status()} for ${response.request().method()} ${response.url()}`);
    }
  });

  return {
    /** Allows `status` for `pathname` (e.g. 404 for /nope), and the console line that echoes it. */
    expect(status: number, pathname: string) {
      expected.add(`${status} ${pathname}`);
    },
    /** Throws with every problem seen since the last call, then starts afresh. */
    assertClean(label: string) {
      const seen = problems.splice(0);
      if (seen.length > 0) throw new Error(`${label}: the browser reported ${seen.length} problem(s):\n  ${seen.join('\n  ')}`);
    },
  };
}

export type PageProblems = ReturnType<typeof watchPageProblems>;
