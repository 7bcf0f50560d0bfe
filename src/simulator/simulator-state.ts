import { createHash, randomBytes } from 'node:crypto';
import type { Config } from '../config.js';

/**
 * The simulated WeChat's memory: personas (WeChat users), access tokens,
 * QR tickets, and the chat each persona had with the Official Account.
 * In-process and lost on restart, like a test double should be.
 */
export interface Persona {
  nickname: string;
  /** openid per app: the Official Account and the mini-program see different openids. */
  openid: string;
  miniOpenid: string;
  unionid: string;
  phone: string;
  following: boolean;
  /** The messages between the persona and the Official Account; the account's may carry `<a href>` links, as in WeChat. */
  chat: { from: 'user' | 'account'; text: string; at: Date }[];
  /**
   * When the persona last did something the account hears of (a scan, a
   * follow): customer-service messages reach them only within 48 hours of it.
   */
  lastInteractionAt?: number;
  /** Codes made with the code generator, newest first, for the mini-program flows. */
  generatedCodes: { kind: CodeKind; code: string }[];
}

/** oauth: from the authorize page; js: what wx.login() gives; phone: what getPhoneNumber gives. */
export type CodeKind = 'oauth' | 'js' | 'phone';

interface IssuedCode {
  kind: CodeKind;
  openid: string;
  appId: string;
  scope?: string;
  used: boolean;
  expiresAt: number;
}

interface SnsToken {
  openid: string;
  scope: string;
  expiresAt: number;
}

export interface Ticket {
  ticket: string;
  scene: string;
  url: string;
  expiresAt: number;
  scannedBy?: string;
}

interface IssuedToken {
  appId: string;
  expiresAt: number;
}

export interface SimulatorOptions {
  config: Config;
  now?: () => number;
}

