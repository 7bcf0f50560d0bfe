import type http from 'node:http';

/**
 * The HTTP server's timeouts, chosen rather than inherited (Node's defaults
 * let one client hold a connection with unfinished headers for 60 s and a
 * dripped body for 300 s).
 *
 * - Headers must be complete within 10 s, and the whole request (headers and
 *   body) within 12 s. Node checks once a second, so a slow client is cut
 *   within 13 s on every route, with 408. Our bodies are small (forms and
 *   JSON up to 16 KiB, callbacks up to 64 KiB).
 * - These clocks stop once the request has been received: a long-poll held
 *   for LOGIN_POLL_TIMEOUT_MS (up to 120 s) is never cut by them, and the
 *   socket inactivity timeout stays off because a held poll is silent by design.
 * - An idle keep-alive connection stays open 90 s: longer than the idle
 *   timeouts of the load balancers in front of us (nginx `keepalive_timeout`
 *   60 s upstream default, Aliyun CLB 15 s by default and 60 s at most, Tencent
 *   CLB 75 s, AWS ALB 60 s), so the balancer always closes first and never
 *   sends a request down a connection we are closing (a 502). Behind a balancer
 *   with a longer idle timeout (Google Cloud: 600 s), raise it above that.
 */
export const serverTimeouts = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 12_000,
  keepAliveTimeoutMs: 90_000,
  /** How often Node looks for requests past headersTimeout or requestTimeout (its default is 30 s). */
  checkIntervalMs: 1_000,
} as const;

/**
 * Applies `serverTimeouts` to `server`. Call it before `listen`: Node reads
 * the checking interval when the server starts listening. main.ts and the
 * test servers both use it, so the tests see the production numbers.
 */
export function applyServerTimeouts(server: http.Server): void {
  if (server.listening) throw new Error('applyServerTimeouts must be called before listen()');
  server.headersTimeout = serverTimeouts.headersTimeoutMs;
  server.requestTimeout = serverTimeouts.requestTimeoutMs;
  server.keepAliveTimeout = serverTimeouts.keepAliveTimeoutMs;
  (server as http.Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = serverTimeouts.checkIntervalMs;
  server.setTimeout(0);
}
