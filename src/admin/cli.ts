import { normalizeMainlandPhone } from '../login/phone/phone.js';
import type { AdminLoginRow, AdminQueries, AdminUserRow, UserKey } from '../db/admin-queries.js';
import type { OutboxEntry, OutboxQueries } from '../db/outbox.js';

export const usage = `Usage: npm run admin -- <command> [options]

Commands:
  find-user --phone <number> | --openid <openid> | --unionid <unionid> | --id <user id>
      Shows the user (or users: a unionid may match an Official Account user and a mini-program one).
  unbind-phone --phone <number>
      Removes the phone number from the user who holds it. Their next login asks them to bind a phone again.
  end-sessions --phone <number> | --openid <openid> | --unionid <unionid> | --id <user id>
      Signs the user out everywhere: every browser session and every mini-program token ends at once.
      Each browser's next page says that an administrator ended its session.
  oidc-clients
      Lists the OpenID Connect applications configured (OIDC_CLIENTS), without their secrets.
  rotate-oidc-keys
      Makes a new signing key for ID tokens; the previous one stays published. Restart every instance afterwards.
  recent-logins [--limit <n>] [--phone … | --openid … | --unionid … | --id …]
      The newest logins (default 20, at most 1000), of everyone or of one user.
  grant-admin <phone|openid> | --phone … | --openid … | --unionid … | --id …
      Lets the user into the operator console (/admin), after a login confirmed on the phone.
  revoke-admin <phone|openid> | --phone … | --openid … | --unionid … | --id …
      Takes the console away from the user.
  webhooks [--limit <n>] [--resend <delivery id>]
      The webhook and logout-token deliveries that failed: still being retried, or given up after a day.
      --resend sends one again now (same webhook-id), whether given up or waiting for its next try.

Options:
  --json    print JSON instead of text
  --help    this help

The database is DATABASE_URL (the .env file in the repository root is read, whatever the current folder), as for the server.`;

export interface AdminIo {
  out: (text: string) => void;
  err: (text: string) => void;
  now?: () => Date;
  /** Who runs the tool, for the admin log ("cli:<user on this machine>"). */
  actor?: string;
}

/** What the OpenID Connect commands need: the configured clients and the key rotation (src/oidc/signing-keys.ts). */
export interface AdminOidc {
  clients: { client_id: string; client_name?: string; redirect_uris: string[]; post_logout_redirect_uris: string[] }[];
  rotateKeys(): Promise<{ kid: string; previousKid?: string; removedKids: string[] }>;
}

/** What the webhooks command needs of the outbox (src/db/outbox.ts). */
export type AdminOutbox = Pick<OutboxQueries, 'listFailures' | 'sendAgain'>;

/** One failed delivery, on one line: id, state, channel, target, attempts, the last error, and the event type for a webhook. */
function formatDelivery(entry: OutboxEntry): string {
  const type = (entry.payload as { type?: unknown } | null)?.type;
  const next = entry.state === 'pending' ? ` next ${new Date(entry.nextAttemptAtMs).toISOString()}` : '';
  return `${entry.id}  ${entry.state}  ${entry.channel}${typeof type === 'string' ? ` ${type}` : ''} → ${entry.target}  ${entry.attempts} attempt(s)${next}  ${entry.messageId}  ${entry.lastError ?? ''}`;
}

/** A mistake in the command line: the message, then a pointer to --help; exit code 2. */
class UsageError extends Error {}
/** The command is well-formed but cannot be done (an unknown user): exit code 1. */
class AdminError extends Error {}

const maxLoginsListed = 1000;

/**
 * Runs one admin command and returns the process exit code: 0 done, 1 the
 * command could not be done (an unknown user, say), 2 a usage mistake.
 */
