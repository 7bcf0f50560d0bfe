import { isIP } from 'node:net';
import type { AppMiddleware } from './context.js';

/**
 * The client's address, as a fact rather than the client's word.
 *
 * With `trustedProxies` = 0 it is the socket's address: X-Forwarded-For is
 * text anyone can send. Behind N proxies, each appends the address it saw,
 * so the Nth entry counted from the right is the one the outermost proxy of
 * ours saw; everything left of it came from the client and is ignored. When
 * the header has fewer entries than that, or the entry is not an IP address,
 * the request did not come through our proxies: the socket's address it is.
 */
export function clientIpOf(forwardedFor: string | undefined, socketAddress: string | undefined, trustedProxies: number): string {
  const socket = normalizeIp(socketAddress ?? '') ?? 'unknown';
  if (trustedProxies === 0 || !forwardedFor) return socket;
  const entries = forwardedFor.split(',').map((entry) => entry.trim());
  if (entries.length < trustedProxies) return socket;
  return normalizeIp(entries[entries.length - trustedProxies]) ?? socket;
}

/** An IP address in its plain form (IPv4-mapped IPv6 as IPv4), or undefined for anything that is not one. */
export function normalizeIp(value: string): string | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(value);
  const address = mapped ? mapped[1] : value;
  return isIP(address) ? address.toLowerCase() : undefined;
}

/** Sets `ctx.ip` once per request, so that every limit, log line and history row uses the same validated address. */
export function clientIpMiddleware(trustedProxies: number): AppMiddleware {
  return async (ctx, next) => {
    ctx.request.ip = clientIpOf(ctx.get('x-forwarded-for') || undefined, ctx.req.socket.remoteAddress, trustedProxies);
    return next();
  };
}
