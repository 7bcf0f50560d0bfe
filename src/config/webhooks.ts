import { createHash } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import { readSecretJson } from './secret-json.js';

/** The events a webhook may receive (CONTRACT.md "Webhooks"). */
export const webhookEventTypes = ['user.created', 'user.login', 'user.phone_bound', 'user.unfollowed', 'session.ended', 'login.denied'] as const;
export type WebhookEventType = (typeof webhookEventTypes)[number];

/** One receiver of webhooks. */
export interface WebhookConfig {
  /** The outbox's name for it: a hash of its URL (a URL may be longer than the column, and may hold a secret). */
  id: string;
  url: string;
  /** The Standard Webhooks key: the decoded bytes of `whsec_<base64>`. */
  key: Buffer;
  events: WebhookEventType[];
}

/**
 * Reads WEBHOOKS (a JSON array of {"url", "secret", "events"}) or
 * WEBHOOKS_FILE (a file holding one), pushing one message per problem. No
 * message quotes the input: it holds secrets.
 */
export function readWebhooks(env: Record<string, string | undefined>, problems: string[]): WebhookConfig[] {
  const read = readSecretJson(env, 'WEBHOOKS', 'an array of {"url", "secret", "events"}', problems);
  if (!read) return [];
  const { parsed, from: name } = read;
  if (!Array.isArray(parsed)) {
    problems.push(`${name}: expected a JSON array of {"url", "secret", "events"}`);
    return [];
  }
  const production = env.NODE_ENV?.toLowerCase() === 'production';
  const hooks: WebhookConfig[] = [];
  parsed.forEach((entry: unknown, index) => {
    const say = (message: string) => problems.push(`${name}: hook #${index + 1} ${message}`);
    const before = problems.length;
    const raw = (typeof entry === 'object' && entry !== null && !Array.isArray(entry) ? entry : {}) as Record<string, unknown>;
    const url = typeof raw.url === 'string' ? parseUrl(raw.url) : undefined;
    if (!url) say('needs a url: an http(s) address');
    // Outside production an http:// or loopback receiver may be tried on one machine (CONTRACT.md).
    else if (production && url.protocol !== 'https:') say('needs an https:// url when NODE_ENV=production');
    else if (production && isLocalHost(url.hostname)) say('may not be a loopback or private address when NODE_ENV=production');
    const key = typeof raw.secret === 'string' ? secretKey(raw.secret) : undefined;
    if (!key) say('needs a secret in the Standard Webhooks form: whsec_ followed by base64 of 24 to 64 random bytes');
    const events = raw.events === undefined ? [...webhookEventTypes] : raw.events;
    const eventsOk = Array.isArray(events) && events.length > 0 && events.every((event) => (webhookEventTypes as readonly unknown[]).includes(event));
    if (!eventsOk) say(`has bad events: a non-empty array of ${webhookEventTypes.join(', ')}`);
    if (problems.length > before) return;
    const id = `hook_${createHash('sha256').update(url!.href).digest('hex').slice(0, 16)}`;
    if (hooks.some((hook) => hook.id === id)) return say('is listed twice');
    hooks.push({ id, url: url!.href, key: key!, events: [...new Set(events as WebhookEventType[])] });
  });
  return hooks;
}

/** Addresses of this machine or its private network, written as such (names that resolve to them are not looked up). */
const localAddresses = new BlockList();
localAddresses.addSubnet('127.0.0.0', 8);
localAddresses.addSubnet('10.0.0.0', 8);
localAddresses.addSubnet('172.16.0.0', 12);
localAddresses.addSubnet('192.168.0.0', 16);
localAddresses.addSubnet('169.254.0.0', 16);
localAddresses.addSubnet('0.0.0.0', 8);
localAddresses.addSubnet('::1', 128, 'ipv6');
localAddresses.addSubnet('fc00::', 7, 'ipv6');
localAddresses.addSubnet('fe80::', 10, 'ipv6');

function isLocalHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const family = isIP(host);
  return family !== 0 && localAddresses.check(host, family === 6 ? 'ipv6' : 'ipv4');
}

function parseUrl(value: string): URL | undefined {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** `whsec_` + base64 of the key's bytes, as the Standard Webhooks libraries generate and read it. */
function secretKey(secret: string): Buffer | undefined {
  if (!secret.startsWith('whsec_')) return undefined;
  const encoded = secret.slice('whsec_'.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return undefined;
  const key = Buffer.from(encoded, 'base64');
  return key.length >= 24 && key.length <= 64 ? key : undefined;
}
