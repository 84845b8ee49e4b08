import { CloseCode } from 'graphql-ws';
import type { WebSocket } from 'ws';
import type { Db } from '../db/client.ts';
import type { EventBus } from '../events.ts';

/** Rows asked for in one statement when the open sockets' sessions are checked. */
const CHECK_BATCH = 500;
/** How long a client may take to answer the close of a revoked session before its socket is cut. */
const CLOSE_GRACE_MS = 1_000;

/**
 * The open sockets of each session on this instance, ended when the session
 * ends: at once on a `session:revoked` event, and, for a revocation no event
 * announced (Redis lost it; an operator deleted the user or the session), at
 * the next check of the sessions against the database, every `recheckMs` and
 * as soon as the bus comes back from an outage.
 *
 * A revoked socket is closed with 4403 and cut after CLOSE_GRACE_MS if the
 * client does not finish the close; `isRevoked` tells the WebSocket server to
 * run none of the frames that still arrive meanwhile.
 */
export function createSocketSessions({ db, bus, recheckMs, onError }: {
  db: Db;
  bus: EventBus;
  recheckMs: number;
  onError: (error: unknown) => void;
}) {
  const bySession = new Map<string, Set<WebSocket>>();
  const revoked = new WeakSet<WebSocket>();

  const end = (socket: WebSocket, reason: string) => {
    if (revoked.has(socket)) return;
    revoked.add(socket);
    socket.close(CloseCode.Forbidden, reason);
    setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
  };
  const endSession = (sessionId: string, reason: string) => {
    for (const socket of bySession.get(sessionId) ?? []) end(socket, reason);
  };

  let checking: Promise<void> | null = null;
  const check = () =>
    (checking ??= (async () => {
      const ids = [...bySession.keys()];
      for (let from = 0; from < ids.length; from += CHECK_BATCH) {
        const batch = ids.slice(from, from + CHECK_BATCH);
        const alive = new Set(
          (await db.session.findMany({ where: { id: { in: batch } }, select: { id: true } })).map((row) => row.id),
        );
        for (const id of batch) if (!alive.has(id)) endSession(id, 'Session revoked');
      }
    })()
      .catch(onError)
      .finally(() => (checking = null)));

  const offRevoked = bus.on('session:revoked', ({ sessionId }) => endSession(sessionId, 'Session revoked'));
  const offReconnect = bus.onReconnect(() => void check());
  const timer = setInterval(() => void check(), recheckMs);
  timer.unref();

  return {
    add(sessionId: string, socket: WebSocket) {
      let sockets = bySession.get(sessionId);
      if (!sockets) bySession.set(sessionId, (sockets = new Set()));
      sockets.add(socket);
    },
    remove(sessionId: string, socket: WebSocket) {
      const sockets = bySession.get(sessionId);
      if (sockets?.delete(socket) && sockets.size === 0) bySession.delete(sessionId);
    },
    /** Closes one socket as a revoked session's (its token expired, say). */
    end,
    isRevoked: (socket: WebSocket) => revoked.has(socket),
    /** Checks every open socket's session against the database now (the periodic check does the same). */
    check,
    async close() {
      clearInterval(timer);
      offRevoked();
      offReconnect();
      await checking;
    },
  };
}
