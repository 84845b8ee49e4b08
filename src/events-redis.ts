import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { localTarget, type BusTarget } from './events.ts';

/** Redis may stay away for a while: log its state changes, not every failed publish. */
const RETRY_MAX_MS = 2_000;

interface Envelope {
  origin: string;
  detail: unknown;
}

/**
 * An event target spanning every instance that shares a Redis: events go out
 * on Redis pub/sub, one channel per topic.
 *
 * Written here rather than taken from @graphql-yoga/redis-event-target
 * because a chat server must survive Redis going away: that target leaves a
 * failed publish as an unhandled rejection (which ends a Node process) and
 * delivers nothing, not even to the publishing instance, while Redis is down.
 * Here events reach this instance's listeners at once and Redis carries them
 * to the others; publishes while Redis is down are dropped (the database has
 * every message; clients catch up with afterSeq) and delivery resumes when it
 * returns (ioredis reconnects and resubscribes).
 */
export function createRedisTarget(url: string, logger: Logger) {
  // Tags what this instance sent, so it is not delivered here twice.
  const origin = randomUUID();
  const options = {
    // Fail fast instead of queueing while disconnected: a queue would grow
    // without bound during an outage and deliver stale events afterwards.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt: number) => Math.min(attempt * 100, RETRY_MAX_MS),
  };
  const publisher = new Redis(url, { ...options, connectionName: `messenger-pub-${origin}` });
  // Subscriptions made while Redis is away wait for it (and are then kept across reconnects).
  const subscriber = new Redis(url, {
    ...options,
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    connectionName: `messenger-sub-${origin}`,
  });
  const local = localTarget();
  const channels = new Map<string, number>();
  const reconnected = new Set<() => void>();
  let up = false;
  // Ready once at start; every later ready follows an outage.
  let subscriberReadyBefore = false;

  for (const client of [publisher, subscriber]) {
    client.on('error', () => undefined); // state changes are logged below; errors repeat while down
  }
  publisher.on('ready', () => {
    if (!up) logger.info('redis connected');
    up = true;
  });
  publisher.on('close', () => {
    if (up) logger.warn('redis connection lost; events stay local until it returns');
    up = false;
  });
  // Channels are (re)subscribed whenever the connection becomes ready: a
  // SUBSCRIBE issued while connecting (the presence channels are, at start)
  // can fail, and ioredis only restores subscriptions that once succeeded.
  subscriber.on('ready', () => {
    if (channels.size > 0) subscriber.subscribe(...channels.keys()).catch(() => undefined);
    if (subscriberReadyBefore) for (const listener of reconnected) listener();
    subscriberReadyBefore = true;
  });
  subscriber.on('message', (channel: string, text: string) => {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(text) as Envelope;
    } catch {
      return;
    }
    if (envelope.origin === origin) return; // already delivered locally
    local.dispatchEvent(new CustomEvent(channel, { detail: envelope.detail }));
  });

  const target: BusTarget & { isUp(): boolean; close(): Promise<void>; commands: Redis } = {
    /** The connection events are published on, for other plain commands (rate limit counts); it fails fast while Redis is away. */
    commands: publisher,
    addEventListener(type, listener) {
      local.addEventListener(type, listener);
      const count = (channels.get(type) ?? 0) + 1;
      channels.set(type, count);
      if (count === 1) subscriber.subscribe(type).catch(() => undefined); // resubscribed on reconnect
    },
    removeEventListener(type, listener) {
      local.removeEventListener(type, listener);
      const count = (channels.get(type) ?? 0) - 1;
      if (count > 0) {
        channels.set(type, count);
        return;
      }
      channels.delete(type);
      subscriber.unsubscribe(type).catch(() => undefined);
    },
    dispatchLocal(event) {
      local.dispatchEvent(event);
    },
    dispatchEvent(event) {
      const { detail } = event as CustomEvent;
      local.dispatchEvent(new CustomEvent(event.type, { detail }));
      if (up) {
        publisher.publish(event.type, JSON.stringify({ origin, detail } satisfies Envelope)).catch(() => undefined);
      }
      return true;
    },
    onReconnect(listener) {
      reconnected.add(listener);
      return () => reconnected.delete(listener);
    },
    isUp: () => up,
    async close() {
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
  return target;
}

