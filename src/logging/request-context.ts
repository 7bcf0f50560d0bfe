import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** What every log line caused by one request shares. */
export interface RequestContext {
  requestId: string;
}

/**
 * The request being served, for whatever runs on its behalf. The factories
 * (login service, SMS sender, Redis client…) are built once at start with one
 * logger; this store lets that same logger stamp each line with the id of the
 * request that caused it, without threading `ctx` through every library.
 */
const storage = new AsyncLocalStorage<RequestContext>();

/** Runs `work` (and everything it awaits or schedules) as part of the request `context`. */
export function runInRequestContext<T>(context: RequestContext, work: () => T): T {
  return storage.run(context, work);
}

/** The id of the request being served, or undefined outside any request (start-up, timers). */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

/** README: an incoming id of up to 128 characters of [A-Za-z0-9._-] is kept. */
const acceptableRequestId = /^[A-Za-z0-9._-]{1,128}$/;

/** Keeps a well-formed incoming `X-Request-Id` (a proxy's, say); anything else gets a new random one. */
export function requestIdFrom(incoming: string | undefined): string {
  return incoming !== undefined && acceptableRequestId.test(incoming) ? incoming : randomUUID();
}
