import type { ExecutionArgs, ExecutionResult, GraphQLError } from 'graphql';
import type { ChatFeed, FeedListener } from '../domain/feeds.ts';
import { withoutHttpHints } from './errors.ts';

/**
 * A transport that writes subscription results itself, already encoded: the
 * WebSocket server puts one in each operation's rootValue.
 */
export interface ResultWriter {
  /** Writes one result (its JSON, UTF-8); the promise, when there is one, resolves once the transport has taken it (see streamTo). */
  writeResult(json: Buffer): Promise<void> | void;
  /**
   * Set when the operation joined a broadcast group: its whole stream (it
   * yields nothing, only ends), for the transport to run as it is rather
   * than through the pipeline's wrappers of it, which only map results.
   */
  membership?: AsyncIterableIterator<never>;
}

export const writerOf = (root: unknown): ResultWriter | undefined =>
  typeof (root as Partial<ResultWriter> | undefined)?.writeResult === 'function' ? (root as ResultWriter) : undefined;

// Results are JSON-encoded once however many sockets they go to: subscribers
// sharing an execution receive the same result object.
const encoded = new WeakMap<object, Buffer>();
export const encodeResult = (result: ExecutionResult) => {
  let json = encoded.get(result);
  if (json === undefined) encoded.set(result, (json = Buffer.from(JSON.stringify(withoutHttpHints(result)))));
  return json;
};

/** One event on its way to the members who wanted it when it happened. */
interface Delivery {
  event: unknown;
  recipients: Member[];
}

interface Group {
  key: string;
  feed: ChatFeed;
  members: number;
  /** The event being collected: members following the same event join it in the same synchronous dispatch. */
  collecting: Delivery | null;
  /** Deliveries (and ends) in event order, so every member sees its events in order. */
  queue: Promise<void>;
  maskError: (error: unknown) => GraphQLError;
  execute: EventExecutor;
  /** A member left: the group goes when its last one has. */
  leave: (group: Group) => void;
}

/** Executes an event as the member whose operation `args` is, in a context of its own (so the access checks are its own). */
type EventExecutor = (args: ExecutionArgs, key: string, payload: unknown) => Promise<ExecutionResult>;

const DONE: IteratorResult<never> = { done: true, value: undefined as never };

/**
 * One subscriber in a group, and what its subscription hands the transport:
 * nothing to iterate, only an end (after the member's last write). A class,
 * not closures: an idle subscriber is held for hours, ten thousand at once.
 */
class Member implements AsyncIterableIterator<never>, FeedListener {
  /** Unsubscribed: deliveries already queued for it are not written. */
  returned = false;
  private left = false;
  private ended!: (result: IteratorResult<never>) => void;
  private readonly end = new Promise<IteratorResult<never>>((resolve) => (this.ended = resolve));
  private readonly following: { stop(): void };

  constructor(
    private readonly group: Group,
    feed: ChatFeed,
    readonly writer: ResultWriter,
    readonly args: ExecutionArgs,
  ) {
    group.members += 1;
    this.following = feed.follow(this);
  }

  onEvent(event: unknown) {
    const { group } = this;
    let delivery = group.collecting;
    if (!delivery || delivery.event !== event) {
      const loading = group.feed.load(event);
      // Awaited only when the queue reaches it; a failure is handled there.
      loading.catch(() => undefined);
      const started: Delivery = (delivery = { event, recipients: [] });
      group.collecting = started;
      group.queue = group.queue.then(() => send(group, started, loading));
    }
    delivery.recipients.push(this);
  }

  onEnd() {
    this.leave();
    // After the deliveries already queued for this member.
    this.group.queue = this.group.queue.then(() => this.ended(DONE));
  }

  private leave() {
    if (this.left) return;
    this.left = true;
    this.following.stop();
    this.group.leave(this.group);
  }

  next() {
    return this.end;
  }

  async return() {
    this.returned = true;
    this.leave();
    this.ended(DONE);
    return DONE;
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}

/** Writes an event to its recipients: one execution, one encoding, one loop of writes. */
async function send({ key, maskError, execute }: Group, delivery: Delivery, loading: Promise<unknown>) {
  // Every recipient may receive the event (src/domain/delivery.ts), and the
  // selection is the same for all: any one of them can execute it for all.
  const executor = delivery.recipients.find((member) => !member.returned);
  if (!executor) return;
  let result: ExecutionResult;
  try {
    const value = await loading;
    if (value === null) return;
    result = await execute(executor.args, key, value);
    if (result.errors) result = { ...result, errors: result.errors.map((error) => maskError(error)) };
  } catch (error) {
    result = { errors: [maskError(error)] };
  }
  const json = encodeResult(result);
  // Live fan-out waits for no one: a reader too slow for it is closed by its writer.
  for (const member of delivery.recipients) if (!member.returned) void member.writer.writeResult(json);
}

/**
 * Runs chat feeds of subscribers who share one execution as one: per event,
 * one load, one execution, one JSON encoding and one loop of socket writes,
 * instead of an async iterator chain per subscriber (a thousand subscribers
 * of a chat cost a thousand of those per message; README, "Performance").
 * Each member still follows its own feed, so what it receives is decided per
 * subscriber, at the time of the event, exactly as on the per-subscriber path.
 *
 * Results with errors are masked here with `maskError`, because they do not
 * pass through the enveloped pipeline's result hooks.
 */
export function createBroadcast(maskError: (error: unknown) => GraphQLError, execute: EventExecutor) {
  const groups = new Map<string, Group>();
  const leave = (group: Group) => {
    group.members -= 1;
    if (group.members === 0 && groups.get(group.key) === group) groups.delete(group.key);
  };
  return {
    /**
     * Adds a subscriber to the group of `key` (subscriptions with equal keys
     * run the same root field and share results). The returned iterable ends
     * when the feed does, after the member's last write, and leaves the group
     * when returned.
     */
    join(key: string, feed: ChatFeed, writer: ResultWriter, args: ExecutionArgs): AsyncIterableIterator<never> {
      let group = groups.get(key);
      if (!group) {
        group = { key, feed, members: 0, collecting: null, queue: Promise.resolve(), maskError, execute, leave };
        groups.set(key, group);
      }
      return new Member(group, feed, writer, args);
    },
  };
}
