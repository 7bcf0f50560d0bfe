/**
 * Returns `next` when it is a path on this site, and undefined otherwise.
 * Refuses `//evil.example`, `/\evil.example`, schemes and control characters:
 * the usual open-redirect tricks.
 */
export function safeNextPath(next: unknown): string | undefined {
  if (typeof next !== 'string' || next.length === 0 || next.length > 512) return undefined;
  if (!next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return undefined;
  if (/[\u0000-\u001f\u007f\\]/.test(next)) return undefined;
  return next;
}

/**
 * The request's own path, made safe to print as a link on this site. A path
 * such as `//evil.example/x` or `/\evil.example/x` would be read by browsers
 * as another host (a protocol-relative URL; browsers treat `\` as `/`), so
 * every leading run of slashes and backslashes becomes one `/`.
 */
export function sameOriginPath(path: string): string {
  return path.replace(/^[/\\]+/, '/').replace(/^(?!\/)/, '/');
}
