import { Repeater } from '@repeaterjs/repeater';
import type { Db } from '../db/client.ts';
import type { EventBus, Events, MessageChange, MessageRef } from '../events.ts';
import type { Message } from '../generated/prisma/client.ts';
import { may } from './access.ts';
import type { Audience } from './audience.ts';
import { blocks } from './blocks.ts';
import type { ChatSubscriber, ChatTopic, Delivery } from './delivery.ts';
import { includesAtMostAuthor, visibleMessages, type MessageQuery, type Retention } from './messages.ts';

/** Replayed messages are read from the database this many at a time. */
const REPLAY_PAGE = 100;

export interface FeedDeps {
  db: Db;
  bus: EventBus;
  retention: Retention;
  delivery: Delivery;
  audience: Audience;
}

/**
 * Delivers values in the order they were enqueued, each after the one before
 * has been taken, skipping nulls: keeps an async loading step (shared per
 * event) from reordering a subscriber's events. A value that fails to load
 * goes to `fail` and ends the queue's deliveries.
 */
function inOrder<U>(push: (value: U) => Promise<unknown>, fail: (error: unknown) => void) {
  let queue: Promise<unknown> = Promise.resolve();
  return (value: U | null | Promise<U | null>) => {
    // Awaited when its turn comes; a failure before then is not unhandled.
    Promise.resolve(value).catch(() => undefined);
    queue = queue.then(async () => {
      const ready = await value;
      if (ready !== null) await push(ready);
    });
    queue.catch(fail);
    return queue;
  };
}

/** Who follows a feed (./delivery.ts decides, per event, against the database, what reaches it). */
export interface FeedListener<E = unknown> {
  /** Each event the subscriber may receive, synchronously and in order. */
  onEvent(event: E): void;
  /** The feed ended by itself: the viewer of a one-chat feed no longer takes part in the chat. */
  onEnd(): void;
}

/**
 * One subscriber's feed of a chat topic, in two parts: which events it gets
 * and what each becomes. `chatEvents` runs it as the subscriber's own async
 * iterable; the WebSocket server runs the feeds of subscribers who share one
 * execution together instead (src/server/broadcast.ts).
 */
export interface ChatFeed<E = unknown, U = unknown> {
  /** Hands `listener` the subscriber's events until `stop` is called. */
  follow(listener: FeedListener<E>): { stop(): void };
  /** What is delivered for an event (null skips it); the same promise for every subscriber of the event. */
  load(event: E): Promise<U | null>;
}

const CHAT_FEED = Symbol('chatFeed');

/** The feed behind an iterable `chatEvents` returned, for transports that run feeds together. */
export const chatFeedOf = (iterable: object): ChatFeed | undefined => (iterable as { [CHAT_FEED]?: ChatFeed })[CHAT_FEED];

type Loader<E, U> = (deps: FeedDeps, event: E) => Promise<U | null>;
const acceptAll = () => true;
const asIs = <E, U>(_deps: FeedDeps, event: E) => Promise.resolve(event as unknown as U);

// Classes rather than closures: an idle subscription holds its feed for hours, ten thousand at once.

/** One follower as ./delivery.ts sees it. */
class Following<E> implements ChatSubscriber<E> {
  private following = true;

  constructor(
    private readonly delivery: Delivery,
    private readonly topic: ChatTopic,
    readonly viewerId: string,
    readonly chatId: string | null,
    readonly accept: (event: E) => boolean,
    private readonly listener: FeedListener<E>,
  ) {
    delivery.follow(topic, this as ChatSubscriber<any>);
  }

  onEvent(event: E) {
    this.listener.onEvent(event);
  }

  onLost() {
    if (!this.following) return;
    this.stop();
    this.listener.onEnd();
  }

  stop() {
    this.following = false;
    this.delivery.unfollow(this.topic, this as ChatSubscriber<any>);
  }
}

class Feed<T extends ChatTopic, U> implements ChatFeed<Events[T], U> {
  constructor(
    private readonly deps: FeedDeps,
    private readonly topic: T,
    private readonly userId: string,
    private readonly chatId: string | null,
    private readonly accept: (event: Events[T]) => boolean,
    private readonly loader: Loader<Events[T], U>,
  ) {}

  follow(listener: FeedListener<Events[T]>) {
    return new Following(this.deps.delivery, this.topic, this.userId, this.chatId, this.accept, listener);
  }

  load(event: Events[T]) {
    return this.loader(this.deps, event);
  }
}

/**
 * Events of one chat or of all the user's chats (messages added, edited or
 * deleted, typing) that the user may receive when they happen, filtered by
 * `accept`, and turned by `load` into what is delivered (null skips the
 * event). A one-chat feed ends when the user no longer takes part in the
 * chat. A Repeater rather than an async generator: a generator waiting for
 * its next event cannot be returned, so an unsubscribed feed would linger
 * until the chat's next event.
 */
export function chatEvents<T extends ChatTopic, U = Events[T]>(
  deps: FeedDeps,
  topic: T,
  userId: string,
  chatId: string | null,
  options: { accept?: (event: Events[T]) => boolean; load?: Loader<Events[T], U> } = {},
): AsyncIterable<U> {
  const feed = new Feed<T, U>(deps, topic, userId, chatId, options.accept ?? acceptAll, options.load ?? asIs);
  const events = new Repeater<U>(async (push, stop) => {
    const deliver = inOrder(push, stop);
    const following = feed.follow({ onEvent: (event) => void deliver(feed.load(event)), onEnd: stop });
    await stop;
    following.stop();
  });
  return Object.assign(events, { [CHAT_FEED]: feed as ChatFeed });
}