export function createSimulatorState(options: SimulatorOptions) {
  const now = options.now ?? Date.now;
  const tokenExpiresSeconds = options.config.simulatorTokenExpiresSeconds;
  const personas = new Map<string, Persona>();
  const tokens = new Map<string, IssuedToken>();
  const stableTokens = new Map<string, string>();
  const tickets = new Map<string, Ticket>();
  const codes = new Map<string, IssuedCode>();
  const snsTokens = new Map<string, SnsToken>();
  const miniProgramAppId = options.config.miniProgram?.appId;
  /** Customer-service messages are allowed for 48 hours after the user's last interaction. */
  const customMessageWindowMs = 48 * 60 * 60 * 1000;
  /** WeChat's codes live 5 minutes. */
  const codeLifetimeMs = 5 * 60 * 1000;

  const apps = new Map<string, string>([[options.config.wechat.appId, options.config.wechat.appSecret]]);
  if (options.config.miniProgram) apps.set(options.config.miniProgram.appId, options.config.miniProgram.appSecret);

  /** Stable ids derived from the nickname, so a persona keeps its openid across restarts. */
  function createPersona(nickname: string): Persona {
    const id = (salt: string, prefix: string) =>
      prefix + createHash('sha256').update(`${salt}:${nickname}`).digest('base64url').slice(0, 22);
    const digits = BigInt(`0x${createHash('sha256').update(`phone:${nickname}`).digest('hex').slice(0, 12)}`) % 100_000_000n;
    const existing = personas.get(id('oa', 'o'));
    if (existing) return existing;
    const persona: Persona = {
      nickname,
      openid: id('oa', 'o'),
      miniOpenid: id('mini', 'm'),
      unionid: id('union', 'u'),
      phone: `139${digits.toString().padStart(8, '0')}`,
      following: false,
      chat: [],
      generatedCodes: [],
    };
    personas.set(persona.openid, persona);
    return persona;
  }

  /** 40013 for an unknown appid, 40125 for a wrong secret, otherwise undefined. */
  function checkCredentials(appId: unknown, secret: unknown): { errcode: number; errmsg: string } | undefined {
    if (typeof appId !== 'string' || !apps.has(appId)) return { errcode: 40_013, errmsg: 'invalid appid' };
    if (apps.get(appId) !== secret) return { errcode: 40_125, errmsg: 'invalid appsecret' };
    return undefined;
  }

  function issueToken(appId: string): { access_token: string; expires_in: number } {
    const token = randomBytes(24).toString('base64url');
    tokens.set(token, { appId, expiresAt: now() + tokenExpiresSeconds * 1000 });
    return { access_token: token, expires_in: tokenExpiresSeconds };
  }

  /** stable_token: the same token while it is valid; force_refresh replaces it. */
  function issueStableToken(appId: string, forceRefresh: boolean): { access_token: string; expires_in: number } {
    const current = stableTokens.get(appId);
    const issued = current ? tokens.get(current) : undefined;
    if (current && issued && issued.expiresAt > now() && !forceRefresh) {
        return { access_token: current, expires_in: Math.floor((issued.expiresAt - now()) / 1000) };
    }
    if (current) tokens.delete(current);
    const fresh = issueToken(appId);
    stableTokens.set(appId, fresh.access_token);
    return fresh;
  }

  /** 40001 for an unknown token, 42001 for an expired one; otherwise the app the token belongs to. */
  function checkToken(token: unknown): { appId: string } | { errcode: number; errmsg: string } {
    const issued = typeof token === 'string' ? tokens.get(token) : undefined;
    if (!issued) return { errcode: 40_001, errmsg: 'invalid credential, access_token is invalid or not latest' };
    if (issued.expiresAt <= now()) return { errcode: 42_001, errmsg: 'access_token expired' };
    return { appId: issued.appId };
  }

  function createTicket(scene: string, expireSeconds: number): Ticket {
    const ticket = `gQ${randomBytes(30).toString('base64')}`;
    const entry: Ticket = {
      ticket,
      scene,
      url: `${options.config.publicUrl}/simulator/scan?ticket=${encodeURIComponent(ticket)}`,
      expiresAt: now() + expireSeconds * 1000,
    };
    tickets.set(ticket, entry);
    // Forget long-dead tickets so that the map stays small on a long-running dev server.
    for (const [key, old] of tickets) if (old.expiresAt < now() - 3_600_000) tickets.delete(key);
    return entry;
  }

  /**
   * cgi-bin/message/custom/send, as WeChat decides it: 40003 unknown openid,
   * 43004 not following, 45015 no interaction within 48 hours; otherwise the
   * text lands in the persona's chat.
   */
  function deliverCustomText(openid: unknown, content: string): { errcode: number; errmsg: string } {
    const persona = typeof openid === 'string' ? personas.get(openid) : undefined;
    if (!persona) return { errcode: 40_003, errmsg: 'invalid openid' };
    if (!persona.following) return { errcode: 43_004, errmsg: 'require subscribe' };
    if (persona.lastInteractionAt === undefined || now() - persona.lastInteractionAt > customMessageWindowMs) {
      return { errcode: 45_015, errmsg: 'response out of time limit or subscription is canceled' };
    }
    persona.chat.push({ from: 'account', text: content, at: new Date(now()) });
    return { errcode: 0, errmsg: 'ok' };
  }

  /** Login QR codes that are waiting: not expired and not yet scanned. */
  function waitingTickets(): Ticket[] {
    return [...tickets.values()].filter((ticket) => ticket.expiresAt > now() && !ticket.scannedBy).reverse();
  }

  /** A one-time code for `persona` in `appId`; `kind` says which API accepts it. */
  function issueCode(kind: CodeKind, persona: Persona, appId: string, scope?: string): string {
    const code = randomBytes(16).toString('hex');
    codes.set(code, { kind, openid: persona.openid, appId, scope, used: false, expiresAt: now() + codeLifetimeMs });
    if (kind !== 'oauth') persona.generatedCodes = [{ kind, code }, ...persona.generatedCodes].slice(0, 6);
    return code;
  }

  /**
   * Uses up a code: 40029 when it is unknown, expired or for another app or
   * API, 40163 when it was already used. Otherwise the persona and scope.
   */
  function redeemCode(kind: CodeKind, code: unknown, appId: string): { persona: Persona; scope?: string } | { errcode: number; errmsg: string } {
    const issued = typeof code === 'string' ? codes.get(code) : undefined;
    const persona = issued ? personas.get(issued.openid) : undefined;
    if (!issued || !persona || issued.kind !== kind || issued.appId !== appId || issued.expiresAt <= now()) {
      return { errcode: 40_029, errmsg: 'invalid code' };
    }
    if (issued.used) return { errcode: 40_163, errmsg: 'code been used' };
    issued.used = true;
    return { persona, scope: issued.scope };
  }

  function issueSnsToken(persona: Persona, scope: string): string {
    const token = randomBytes(24).toString('base64url');
    snsTokens.set(token, { openid: persona.openid, scope, expiresAt: now() + 7_200_000 });
    return token;
  }

  function checkSnsToken(token: unknown, openid: unknown): { persona: Persona; scope: string } | { errcode: number; errmsg: string } {
    const issued = typeof token === 'string' ? snsTokens.get(token) : undefined;
    if (!issued || issued.expiresAt <= now() || issued.openid !== openid) return { errcode: 40_001, errmsg: 'invalid credential, access_token is invalid' };
    return { persona: personas.get(issued.openid)!, scope: issued.scope };
  }

  return {
    personas,
    issueCode,
    redeemCode,
    issueSnsToken,
    checkSnsToken,
    officialAccountAppId: options.config.wechat.appId,
    miniProgramAppId,
    tickets,
    createPersona,
    findPersona: (openid: string) => personas.get(openid),
    checkCredentials,
    issueToken,
    issueStableToken,
    checkToken,
    createTicket,
    waitingTickets,
    deliverCustomText,
    now,
  };
}

export type SimulatorState = ReturnType<typeof createSimulatorState>;
