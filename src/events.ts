import { setMaxListeners } from 'node:events';

/**
 * The server's event bus: everything announced after a write commits.
 * Payloads carry ids only; subscribers read what they show through the same
 * resolvers as queries.
 *
 * It is a thin typed layer over an EventTarget: an in-memory one by default,
 * or any target that spans instances (graphql-yoga's Redis event target) when
 * the server runs as several instances.
 */
export interface MessageRef {
  chatId: string;
  messageId: string;
  seq: number;
  /** Who added, edited or deleted it; null for the retention sweeper. */
  actorId: string | null;
}

/** A stored message changed: its text, reactions, pin, or how many replies it has. */
export interface MessageChange {
  chatId: string;
  messageId: string;
  /** Who changed it (by editing, reacting, pinning, replying); null for the retention sweeper. */
  actorId: string | null;
}

export interface MembershipChange {
  chatId: string;
  userId: string;
  /** False when the user left, was removed, or the chat was deleted. */
  member: boolean;
}

export interface TypingChange {
  chatId: string;
  userId: string;
  typing: boolean;
}

export interface PresenceChange {
  userId: string;
  online: boolean;
  lastSeenAt: string | null;
}

/** One instance's sockets of a user: the first opened, or the last closed. */
export interface InstancePresence {
  instanceId: string;
  userId: string;
  online: boolean;
  at: string;
}

/** Every user an instance holds sockets for; repeated so others notice a crashed instance. */
export interface InstanceHeartbeat {
  instanceId: string;
  userIds: string[];
}

export type Events = {
  'message:added': MessageRef;
  'message:edited': MessageRef;
  'message:deleted': MessageRef;
  'message:updated': MessageChange;
  'chat:membership': MembershipChange;
  'chat:typing': TypingChange;
  /** Announced on each instance to its own subscribers (see createPresence). */
  'user:presence': PresenceChange;
  'presence:instance': InstancePresence;
  'presence:heartbeat': InstanceHeartbeat;
  'session:revoked': { sessionId: string };
};

export type Topic = keyof Events;

/** The part of EventTarget the bus needs; yoga's Redis event target has it too. */
export interface BusTarget {
  addEventListener(type: string, listener: (event: Event) => void): void;
  removeEventListener(type: string, listener: (event: Event) => void): void;
  dispatchEvent(event: Event): boolean;
  /** Delivers to this instance's listeners only; targets that span no instances need not have it. */
  dispatchLocal?(event: Event): void;
  /** Calls `listener` whenever the target reconnects after an outage (events may have been lost meanwhile). */
  onReconnect?(listener: () => void): () => void;
}

export interface EventBus {
  /** Announces an event to every listener on every instance sharing the target. */
  publish<T extends Topic>(topic: T, payload: Events[T]): void;
  /** Announces an event to this instance's listeners only. */
  publishLocally<T extends Topic>(topic: T, payload: Events[T]): void;
  /**
   * Calls `listener` synchronously for each event of `topic`, in the order
   * they are dispatched; returns the function that stops it.
   */
  on<T extends Topic>(topic: T, listener: (payload: Events[T]) => void): () => void;
  /** Listeners currently attached (a leak shows as a count that only grows). */
  listenerCount(): number;
  /**
   * Calls `listener` when events published elsewhere may have been lost: the
   * bus spans instances and has just come back from an outage. Never for the
   * in-memory bus, which loses nothing. Returns the function that stops it.
   */
  onReconnect(listener: () => void): () => void;
}

/** An in-memory target; every subscription adds a listener, so Node's leak warning at 10 does not apply. */
export function localTarget(): EventTarget {
  const target = new EventTarget();
  setMaxListeners(0, target);
  return target;
}

export function createEventBus(target: BusTarget = localTarget()): EventBus {
  let listeners = 0;
  return {
    publish(topic, payload) {
      target.dispatchEvent(new CustomEvent(topic, { detail: payload }));
    },
    publishLocally(topic, payload) {
      const event = new CustomEvent(topic, { detail: payload });
      if (target.dispatchLocal) target.dispatchLocal(event);
      else target.dispatchEvent(event);
    },
    on(topic, listener) {
      const handler = (event: Event) => listener((event as CustomEvent).detail);
      target.addEventListener(topic, handler);
      listeners += 1;
      let attached = true;
      return () => {
        if (!attached) return;
        attached = false;
        target.removeEventListener(topic, handler);
        listeners -= 1;
      };
    },
    listenerCount: () => listeners,
    onReconnect: (listener) => target.onReconnect?.(listener) ?? (() => {}),
  };
}
