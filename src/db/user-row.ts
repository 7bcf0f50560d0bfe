import { toDate, toOptionalDate } from './values.js';

/** A row of `users`, as the rest of the app sees it. */
export interface User {
  id: number;
  /** The Official Account's openid; null for someone who has only used the mini-program. */
  openid: string | null;
  miniOpenid: string | null;
  /** The Open Platform website application's openid (open-qr). */
  openOpenid: string | null;
  unionid: string | null;
  nickname: string | null;
  avatarUrl: string | null;
  phone: string | null;
  tmpSceneStr: string | null;
  subscribed: boolean;
  sessionVersion: number;
  /** Granted the operator console by `npm run admin -- grant-admin`. */
  isAdmin: boolean;
  /** Blocked from the console: no way in logs them in. */
  blockedAt: Date | null;
  createdAt: Date;
}

/** The columns toUser reads: what a query selects for a whole user. */
export const userColumns = [
  'id',
  'openid',
  'mini_openid',
  'open_openid',
  'unionid',
  'nickname',
  'avatar_url',
  'phone',
  'tmp_scene_str',
  'subscribed',
  'session_version',
  'is_admin',
  'blocked_at',
  'created_at',
] as const;

export function toUser(row: Record<string, unknown> | undefined): User | undefined {
  if (!row) return undefined;
  return {
    id: Number(row.id),
    openid: (row.openid as string | null) ?? null,
    miniOpenid: (row.mini_openid as string | null) ?? null,
    openOpenid: (row.open_openid as string | null | undefined) ?? null,
    unionid: (row.unionid as string | null) ?? null,
    nickname: (row.nickname as string | null) ?? null,
    avatarUrl: (row.avatar_url as string | null) ?? null,
    phone: (row.phone as string | null) ?? null,
    tmpSceneStr: (row.tmp_scene_str as string | null) ?? null,
    subscribed: Boolean(row.subscribed),
    sessionVersion: Number(row.session_version),
    isAdmin: Boolean(row.is_admin),
    blockedAt: toOptionalDate(row.blocked_at),
    createdAt: toDate(row.created_at),
  };
}
