import { createTokenSigner } from '../../security/signed-token.js';

export interface EndSessionLinkDeps {
  /** The link keys, newest first: the first signs, any verifies. */
  keys: Buffer[];
  publicUrl: string;
  /** A link outlives its session by nothing: after the session's absolute lifetime it is useless anyway. */
  lifetimeSeconds: number;
  now?: () => number;
}

const macLength = 12;

/**
 * The "end this login" link in the notice after a QR login: it names one
 * session of one user, signed, so nothing needs storing. Holding it is not
 * enough to use it: the page also proves, through WeChat, that the opener is
 * that user (see end-session-routes.ts).
 */
export function createEndSessionLinks(deps: EndSessionLinkDeps) {
  const now = deps.now ?? Date.now;
  const signer = createTokenSigner(deps.keys, macLength);

  function linkFor(session: { id: number; userId: number }): string {
    const payload = Buffer.alloc(12);
    payload.writeUInt32BE(session.id, 0);
    payload.writeUInt32BE(session.userId, 4);
    payload.writeUInt32BE(Math.ceil(now() / 1000) + deps.lifetimeSeconds, 8);
    return `${deps.publicUrl}/sessions/end?t=${signer.sign(payload)}`;
  }

  /** The session a link names, or undefined for a forged, damaged or expired one. */
  function readToken(token: unknown): { sessionId: number; userId: number } | undefined {
    if (typeof token !== 'string' || token.length !== 32) return undefined;
    const payload = signer.open(token, 12);
    if (!payload) return undefined;
    if (payload.readUInt32BE(8) * 1000 <= now()) return undefined;
    return { sessionId: payload.readUInt32BE(0), userId: payload.readUInt32BE(4) };
  }

  return { linkFor, readToken };
}

export type EndSessionLinks = ReturnType<typeof createEndSessionLinks>;
