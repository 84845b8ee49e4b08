import type { EventBus, Events } from '../events.ts';
import { may } from './access.ts';
import type { Audience, Members } from './audience.ts';

export type ChatTopic = 'message:added' | 'message:edited' | 'message:deleted' | 'message:updated' | 'chat:typing';

/** Who caused a chat event (null: the system, e.g. the retention sweeper). */
const actorOf = (event: Events[ChatTopic]) => ('actorId' in event ? event.actorId : event.userId);

/** One live subscriber to a chat topic on this instance. */
export interface ChatSubscriber<E> {
  viewerId: string;
  /** One chat, or null for every chat the viewer takes part in when the event happens. */
  chatId: string | null;
  /** Events it does not want even when it may see them (e.g. its own typing). */
  accept(event: E): boolean;
  /** Called synchronously, in the order the bus dispatched the events. */
  onEvent(event: E): void;
  /** The viewer no longer takes part in the one chat it follows. */
  onLost(): void;
}

export interface Delivery {
  /** Starts handing `subscriber` the events of `topic` it may receive. */
  follow<T extends ChatTopic>(topic: T, subscriber: ChatSubscriber<Events[T]>): void;
  /** Stops it (nothing when it does not follow `topic`). */
  unfollow<T extends ChatTopic>(topic: T, subscriber: ChatSubscriber<Events[T]>): void;
  /** Subscribers following now (a leak shows as a count that only grows). */
  subscribers(): number;
}

interface Router {
  /** One-chat subscribers by chat. */
  byChat: Map<string, Set<ChatSubscriber<any>>>;
  /** All-chats subscribers by viewer. */
  byViewer: Map<string, Set<ChatSubscriber<any>>>;
  size: number;
  /** Events wait here for their audience, so they reach subscribers in bus order. */
  queue: Promise<void>;
  off: () => void;
}

const add = <K, V>(map: Map<K, Set<V>>, key: K, value: V) => {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(value);
};
/** Whether `value` was there. */
const remove = <K, V>(map: Map<K, Set<V>>, key: K, value: V) => {
  const set = map.get(key);
  if (!set?.delete(value)) return false;
  if (set.size === 0) map.delete(key);
  return true;
};

/**
 * How a chat event travels from the bus to its subscribers on this
 * instance: one listener per topic, and per event one question to the
 * database, "who are the chat's members now" (./audience.ts). Only members
 * (may.takePart) get the event; a one-chat subscriber who is no longer one is
 * told it is lost. In a direct chat, blocks between the two members are
 * part of the same answer (may.hearInDirectChat). Nothing here trusts an
 * earlier picture of who is in which chat, so an event that was never sent or
 * that Redis lost (a removal, a deleted user, a block) cannot leave anyone
 * receiving what they may no longer see. Membership events only end one-chat
 * subscriptions sooner.
 */
export function createDelivery({
  bus,
  audience,
  onError,
}: {
  bus: EventBus;
  audience: Audience;
  /** A failed membership read: its event is not delivered on this instance (clients catch up with afterSeq). */
  onError: (error: unknown) => void;
}): Delivery {
  const routers = new Map<ChatTopic, Router>();
  let offMembership: (() => void) | null = null;
  let oneChatSubscribers = 0;

  const deliver = (topic: ChatTopic, router: Router, event: Events[ChatTopic], members: Members) => {
    const actorId = actorOf(event);
    // Only a direct chat has blockers; the two members are each other's peer.
    const hears = (viewerId: string) =>
      members.blockers.size === 0 ||
      actorId === null ||
      actorId === viewerId ||
      may.hearInDirectChat(topic === 'chat:typing', members.blockers.has(viewerId), members.blockers.has(actorId));
    for (const subscriber of router.byChat.get(event.chatId) ?? []) {
      if (!may.takePart(members.get(subscriber.viewerId) ?? null)) subscriber.onLost();
      else if (hears(subscriber.viewerId) && subscriber.accept(event)) subscriber.onEvent(event);
    }
    if (router.byViewer.size === 0) return;
    // Whichever is smaller: the chat's members, or the viewers following all their chats here.
    const viewers = members.size < router.byViewer.size ? members.keys() : router.byViewer.keys();
    for (const viewerId of viewers) {
      if (!may.takePart(members.get(viewerId) ?? null) || !hears(viewerId)) continue;
      for (const subscriber of router.byViewer.get(viewerId) ?? []) if (subscriber.accept(event)) subscriber.onEvent(event);
    }
  };

  const routerOf = (topic: ChatTopic): Router => {
    let router = routers.get(topic);
    if (router) return router;
    const created: Router = { byChat: new Map(), byViewer: new Map(), size: 0, queue: Promise.resolve(), off: () => {} };
    created.off = bus.on(topic, (event) => {
      if (created.byViewer.size === 0 && !created.byChat.has(event.chatId)) return;
      const reading = audience.members(event.chatId);
      created.queue = created.queue.then(
        () => reading.then((members) => deliver(topic, created, event, members)),
      ).catch(onError);
    });
    routers.set(topic, created);
    return created;
  };

  // A removal announced by the bus ends one-chat subscriptions at once, before the chat's next event.
  const followMemberships = () => {
    offMembership ??= bus.on('chat:membership', (change) => {
      if (change.member) return;
      for (const router of routers.values()) {
        for (const subscriber of router.byChat.get(change.chatId) ?? []) {
          if (subscriber.viewerId === change.userId) subscriber.onLost();
        }
      }
    });
  };

  return {
    subscribers: () => [...routers.values()].reduce((sum, router) => sum + router.size, 0),
    follow(topic, subscriber) {
      const router = routerOf(topic);
      const { chatId } = subscriber;
      if (chatId === null) add(router.byViewer, subscriber.viewerId, subscriber);
      else add(router.byChat, chatId, subscriber);
      router.size += 1;
      if (chatId !== null && (oneChatSubscribers += 1) === 1) followMemberships();
    },
    unfollow(topic, subscriber) {
      const router = routers.get(topic);
      const { chatId } = subscriber;
      if (!router) return;
      const removed = chatId === null ? remove(router.byViewer, subscriber.viewerId, subscriber) : remove(router.byChat, chatId, subscriber);
      if (!removed) return;
      if ((router.size -= 1) === 0) {
        router.off();
        routers.delete(topic);
      }
      if (chatId !== null && (oneChatSubscribers -= 1) === 0) {
        offMembership?.();
        offMembership = null;
      }
    },
  };
}
