import type { ExecutionResult, GraphQLError } from 'graphql';
import type { ChatFeed } from '../domain/feeds.ts';

/**
 * A transport that writes subscription results itself, already encoded: the
 * WebSocket server puts one in each operation's rootValue.
 */
export interface ResultWriter {
  writeResult(json: string): void;
}

export const writerOf = (root: unknown): ResultWriter | undefined =>
  typeof (root as Partial<ResultWriter> | undefined)?.writeResult === 'function' ? (root as ResultWriter) : undefined;

// Results are JSON-encoded once however many sockets they go to: subscribers
// sharing an execution receive the same result object.
const encoded = new WeakMap<object, string>();
export const encodeResult = (result: ExecutionResult) => {
  let json = encoded.get(result);
  if (json === undefined) encoded.set(result, (json = JSON.stringify(result)));
  return json;
};

interface Member {
  writer: ResultWriter;
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
  execute: (payload: unknown) => Promise<ExecutionResult>;
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

  const send = async (group: Group, delivery: Delivery, loading: Promise<unknown>) => {
    let result: ExecutionResult;
    try {
      const value = await loading;
      if (value === null) return;
      result = masked(await group.execute(value));
    } catch (error) {
      result = { errors: [maskError(error)] };
    }
    const json = encodeResult(result);
    for (const member of delivery.recipients) if (!member.returned) member.writer.writeResult(json);
  };

  return {
    /**
     * Adds a subscriber to the group of `key` (subscriptions with equal keys
     * run the same root field and share results). The returned iterable ends
     * when the feed does, after the member's last write, and leaves the group
     * when returned.
     */
    join(key: string, feed: ChatFeed, writer: ResultWriter, execute: Group['execute']): Membership {
      let group = groups.get(key);
      if (!group) {
        group = { feed, execute, members: 0, collecting: null, queue: Promise.resolve() };
        groups.set(key, group);
      }
      const joined = group;
      joined.members += 1;
      const member: Member = { writer, returned: false };
      let ended: ((result: IteratorResult<never>) => void) | undefined;
      let failed: ((error: unknown) => void) | undefined;
      const end = new Promise<IteratorResult<never>>((resolve, reject) => {
        ended = resolve;
        failed = reject;
      });
      // graphql-ws may not be waiting on `next` yet when the feed fails.
      end.catch(() => undefined);

      const onEvent = (event: unknown) => {
        let delivery = joined.collecting;
        if (!delivery || delivery.event !== event) {
          const loading = joined.feed.load(event);
          // Awaited only when the queue reaches it; a failure is handled there.
          loading.catch(() => undefined);
          const started: Delivery = (delivery = { event, recipients: [] });
          joined.collecting = started;
          joined.queue = joined.queue.then(() => send(joined, started, loading));
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
      const unfollow = feed.follow(onEvent, (error) => {
        leave();
        // After the deliveries already queued for this member.
        joined.queue = joined.queue.then(() =>
          error === undefined ? ended!({ done: true, value: undefined as never }) : failed!(error),
        );
      });

      return {
        next: () => end,
        return: async () => {
          member.returned = true;
          leave();
          ended!({ done: true, value: undefined as never });
          return { done: true, value: undefined as never };
        },
        [Symbol.asyncIterator]() {
          return this;
        },
      };
    },
  };
}
