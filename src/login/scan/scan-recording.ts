import type { RecordScanResult, UserQueries } from '../../db/users.js';

/** A recorded scan; `created` when it created a user whose unionid is asked for after the wake (login/identity/unionid-backfill.ts). */
export type ScanRecord = RecordScanResult | { outcome: 'recorded'; hasPhone: false; created: true };

export interface ScanRecordingDeps {
  users: Pick<UserQueries, 'updateScan' | 'insertScanningUser' | 'linkScanToUnionid'>;
  /** The unionid WeChat knows for an openid (cgi-bin/user/info); undefined when it cannot tell. */
  unionidOf: (openid: string) => Promise<string | undefined>;
  /**
   * True when a mini-program is configured. Then someone new to the Official
   * Account may already be a user through the mini-program (a row with their
   * unionid and no openid), and whether the scan logs them in or asks for a
   * phone depends on who they are: the unionid is asked for before the scan
   * is recorded. Otherwise no such row can be made, and the unionid is
   * stored after the browser has been woken.
   */
  linkBeforeRecording: boolean;
  now?: () => Date;
}

/**
 * The rule for recording a scan of a login QR code, in as few statements as
 * the case allows, and never two users for one person.
 * - A `SCAN` comes from a follower, almost always someone we know: one UPDATE.
 * - A `subscribe` with a scene comes from someone who follows by scanning,
 *   most often someone new: one INSERT (with a mini-program, one SELECT of the
 *   person's mini-program user before it, and WeChat's user/info before that).
 * Either order gives the same result for the other case, only with a
 * statement more. A user is created by a plain INSERT that the unique
 * indexes guard: of two deliveries of one newcomer's scan one inserts and the
 * other updates, and a scene held by another user is refused.
 */
export function createScanRecording(deps: ScanRecordingDeps) {
  const now = deps.now ?? (() => new Date());

  async function record(openid: string, scene: string, event: 'SCAN' | 'subscribe'): Promise<ScanRecord> {
    const at = now();
    if (event === 'subscribe') {
      const created = await createOrLink(openid, scene, at);
      if (created) return created;
    }
    const known = await deps.users.updateScan(openid, scene, at);
    if (known) return known;
    const created = await createOrLink(openid, scene, at);
    if (created) return created;
    // Refused although no user had this openid a moment ago: a parallel delivery created them, or the scene is another user's.
    return (await deps.users.updateScan(openid, scene, at)) ?? { outcome: 'scene_taken' };
  }

  /** Someone without a row for this openid: their mini-program user takes the scan, or a new user is inserted. */
  async function createOrLink(openid: string, scene: string, at: Date): Promise<ScanRecord | undefined> {
    const unionid = deps.linkBeforeRecording ? await deps.unionidOf(openid) : undefined;
    if (unionid) {
      const linked = await deps.users.linkScanToUnionid(openid, unionid, scene, at);
      if (linked) return linked;
    }
    if ((await deps.users.insertScanningUser(openid, scene, at, unionid)) !== 'inserted') return undefined;
    // Without a mini-program, the unionid is asked for after the wake (`created`). With one, WeChat was asked
    // already; if that failed, the login goes on without the unionid (one call per newcomer, as always).
    return deps.linkBeforeRecording ? { outcome: 'recorded', hasPhone: false } : { outcome: 'recorded', hasPhone: false, created: true };
  }

  return { record };
}

export type ScanRecording = ReturnType<typeof createScanRecording>;
