import { randomUUID } from 'node:crypto';
import type { Db } from '../db/client.ts';
import type { EventBus } from '../events.ts';

/**
 * Who is online: a user is online while holding at least one authenticated
 * subscription socket on any instance.
 *
 * Each instance counts its own sockets and tells the others (over the bus)
 * when a user's first socket opens or last closes there; it also repeats the
 * full list of its users every heartbeat, so an instance that vanishes without
 * a word (a crash) is forgotten, and its users counted offline, once
 * `3 × heartbeat` passes without hearing from it. From that shared picture
 * every instance announces online/offline transitions (one per transition,
 * never one per socket) to its own subscribers.
 */
export interface Presence {
  connect(userId: string): void;
  disconnect(userId: string): Promise<void>;
  isOnline(userId: string): boolean;
  /** The subset of `userIds` that is online. */
  online(userIds: Iterable<string>): string[];
  /** This instance's sockets of the user. */
  socketCount(userId: string): number;
  close(): void;
}

interface PresenceOptions {
  db: Db;
  bus: EventBus;
  /** Null when this is the only instance: nobody to tell, nobody to hear from. */
  heartbeatMs: number | null;
}

/** Heartbeats an instance may miss before it is taken for dead. */
const MISSED_HEARTBEATS = 3;

export function createPresence({ db, bus, heartbeatMs }: PresenceOptions): Presence {
  const instanceId = randomUUID();
  const sockets = new Map<string, number>();
  const others = new Map<string, { users: Set<string>; heardAt: number }>();

  const isOnline = (userId: string) =>
    sockets.has(userId) || [...others.values()].some((other) => other.users.has(userId));

  // What this instance last told its subscribers: announcing against it (not
  // against the previous state) keeps to one event per transition even when
  // a socket opens while another's close is still being recorded.
  const announced = new Set<string>();
  const announce = (userId: string, lastSeenAt: Date) => {
    const online = isOnline(userId);
    if (online === announced.has(userId)) return;
    if (online) announced.add(userId);
    else announced.delete(userId);
    bus.publishLocally('user:presence', { userId, online, lastSeenAt: online ? null : lastSeenAt.toISOString() });
  };

  const heartbeat = () => bus.publish('presence:heartbeat', { instanceId, userIds: [...sockets.keys()] });

  const offs = heartbeatMs === null ? [] : [
    bus.on('presence:instance', (event) => {
      if (event.instanceId === instanceId) return;
      const other = others.get(event.instanceId) ?? { users: new Set<string>(), heardAt: Date.now() };
      others.set(event.instanceId, other);
      other.heardAt = Date.now();
      if (event.online) other.users.add(event.userId);
      else other.users.delete(event.userId);
      announce(event.userId, new Date(event.at));
    }),
    bus.on('presence:heartbeat', (event) => {
      if (event.instanceId === instanceId) return;
      const known = others.get(event.instanceId);
      const users = new Set(event.userIds);
      const other = { users: known?.users ?? new Set<string>(), heardAt: Date.now() };
      others.set(event.instanceId, other);
      const previous = other.users;
      other.users = users;
      const now = new Date();
      for (const userId of new Set([...previous, ...users])) announce(userId, now);
      // A newcomer learns about this instance's users now rather than a heartbeat later.
      if (!known) heartbeat();
    }),
  ];

  const timer =
    heartbeatMs === null
      ? undefined
      : setInterval(() => {
          heartbeat();
          const deadline = Date.now() - MISSED_HEARTBEATS * heartbeatMs;
          for (const [id, other] of others) {
            if (other.heardAt >= deadline) continue;
            const lastSeenAt = new Date(other.heardAt);
            others.delete(id);
            for (const userId of other.users) {
              if (isOnline(userId)) continue;
              // Every surviving instance records it; the writes agree.
              void db.user.updateMany({ where: { id: userId }, data: { lastSeenAt } }).catch(() => undefined);
              announce(userId, lastSeenAt);
            }
          }
        }, heartbeatMs);
  timer?.unref();
  if (heartbeatMs !== null) heartbeat();

  return {
    connect(userId) {
      const count = (sockets.get(userId) ?? 0) + 1;
      sockets.set(userId, count);
      if (count > 1) return;
      const now = new Date();
      bus.publish('presence:instance', { instanceId, userId, online: true, at: now.toISOString() });
      announce(userId, now);
    },
    async disconnect(userId) {
      const count = (sockets.get(userId) ?? 0) - 1;
      if (count > 0) {
        sockets.set(userId, count);
        return;
      }
      sockets.delete(userId);
      const lastSeenAt = new Date();
      bus.publish('presence:instance', { instanceId, userId, online: false, at: lastSeenAt.toISOString() });
      // Recorded before it is announced, so a client told "offline" reads the new lastSeenAt.
      await db.user.updateMany({ where: { id: userId }, data: { lastSeenAt } });
      announce(userId, lastSeenAt);
    },
    isOnline,
    online: (userIds) => [...userIds].filter(isOnline),
    socketCount: (userId) => sockets.get(userId) ?? 0,
    close() {
      clearInterval(timer);
      for (const off of offs) off();
    },
  };
}
