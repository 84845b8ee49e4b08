import type { ChatKind, ChatRole } from '../generated/prisma/client.ts';

/**
 * Who may see or do what, written once (README, "Access rules"). Every path
 * that sends chat data out or changes it decides with these rules: the
 * GraphQL types and fields (src/schema/access.ts, for queries, node(id),
 * nested fields and subscription events alike), the mutations (./chats.ts,
 * ./messages.ts) and live delivery (./audience.ts).
 *
 * `role` is the viewer's role in the chat, null when they are not a member;
 * callers read it from the database for the decision at hand.
 */
export type Role = ChatRole | null;

export interface ChatFacts {
  kind: ChatKind;
  isPublic: boolean;
}

const isPublicGroup = (chat: ChatFacts) => chat.kind === 'GROUP' && chat.isPublic;

export const may = {
  /** See the chat itself: its name, description, members and their usernames. */
  seeChat: (chat: ChatFacts, role: Role) => role !== null || isPublicGroup(chat),
  /** Become a member by oneself. */
  join: (chat: ChatFacts) => isPublicGroup(chat),
  /**
   * Take part: read what is said (messages, the last message, read
   * positions, typing, live events) and say something. Members only; a
   * public group's outsiders see the chat but none of this.
   */
  takePart: (role: Role) => role !== null,
  editMessage: (viewerId: string, message: { authorId: string }, role: Role) =>
    role !== null && message.authorId === viewerId,
  deleteMessage: (viewerId: string, message: { authorId: string }, chat: ChatFacts, role: Role) =>
    role !== null && (message.authorId === viewerId || (chat.kind === 'GROUP' && role === 'OWNER')),
  /** Add and remove others (groups only: a direct chat has exactly its two members). */
  manageMembers: (chat: ChatFacts, role: Role) => chat.kind === 'GROUP' && role === 'OWNER',
  setMessageTtl: (chat: ChatFacts, role: Role) => role !== null && (chat.kind === 'DIRECT' || role === 'OWNER'),
  /** Sessions (devices) are seen and ended by their own user only. */
  seeSession: (viewerId: string, session: { userId: string }) => session.userId === viewerId,
  /** A user's email is shown to that user only. */
  seeEmail: (viewerId: string, user: { id: string }) => user.id === viewerId,
  /** A message's idempotency key is shown to its sender only. */
  seeClientId: (viewerId: string, message: { authorId: string }) => message.authorId === viewerId,
};