/** A message feed of one chat or all the user's chats: added, edited or otherwise updated messages, as rows. */
export function messageEvents(
  deps: FeedDeps,
  topic: 'message:added' | 'message:edited' | 'message:updated',
  userId: string,
  chatId: string | null,
) {
  return chatEvents(deps, topic, userId, chatId, { load: loadOnce });
}

// Every local subscriber of an event receives the same payload object, so the
// message behind it is read once per event, not once per subscriber. With
// its author, which is what subscribers usually select beyond the scalars.
const loaded = new WeakMap<MessageChange, Promise<Message | null>>();

function loadOnce({ db, retention }: FeedDeps, ref: MessageChange): Promise<Message | null> {
  let message = loaded.get(ref);
  if (!message) {
    message = db.message.findFirst({ where: { id: ref.messageId, ...visibleMessages(retention) }, include: { author: true } });
    loaded.set(ref, message);
  }
  return message;
}

// The same row, per distinct GraphQL selection: subscribers asking the same
// question of one event share one query for the relations it needs.
const selected = new WeakMap<Message, Map<string, Promise<Message | null>>>();

/**
 * `message` (a row a feed delivered, with its author) with the relations
 * `query` selects, loaded once per event and distinct selection however many
 * subscribers ask; the row itself when it has all they need.
 */
export function withSelection(
  { db }: FeedDeps,
  message: Message,
  query: MessageQuery,
): Promise<Message | null> {
  if (includesAtMostAuthor(query)) return Promise.resolve(message);
  let byQuery = selected.get(message);
  if (!byQuery) selected.set(message, (byQuery = new Map()));
  const key = JSON.stringify(query);
  let loading = byQuery.get(key);
  if (!loading) {
    loading = db.message.findUnique({ ...query, where: { id: message.id } }) as Promise<Message | null>;
    byQuery.set(key, loading);
  }
  return loading;
}

/**
 * Catch-up then live for one chat: first the stored messages with
 * seq > afterSeq in order, then new ones as they arrive. Live events are
 * followed before the first read, so a message committed during the replay
 * is delivered exactly once (by the replay or live, whichever saw it). The
 * replay reads its next message only when the last one was taken (the
 * transport takes them as its socket drains), checks before each page that
 * the user still takes part in the chat, and stops reading when the
 * subscriber goes away.
 */
export function messagesAfter(deps: FeedDeps, userId: string, chatId: string, afterSeq: number) {
  return new Repeater<Message>(async (push, stop) => {
    let stopped = false;
    void stop.then(() => (stopped = true));
    let buffered: MessageRef[] | null = [];
    let lastReplayed = afterSeq;
    const deliver = inOrder(push, stop);
    // Seqs are committed in order per chat, so a page that saw a seq saw every
    // seq before it: a live event at or below the last replayed seq was replayed.
    const live = (ref: MessageRef) => {
      if (ref.seq > lastReplayed) void deliver(loadOnce(deps, ref));
    };
    const subscriber: ChatSubscriber<MessageRef> = {
      viewerId: userId,
      chatId,
      accept: acceptAll,
      onEvent: (ref) => (buffered ? buffered.push(ref) : live(ref)),
      onLost: () => stop(),
    };
    deps.delivery.follow('message:added', subscriber);
    try {
      while (!stopped) {
        if (!may.takePart((await deps.audience.members(chatId)).get(userId) ?? null)) {
          stop();
          break;
        }
        const rows = await deps.db.message.findMany({
          where: { chatId, seq: { gt: lastReplayed }, ...visibleMessages(deps.retention) },
          include: { author: true },
          orderBy: { seq: 'asc' },
          take: REPLAY_PAGE,
        });
        for (const row of rows) {
          lastReplayed = row.seq;
          await deliver(row);
        }
        if (rows.length < REPLAY_PAGE) break;
      }
      const seam = buffered.sort((a, b) => a.seq - b.seq);
      buffered = null;
      for (const ref of seam) live(ref);
      await stop;
    } finally {
      deps.delivery.unfollow('message:added', subscriber);
    }
  });
}

/**
 * Online/offline transitions of `userIds`, or (when null) of everyone who
 * shares a chat with `userId`, in the order they happened; never of someone
 * who blocks `userId` (may.seePresence, read from the database per event).
 */
export function presenceEvents({ db, bus }: FeedDeps, userId: string, userIds: string[] | null) {
  return new Repeater<Events['user:presence']>(async (push, stop) => {
    const watched = userIds && new Set(userIds);
    let queue = Promise.resolve();
    const sharesChat = async (otherId: string) =>
      otherId !== userId &&
      (await db.chatMember.count({ where: { userId: otherId, chat: { members: { some: { userId } } } } })) > 0;
    const hears = async (otherId: string) => {
      const [shared, blocked] = await Promise.all([watched !== null || sharesChat(otherId), blocks(db, otherId, userId)]);
      return shared && may.seePresence(blocked);
    };
    const off = bus.on('user:presence', (change) => {
      if (watched && !watched.has(change.userId)) return;
      // Decided as of the event (the reads start now), delivered in order.
      const hearing = hears(change.userId);
      hearing.catch(() => undefined);
      queue = queue
        .then(async () => {
          if (await hearing) await push(change);
        })
        // A failed lookup drops that one event, not the rest of the feed.
        .catch(() => undefined);
    });
    await stop;
    off();
  });
}