export async function runAdmin(argv: string[], queries: AdminQueries, io: AdminIo, oidc?: AdminOidc, outbox?: AdminOutbox): Promise<number> {
  try {
    const { command, options } = parseArguments(argv);
    if (options.help !== undefined || command === 'help') {
      io.out(usage);
      return 0;
    }
    const json = options.json !== undefined;
    // Every change made here is in the admin log (/admin/log), by the operator's name on this machine.
    const log = (action: string, userIds: number[], detail: string) => queries.logAction(action, userIds, io.actor ?? 'command line', detail, io.now?.() ?? new Date());
    const print = (value: unknown, text: string) => io.out(json ? JSON.stringify(value, null, 2) : text);
    switch (command) {
      case 'find-user': {
        const key = userKeyOf(options, true)!;
        const users = await queries.findUsers(key);
        if (users.length === 0) throw new AdminError(`no user with ${describeKey(key)}`);
        print(users, users.map(formatUser).join('\n\n'));
        return 0;
      }
      case 'unbind-phone': {
        const phone = phoneOf(options.phone);
        if (!phone) throw new UsageError('unbind-phone needs --phone <number>');
        const holders = await queries.findUsers({ phone });
        if (!(await queries.unbindPhone(phone, io.now?.() ?? new Date()))) throw new AdminError(`no user with phone ${phone}`);
        await log('unbind-phone', holders.map((user) => user.id), phone);
        print({ unbound: phone }, `unbound phone ${phone}`);
        return 0;
      }
      case 'end-sessions': {
        const key = userKeyOf(options, true)!;
        const users = await queries.findUsers(key);
        if (users.length === 0) throw new AdminError(`no user with ${describeKey(key)}`);
        const ended = await queries.endSessions(users.map((user) => user.id), io.now?.() ?? new Date());
        await log('end-sessions', users.map((user) => user.id), `${ended.sessions} session(s)`);
        print(ended, `ended ${ended.sessions} session(s) and ${ended.tokens} mini-program token(s)`);
        return 0;
      }
      case 'oidc-clients': {
        const clients = (oidc?.clients ?? []).map(({ client_id, client_name, redirect_uris, post_logout_redirect_uris }) => ({
          client_id,
          client_name,
          redirect_uris,
          post_logout_redirect_uris,
        }));
        const text = clients.map((client) => `${client.client_id}${client.client_name ? ` (${client.client_name})` : ''}\n  redirect: ${client.redirect_uris.join(' ')}`);
        print(clients, text.length === 0 ? 'no OpenID Connect clients configured' : text.join('\n'));
        return 0;
      }
      case 'rotate-oidc-keys': {
        if (!oidc) throw new AdminError('the OpenID Provider is not configured (OIDC_CLIENTS)');
        const rotated = await oidc.rotateKeys();
        print(rotated, `new signing key ${rotated.kid}${rotated.previousKid ? `; ${rotated.previousKid} stays published` : ''}; restart every instance`);
        return 0;
      }
      case 'recent-logins': {
        const limit = limitOf(options.limit);
        const key = userKeyOf(options, false);
        let userIds: number[] | undefined;
        if (key) {
          userIds = (await queries.findUsers(key)).map((user) => user.id);
          if (userIds.length === 0) throw new AdminError(`no user with ${describeKey(key)}`);
        }
        const logins = await queries.listRecentLogins(limit, userIds);
        print(logins, logins.length === 0 ? 'no logins' : logins.map(formatLogin).join('\n'));
        return 0;
      }
      case 'grant-admin':
      case 'revoke-admin': {
        const key = options.target !== undefined ? targetKeyOf(options.target) : userKeyOf(options, true)!;
        const users = await queries.findUsers(key);
        if (users.length === 0) throw new AdminError(`no user with ${describeKey(key)}`);
        const grant = command === 'grant-admin';
        const changed = await queries.setAdmin(users.map((user) => user.id), grant, io.now?.() ?? new Date());
        if (changed > 0) await log(command, users.map((user) => user.id), '');
        const ids = users.map((user) => user.id).join(', ');
        print({ userIds: users.map((user) => user.id), admin: grant, changed }, `${grant ? 'admin' : 'not an admin'} now: user ${ids}${changed === 0 ? ' (already)' : ''}`);
        return 0;
      }
      case 'webhooks': {
        if (!outbox) throw new AdminError('the outbox is not available');
        const at = (io.now?.() ?? new Date()).getTime();
        if (options.resend !== undefined) {
          if (!/^\d{1,15}$/.test(options.resend)) throw new UsageError('--resend needs a delivery id (a number, from the list)');
          if (!(await outbox.sendAgain(Number(options.resend), at))) throw new AdminError(`no failed or waiting delivery ${options.resend}`);
          print({ resent: Number(options.resend) }, `delivery ${options.resend} will be sent again within a second by a running server`);
          return 0;
        }
        const failures = await outbox.listFailures(limitOf(options.limit));
        print(failures, failures.length === 0 ? 'no failed deliveries' : failures.map(formatDelivery).join('\n'));
        return 0;
      }
      case undefined:
        throw new UsageError('no command given');
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`${error.message}\n\n${usage}`);
      return 2;
    }
    if (error instanceof AdminError) {
      io.err(error.message);
      return 1;
    }
    io.err(`failed: ${databaseHint(error)}`);
    return 1;
  }
}

