import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';

// Read once: injected with page.evaluate, so the page's CSP (script-src 'self') needs no loosening.
// The context must still be created with `bypassCSP: true`, because axe itself evaluates code.
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** axe's impact levels that fail a page. Milder ones fail only when they are about landmarks (below). */
const failingImpacts = new Set(['serious', 'critical']);

/** Content outside landmarks (`region`, moderate in axe) and broken landmarks fail too: every page was fixed for them. */
const isLandmarkRule = (id: string) => id === 'region' || id.startsWith('landmark-');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  helpUrl: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

/**
 * Runs axe-core (WCAG 2 A/AA and best practices) on the page as it is now and
 * returns every violation, whatever its impact.
 */
export async function findAccessibilityViolations(page: Page): Promise<AxeViolation[]> {
  const hasAxe = await page.evaluate(() => typeof (window as unknown as { axe?: unknown }).axe === 'object');
  if (!hasAxe) await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
      resultTypes: ['violations'],
    });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target.map(String), failureSummary: n.failureSummary })),
    }));
  });
}

/** One readable line per failing element: `[serious] color-contrast: Elements must meet ... at .hint (fix: ...)`. */
export function describeViolations(violations: AxeViolation[]): string {
  return violations
    .flatMap((v) =>
      v.nodes.map((n) => `  [${v.impact}] ${v.id}: ${v.help}\n      at ${n.target.join(' ')}\n      ${(n.failureSummary ?? '').replaceAll('\n', ' ')}`),
    )
    .join('\n');
}

/**
 * Fails (throws) with a list of the serious and critical violations on the
 * page, and of any landmark violation; `label` names the page, language and
 * width in the message. Otherwise returns all violations (the milder ones), so
 * a test may log them.
 */
export async function assertAccessible(page: Page, label: string): Promise<AxeViolation[]> {
  const violations = await findAccessibilityViolations(page);
  const failing = violations.filter((v) => failingImpacts.has(v.impact ?? '') || isLandmarkRule(v.id));
  if (failing.length > 0) {
    const count = failing.reduce((sum, v) => sum + v.nodes.length, 0);
    throw new Error(`${label}: ${count} serious, critical or landmark accessibility problem(s) (axe-core):\n${describeViolations(failing)}`);
  }
  return violations;
}
