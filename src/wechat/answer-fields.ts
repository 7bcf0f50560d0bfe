import { z } from 'zod';
import { userColumnLengths } from '../db/users.js';

/**
 * The fields of WeChat's answers that end up in a database column, each
 * checked against that column (migrations/20261121000001_create_users.ts), so
 * that nothing WeChat says can make a write fail. Length counts UTF-16 units,
 * never fewer than the characters a VARCHAR counts: a value that passes fits.
 */
const columnLengths = { ...userColumnLengths, nickname: 64, avatar_url: 512, phone: 20 } as const;

export const openidField = z.string().min(1).max(columnLengths.openid);
export const miniOpenidField = z.string().min(1).max(columnLengths.mini_openid);
export const unionidField = z.string().min(1).max(columnLengths.unionid);
export const nicknameField = z.string().max(columnLengths.nickname);
/** Shown as the OpenID `picture` claim, so a web address; WeChat sends '' for someone without an avatar. */
export const avatarUrlField = z.union([z.literal(''), z.url({ protocol: /^https?$/ }).max(columnLengths.avatar_url)]);
export const phoneField = z.string().min(1).max(columnLengths.phone);
