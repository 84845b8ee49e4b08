import type { ExecutionResult, GraphQLError } from 'graphql';
import type { ChatFeed } from '../domain/feeds.ts';
import { withoutHttpHints } from './errors.ts';

/**
 * A transport that writes subscription results itself, already encoded: the
 * WebSocket server puts one in each operation's rootValue.
 */
export interface ResultWriter {
  /** Writes one result; the promise, when there is one, resolves once the transport has taken it (see streamTo). */
  writeResult(json: string): Promise<void> | void;
}

export const writerOf = (root: unknown): ResultWriter | undefined =>
  typeof (root as Partial<ResultWriter> | undefined)?.writeResult === 'function' ? (root as ResultWriter) : undefined;

// Results are JSON-encoded once however many sockets they go to: subscribers
// sharing an execution receive the same result object.
const encoded = new WeakMap<object, string>();
export const encodeResult = (result: ExecutionResult) => {
  let json = encoded.get(result);
  if (json === undefined) encoded.set(result, (json = JSON.stringify(withoutHttpHints(result))));
  return json;
};

interface Member {
  writer: ResultWriter;
  /** Executes an event as this member (each its own context, so the access checks are its own). */
  execute: (payload: unknown) => Promise<ExecutionResult>;
  /** Unsubscribed: deliveries already queued for it are not written. */
  returned: boolean;
}

/** One event on its way to the members who wanted it when it happened. */
interface Delivery {
  event: unknown;
  recipients: Member[];
}

interface Group {
  feed: ChatFeed;
  members: number;
  /** The event being collected: members following the same event join it in the same synchronous dispatch. */
  collecting: Delivery | null;
  /** Deliveries (and ends) in event order, so every member sees its events in order. */
  queue: Promise<void>;
}

/** What a subscription in a broadcast group hands its transport: nothing to iterate, only an end. */
type Membership = AsyncIterableIterator<never>;

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
export function createBroadcast(maskError: (error: unknown) => GraphQLError) {
  const groups = new Map<string, Group>();

  const masked = (result: ExecutionResult): ExecutionResult =>
    result.errors ? { ...result, errors: result.errors.map((error) => maskError(error)) } : result;

  const send = async (delivery: Delivery, loading: Promise<unknown>) => {
    // Every recipient may receive the event (src/domain/delivery.ts), and the
    // selection is the same for all: any one of them can execute it for all.
    const executor = delivery.recipients.find((member) => !member.returned);
    if (!executor) return;
    let result: ExecutionResult;
    try {
      const value = await loading;
      if (value === null) return;
      result = masked(await executor.execute(value));
    } catch (error) {
      result = { errors: [maskError(error)] };
    }
    const json = encodeResult(result);
    // Live fan-out waits for no one: a reader too slow for it is closed by its writer.
    for (const member of delivery.recipients) if (!member.returned) void member.writer.writeResult(json);
  };

  return {
    /**
     * Adds a subscriber to the group of `key` (subscriptions with equal keys
     * run the same root field and share results). The returned iterable ends
     * when the feed does, after the member's last write, and leaves the group
     * when returned.
     */
    join(key: string, feed: ChatFeed, writer: ResultWriter, execute: Member['execute']): Membership {
      let group = groups.get(key);
      if (!group) {
        group = { feed, members: 0, collecting: null, queue: Promise.resolve() };
        groups.set(key, group);
      }
      const joined = group;
      joined.members += 1;
      const member: Member = { writer, execute, returned: false };
      let ended!: (result: IteratorResult<never>) => void;
      const end = new Promise<IteratorResult<never>>((resolve) => (ended = resolve));

      const onEvent = (event: unknown) => {
        let delivery = joined.collecting;
        if (!delivery || delivery.event !== event) {
          const loading = joined.feed.load(event);
          // Awaited only when the queue reaches it; a failure is handled there.
          loading.catch(() => undefined);
          const started: Delivery = (delivery = { event, recipients: [] });
          joined.collecting = started;
          joined.queue = joined.queue.then(() => send(started, loading));
        }
        delivery.recipients.push(member);
      };
      let left = false;
      const leave = () => {
        if (left) return;
        left = true;
        unfollow();
        joined.members -= 1;
        if (joined.members === 0 && groups.get(key) === joined) groups.delete(key);
      };
      const unfollow = feed.follow(onEvent, () => {
        leave();
        // After the deliveries already queued for this member.
        joined.queue = joined.queue.then(() => ended({ done: true, value: undefined as never }));
      });

      return {
        next: () => end,
        return: async () => {
          member.returned = true;
          leave();
          ended({ done: true, value: undefined as never });
          return { done: true, value: undefined as never };
        },
        [Symbol.asyncIterator]() {
          return this;
        },
      };
    },
  };
}
