/**
 * The kinds of environment variable, as zod schemas for `src/config.ts`.
 * Unset, empty and blank all mean unset; spaces around a value are dropped.
 * A bad value is reported on its variable (the message says what is wanted;
 * the variable's name goes in front) and parsing goes on with a stand-in (a
 * number's or a choice's default; a text as given, so that it still counts
 * as set): the rules across variables still run, and one start names every
 * problem, each once.
 */

import { z } from 'zod';

/** Any text; undefined when unset. */
export const text = z.string().optional().transform((value) => value?.trim() || undefined);

/** Adds a problem that lets parsing go on. The issue keeps no input: it may be a secret. */
export function report(context: { issues: z.core.$ZodRawIssue[] }, message: string): void {
  context.issues.push({ code: 'custom', message, input: undefined, continue: true });
}

/** A whole number from `min` to `max`; `wanted` replaces the usual "must be a whole number from … to …". */
export function integer(fallback: number, min: number, max: number, wanted = `must be a whole number from ${min} to ${max}`) {
  return text.transform((value, context) => {
    if (value === undefined) return fallback;
    if (/^\d+$/.test(value) && Number(value) >= min && Number(value) <= max) return Number(value);
    report(context, `${wanted} (got "${value}")`);
    return fallback;
  });
}

/** One of `allowed`, in any letter case. */
export function choice<const T extends string>(fallback: T, allowed: readonly T[]) {
  return text.transform((value, context): T => {
    const lower = value?.toLowerCase();
    if (lower === undefined) return fallback;
    if (allowed.includes(lower as T)) return lower as T;
    report(context, `must be one of ${allowed.join(', ')} (got "${lower}")`);
    return fallback;
  });
}

/** A text that `pattern` accepts (unset: `fallback`). For a secret, `wanted` is a plain text that never quotes it. */
export function matching<F extends string | undefined = undefined>(pattern: RegExp, wanted: string | ((value: string) => string), fallback?: F) {
  return text.transform((value, context): string | F => {
    if (value === undefined) return fallback as F;
    if (!pattern.test(value)) report(context, typeof wanted === 'string' ? wanted : wanted(value));
    return value;
  });
}

/** An optional http:// or https:// address. */
export const address = matching(/^https?:\/\/[^\s/]+/, (value) => `must be an http:// or https:// address (got "${value}")`);

/** An address that paths are appended to: its trailing slashes are dropped. */
export const base = address.transform((value) => value?.replace(/\/+$/, ''));
