import type { AppContext } from './context.js';

/**
 * The parsed body (form or JSON) of a route that has the body parser, as a
 * plain object: empty when there is none, or when it is not an object.
 */
export function formOf(ctx: AppContext): Record<string, unknown> {
  const body = (ctx.request as { body?: unknown }).body;
  return body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
}
