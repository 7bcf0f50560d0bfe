import type { User } from '../db/users.js';

export interface OidcClaims {
  sub: string;
  phone_number?: string;
  phone_number_verified?: boolean;
  name?: string;
  picture?: string;
}

/**
 * The claims one of our users has. `sub` is our user id, never the WeChat
 * openid (an openid is per Official Account, and handing it out would tie the
 * person to WeChat records elsewhere). The phone is stored as an 11-digit
 * mainland number, verified by SMS or by WeChat; OIDC asks for E.164.
 */
export function claimsOf(user: User): OidcClaims {
  const claims: OidcClaims = { sub: String(user.id) };
  if (user.phone) {
    claims.phone_number = /^1\d{10}$/.test(user.phone) ? `+86${user.phone}` : user.phone;
    claims.phone_number_verified = true;
  }
  if (user.nickname) claims.name = user.nickname;
  if (user.avatarUrl) claims.picture = user.avatarUrl;
  return claims;
}

/** The scopes we know, each with the claims it gives (besides `openid`'s `sub`). */
export const scopeClaims = {
  openid: ['sub'],
  phone: ['phone_number', 'phone_number_verified'],
  profile: ['name', 'picture'],
};
