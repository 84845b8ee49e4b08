import type { Db } from '../db/client.ts';
import type { EventBus } from '../events.ts';

/**
 * Who is online: a user is online while holding at least one authenticated
 * subscription socket. Announces transitions (first socket in, last socket
 * out), never one event per socket, and records lastSeenAt on the way out.
 */
export interface Presence {
  connect(userId: string): void;
  disconnect(userId: string): Promise<void>;
  isOnline(userId: string): boolean;
  /** The subset of `userIds` that is online. */
  online(userIds: Iterable<string>): string[];
  socketCount(userId: string): number;
}

export function createPresence(db: Db, bus: EventBus): Presence {
  const sockets = new Map<string, number>();
  return {
    connect(userId) {
      const count = (sockets.get(userId) ?? 0) + 1;
      sockets.set(userId, count);
      if (count === 1) bus.publish('user:presence', { userId, online: true, lastSeenAt: null });
    },
    async disconnect(userId) {
      const count = (sockets.get(userId) ?? 0) - 1;
      if (count > 0) {
        sockets.set(userId, count);
        return;
      }
      sockets.delete(userId);
      const lastSeenAt = new Date();
      await db.user.updateMany({ where: { id: userId }, data: { lastSeenAt } });
      // A new socket may have come in while lastSeenAt was written.
      if (!sockets.has(userId)) {
        bus.publish('user:presence', { userId, online: false, lastSeenAt: lastSeenAt.toISOString() });
      }
    },
    isOnline: (userId) => sockets.has(userId),
    online: (userIds) => [...userIds].filter((id) => sockets.has(id)),
    socketCount: (userId) => sockets.get(userId) ?? 0,
  };
}
