import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { LRUCache } from 'lru-cache';
import type { Db } from '../db/client.ts';
import type { EventBus } from '../events.ts';

/** Who is making a request: the user and the session (device) their token belongs to. */
export interface Viewer {
  userId: string;
  sessionId: string;
  /** When the token stops being valid; open sockets are closed then. */
  tokenExpiresAt: Date;
}

export interface TokenSettings {
  jwtSecret: string;
  jwtTtlSeconds: number;
}

// Pinned so a token signed with another algorithm (or "none") is never accepted.
const ALGORITHM = 'HS256';
// How stale Session.lastUsedAt may get before a request refreshes it: saves a
// write per request while keeping the device list accurate to the minute.
const LAST_USED_RESOLUTION_MS = 60_000;


// jsonwebtoken given a string first tries (and fails) to parse it as a public
// key on every call, which costs more than the HMAC itself; a KeyObject made
// once per secret skips that.
const keys = new WeakMap<TokenSettings, KeyObject>();
function keyOf(settings: TokenSettings): KeyObject {
  let key = keys.get(settings);
  if (!key) keys.set(settings, (key = createSecretKey(Buffer.from(settings.jwtSecret, 'utf8'))));
  return key;
}

/** Signs a token bound to one session; its `sid` claim is what revocation checks. */
export function signToken(settings: TokenSettings, userId: string, sessionId: string): string {
  return jwt.sign({ sid: sessionId }, keyOf(settings), {
    algorithm: ALGORITHM,
    subject: userId,
    expiresIn: settings.jwtTtlSeconds,
  });
}

/** Why a token opens no session (told to WebSocket clients as the close reason). */
export type Refusal = 'Missing token' | 'Invalid token' | 'Token expired' | 'Session revoked';

/** The session a token would open: checks the signature and expiry only. */
function decodeToken(settings: TokenSettings, token: string): Viewer | Refusal {
  try {
    const claims = jwt.verify(token, keyOf(settings), { algorithms: [ALGORITHM] });
    if (typeof claims === 'string' || typeof claims.sub !== 'string' || typeof claims.sid !== 'string') return 'Invalid token';
    if (typeof claims.exp !== 'number') return 'Invalid token';
    return { userId: claims.sub, sessionId: claims.sid, tokenExpiresAt: new Date(claims.exp * 1000) };
  } catch (error) {
    return error instanceof jwt.TokenExpiredError ? 'Token expired' : 'Invalid token';
  }
}

/** "Bearer <token>" or a bare token, as clients send it in headers and connection params. */
export function tokenFromCredential(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const token = value.replace(/^Bearer\s+/i, '').trim();
  return token === '' ? null : token;
}

interface CachedSession {
  userId: string;
  lastUsedAt: number;
}

/**
 * Resolves tokens to viewers: null when the token is invalid, expired, or its
 * session was revoked (logout and revokeSession delete the row).
 *
 * Sessions found in the database are remembered for `cacheMs`, so a busy
 * client does not cost a session read per request. A revocation evicts the
 * session at once on every instance (the `session:revoked` event), and a
 * revoked session is never cached again, even by a request that read it just
 * before. Should that event be lost (Redis down, an operator's delete), the
 * cache holds the session for at most `cacheMs`, and is emptied when the bus
 * comes back from an outage.
 */
export function createAuthenticator(db: Db, settings: TokenSettings, bus: EventBus, cacheMs: number) {
  const sessions = new LRUCache<string, CachedSession>({ max: 50_000, ttl: cacheMs });
  // Long enough for any read that started before the revocation to finish.
  const revoked = new LRUCache<string, true>({ max: 50_000, ttl: 60_000 });
  bus.on('session:revoked', ({ sessionId }) => {
    revoked.set(sessionId, true);
    sessions.delete(sessionId);
  });
  bus.onReconnect(() => sessions.clear());
  // Verified tokens, so a client's every request does not verify the same
  // token again (jsonwebtoken's parsing and claim checks cost more than the
  // send's SQL). The very same string verified before is valid until its
  // expiry; revocation is the session check below, which runs every time.
  const verified = new LRUCache<string, Viewer>({ max: 50_000 });

  const check = async (token: string | null): Promise<Viewer | Refusal> => {
    if (!token) return 'Missing token';
    let viewer = verified.get(token);
    if (!viewer || viewer.tokenExpiresAt.getTime() <= Date.now()) {
      const decoded = decodeToken(settings, token);
      if (typeof decoded === 'string') return decoded;
      verified.set(token, (viewer = decoded));
    }
    if (revoked.has(viewer.sessionId)) return 'Session revoked';
    let session = sessions.get(viewer.sessionId);
    if (!session) {
      const row = await db.session.findUnique({
        where: { id: viewer.sessionId },
        select: { userId: true, lastUsedAt: true },
      });
      // Revoked while it was being read: the row is stale.
      if (!row || revoked.has(viewer.sessionId)) return 'Session revoked';
      session = { userId: row.userId, lastUsedAt: row.lastUsedAt.getTime() };
      sessions.set(viewer.sessionId, session);
    }
    if (session.userId !== viewer.userId) return 'Invalid token';
    const now = Date.now();
    if (now - session.lastUsedAt > LAST_USED_RESOLUTION_MS) {
      session.lastUsedAt = now;
      // updateMany: the session may be revoked concurrently; that is not an error here.
      await db.session.updateMany({ where: { id: viewer.sessionId }, data: { lastUsedAt: new Date(now) } });
    }
    return viewer;
  };
  return {
    /** The viewer of a token, or why there is none. */
    check,
    /** The viewer of a token; null for none. */
    authenticate: async (token: string | null) => {
      const checked = await check(token);
      return typeof checked === 'string' ? null : checked;
    },
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;
