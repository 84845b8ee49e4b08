import { createPubSub, type PubSub as YogaPubSub, type PubSubEventTarget } from 'graphql-yoga';

/**
 * Everything the server announces after a write commits. Payloads carry ids
 * only: subscribers read what they show through the same resolvers as queries.
 */
export interface MessageRef {
  chatId: string;
  messageId: string;
  seq: number;
}

export interface MembershipChange {
  chatId: string;
  userId: string;
  /** False when the user left, was removed, or the chat was deleted. */
  member: boolean;
}

export type Events = {
  'message:added': [MessageRef];
  'message:edited': [MessageRef];
  'message:deleted': [MessageRef];
  'chat:membership': [MembershipChange];
};

export type PubSub = YogaPubSub<Events>;

/**
 * The pubsub every instance publishes to and subscribes from: yoga's, in
 * memory by default; pass an event target (e.g. Redis) to span instances.
 */
export function createEvents(eventTarget?: PubSubEventTarget<Events>): PubSub {
  return createPubSub<Events>({ eventTarget });
}
