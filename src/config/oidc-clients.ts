import { readSecretJson } from './secret-json.js';

/** The client authentication methods we accept at the token endpoint. */
export type OidcAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';
/** The client authentications registration accepts; discovery lists the same (oidc/provider.ts). */
export const oidcAuthMethods: readonly OidcAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'none'];
const authMethods = oidcAuthMethods;

/** One application allowed to log people in through this server (an OpenID Connect relying party). */
export interface OidcClient {
  client_id: string;
  /** None for a public client (token_endpoint_auth_method "none": a single-page or native app, PKCE only). */
  client_secret?: string;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  token_endpoint_auth_method: OidcAuthMethod;
  /**
   * `authorization_code` always; `refresh_token` only for a client registered for it (then `offline_access`
   * gives it refresh tokens, which die with the session they were given in).
   */
  grant_types: OidcGrantType[];
  /** Shown on our pages ("log out of …"); defaults to the client_id. */
  client_name?: string;
  /** Where a logout token is POSTed when a session here ends (OpenID Connect Back-Channel Logout 1.0). */
  backchannel_logout_uri?: string;
  /** The logout token (and so the ID token) carries `sid`, the application's session. */
  backchannel_logout_session_required?: boolean;
}

export type OidcGrantType = 'authorization_code' | 'refresh_token';
const grantTypes: OidcGrantType[] = ['authorization_code', 'refresh_token'];

/** The simulator's own demo application (`/simulator/demo-app`). Its secret is public: simulator mode never serves real users. */
export const demoClientId = 'demo-app';
export const demoClientSecret = 'demo-app-secret-not-for-production';

/** The demo client, pointed at this server's own demo pages. */
export function demoClient(publicUrl: string): OidcClient {
  return {
    client_id: demoClientId,
    client_secret: demoClientSecret,
    client_name: 'Demo app',
    redirect_uris: [`${publicUrl}/simulator/demo-app/callback`],
    post_logout_redirect_uris: [`${publicUrl}/simulator/demo-app`],
    backchannel_logout_uri: `${publicUrl}/simulator/demo-app/backchannel-logout`,
    backchannel_logout_session_required: true,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code', 'refresh_token'],
  };
}

/**
 * Reads OIDC_CLIENTS (a JSON array) or OIDC_CLIENTS_FILE (a file holding one)
 * and pushes one message per problem onto `problems`. No message ever quotes
 * the input: it holds client secrets, and start-up errors end up in logs.
 */
export function readOidcClients(env: Record<string, string | undefined>, problems: string[]): OidcClient[] {
  const read = readSecretJson(env, 'OIDC_CLIENTS', 'an array of clients, each with client_id, client_secret and redirect_uris', problems);
  return read ? validateClients(read.from, read.parsed, problems, env.NODE_ENV?.toLowerCase() === 'production') : [];
}

function validateClients(name: string, parsed: unknown, problems: string[], production: boolean): OidcClient[] {
  if (!Array.isArray(parsed)) {
    problems.push(`${name}: expected a JSON array of clients`);
    return [];
  }
  const clients: OidcClient[] = [];
  const seen = new Set<string>();
  parsed.forEach((entry: unknown, index) => {
    const problemsBefore = problems.length;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      problems.push(`${name}: client #${index + 1} is not an object`);
      return;
    }
    const raw = entry as Record<string, unknown>;
    const id = typeof raw.client_id === 'string' && /^[\x21-\x7e]{1,128}$/.test(raw.client_id) ? raw.client_id : undefined;
    // Names a client by its id when it has a usable one, never by anything secret.
    const label = id ? `client "${id}"` : `client #${index + 1}`;
    const say = (message: string) => problems.push(`${name}: ${label} ${message}`);
    if (!id) say('needs a client_id (1 to 128 printable characters, no spaces)');
    else if (seen.has(id)) say('is listed twice');
    else seen.add(id);
    const method = raw.token_endpoint_auth_method ?? 'client_secret_basic';
    // A public client (a single-page or native app) keeps no secret: it proves itself with PKCE alone.
    if (method === 'none') {
      if (raw.client_secret !== undefined) say('is public (token_endpoint_auth_method "none") and must have no client_secret');
    } else if (typeof raw.client_secret !== 'string' || raw.client_secret.length < 16) {
      say('needs a client_secret of at least 16 characters');
    }
    const redirectUris = urlList(raw.redirect_uris);
    if (!redirectUris || redirectUris.length === 0) {
      say('needs redirect_uris: a non-empty array of http(s) addresses without a #fragment');
    }
    const logoutUris = raw.post_logout_redirect_uris === undefined ? [] : urlList(raw.post_logout_redirect_uris);
    if (!logoutUris) say('has bad post_logout_redirect_uris: expected an array of http(s) addresses without a #fragment');
    if (!authMethods.includes(method as OidcAuthMethod)) say(`has an unknown token_endpoint_auth_method (use ${authMethods.join(' or ')})`);
    const grants = raw.grant_types ?? ['authorization_code'];
    const grantsOk = Array.isArray(grants) && grants.includes('authorization_code') && grants.every((grant) => grantTypes.includes(grant as OidcGrantType));
    if (!grantsOk) say(`has bad grant_types: "authorization_code", and "refresh_token" for a client that may use offline_access`);
    // A browser cannot keep a refresh token safe from the page's own scripts.
    else if (method === 'none' && (grants as string[]).includes('refresh_token')) say('is public and gets no refresh_token: leave it out of grant_types');
    const backchannel = raw.backchannel_logout_uri === undefined ? undefined : urlList([raw.backchannel_logout_uri])?.[0];
    if (raw.backchannel_logout_uri !== undefined && !backchannel) say('has a bad backchannel_logout_uri: expected one http(s) address without a #fragment');
    // A logout token is a credential of sorts: in production it travels over TLS only.
    else if (backchannel && production && !backchannel.startsWith('https:')) say('needs an https:// backchannel_logout_uri when NODE_ENV=production');
    const sessionRequired = raw.backchannel_logout_session_required;
    if (sessionRequired !== undefined && typeof sessionRequired !== 'boolean') say('has a backchannel_logout_session_required that is not true or false');
    if (raw.client_name !== undefined && (typeof raw.client_name !== 'string' || raw.client_name.length > 100)) {
      say('has a client_name that is not a string of up to 100 characters');
    }
    if (problems.length > problemsBefore) return;
    clients.push({
      client_id: id!,
      ...(method === 'none' ? {} : { client_secret: raw.client_secret as string }),
      redirect_uris: redirectUris!,
      post_logout_redirect_uris: logoutUris!,
      token_endpoint_auth_method: method as OidcAuthMethod,
      grant_types: [...new Set(grants as OidcGrantType[])],
      ...(typeof raw.client_name === 'string' ? { client_name: raw.client_name } : {}),
      ...(backchannel ? { backchannel_logout_uri: backchannel } : {}),
      ...(sessionRequired === true ? { backchannel_logout_session_required: true } : {}),
    });
  });
  return clients;
}

/** The array when every item is an absolute http(s) URL without a fragment; undefined otherwise. */
function urlList(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const ok = value.every((item) => {
    if (typeof item !== 'string' || item.length > 2000) return false;
    try {
      const url = new URL(item);
      return (url.protocol === 'https:' || url.protocol === 'http:') && url.hash === '' && !item.includes('#');
    } catch {
      return false;
    }
  });
  return ok ? (value as string[]) : undefined;
}