const flagsWithValue = new Set(['phone', 'openid', 'unionid', 'id', 'limit', 'resend']);
const flagsAlone = new Set(['json', 'help']);

function parseArguments(argv: string[]): { command?: string; options: Record<string, string> } {
  const options: Record<string, string> = {};
  let command: string | undefined;
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index];
    if (arg === '-h') {
      options.help = '';
      continue;
    }
    if (!arg.startsWith('--')) {
      // grant-admin and revoke-admin name their user directly: a phone or an openid.
      if ((command === 'grant-admin' || command === 'revoke-admin') && options.target === undefined) {
        options.target = arg;
        continue;
      }
      if (command !== undefined) throw new UsageError(`unexpected "${arg}"`);
      command = arg;
      continue;
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
    if (flagsAlone.has(name)) {
      options[name] = '';
    } else if (flagsWithValue.has(name)) {
      const value = inline ?? argv[++index];
      if (value === undefined || value === '') throw new UsageError(`--${name} needs a value`);
      options[name] = value;
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return { command, options };
}

/** A phone when it reads as one (any common spelling), an openid otherwise. */
function targetKeyOf(target: string): UserKey {
  const phone = normalizeMainlandPhone(target);
  return phone ? { phone } : { openid: target };
}

function userKeyOf(options: Record<string, string>, required: boolean): UserKey | undefined {
  const given = ['phone', 'openid', 'unionid', 'id'].filter((name) => options[name] !== undefined);
  if (given.length > 1) throw new UsageError('give only one of --phone, --openid, --unionid, --id');
  if (given.length === 0) {
    if (required) throw new UsageError('say which user: --phone, --openid, --unionid or --id');
    return undefined;
  }
  const [name] = given;
  if (name === 'phone') {
    const phone = phoneOf(options.phone);
    if (!phone) throw new UsageError(`"${options.phone}" is not a mainland mobile number`);
    return { phone };
  }
  if (name === 'id') {
    if (!/^\d{1,10}$/.test(options.id)) throw new UsageError('--id must be a whole number');
    return { id: Number(options.id) };
  }
  return name === 'openid' ? { openid: options.openid } : { unionid: options.unionid };
}

function phoneOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const phone = normalizeMainlandPhone(value);
  if (!phone) throw new UsageError(`"${value}" is not a mainland mobile number`);
  return phone;
}

function limitOf(value: string | undefined): number {
  if (value === undefined) return 20;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > maxLoginsListed) {
    throw new UsageError(`--limit must be a whole number from 1 to ${maxLoginsListed}`);
  }
  return Number(value);
}

function describeKey(key: UserKey): string {
  const [[name, value]] = Object.entries(key);
  return `${name} ${value}`;
}

function formatUser(user: AdminUserRow): string {
  return [
    `user ${user.id}`,
    `  openid:       ${user.openid ?? '-'}`,
    `  mini openid:  ${user.miniOpenid ?? '-'}`,
    `  unionid:      ${user.unionid ?? '-'}`,
    `  phone:        ${user.phone ?? '-'}`,
    `  follows:      ${user.subscribed ? 'yes' : 'no'}`,
    `  last login:   ${user.lastLoginTime?.toISOString() ?? '-'}`,
    `  created:      ${user.createdAt.toISOString()}`,
  ].join('\n');
}

function formatLogin(login: AdminLoginRow): string {
  return [login.at.toISOString(), `user ${login.userId}`, login.phone ?? '-', login.method, login.ip, login.userAgent].join('\t');
}

/** A database error in words an operator can act on. */
function databaseHint(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/no such table|doesn't exist|ER_NO_SUCH_TABLE/i.test(message)) {
    return `${message}\nThe database is not migrated: run npm run migrate (or npm run migrate:built) first.`;
  }
  return message;
}
