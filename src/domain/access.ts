import type { ChatKind, ChatRole } from '../generated/prisma/client.ts';

/**
 * Who may see or do what, written once (README, "Access rules"). Every path
 * that sends chat data out or changes it decides with these rules: the
 * GraphQL types and fields (src/schema/access.ts, for queries, node(id),
 * nested fields and subscription events alike), the mutations (./chats.ts,
 * ./messages.ts, ./reactions.ts, ./pins.ts), search (./search.ts) and live
 * delivery (./delivery.ts, ./feeds.ts).
 *
 * `role` is the viewer's role in the chat, null when they are not a member;
 * `blockedByPeer` whether the other member of a direct chat blocks the
 * viewer. Callers read both from the database for the decision at hand.
 */
export type Role = ChatRole | null;

export interface ChatFacts {
  kind: ChatKind;
  isPublic: boolean;
}

const isPublicGroup = (chat: ChatFacts) => chat.kind === 'GROUP' && chat.isPublic;
/** Chat-wide settings: any member of a direct chat, a group's owners. */
const directMemberOrOwner = (chat: ChatFacts, role: Role) => role !== null && (chat.kind === 'DIRECT' || role === 'OWNER');

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
  /**
   * Say something new in the chat: send, edit, react, pin. Members only, and
   * in a direct chat not while the other member blocks you. Sends check this
   * in their SQL (src/db/append-message.ts); groups ignore blocks.
   */
  write: (chat: ChatFacts, role: Role, blockedByPeer: boolean) =>
    role !== null && !(chat.kind === 'DIRECT' && blockedByPeer),
  editMessage: (viewerId: string, message: { authorId: string }, role: Role) =>
    role !== null && message.authorId === viewerId,
  deleteMessage: (viewerId: string, message: { authorId: string }, chat: ChatFacts, role: Role) =>
    role !== null && (message.authorId === viewerId || (chat.kind === 'GROUP' && role === 'OWNER')),
  /** Add and remove others (groups only: a direct chat has exactly its two members). */
  manageMembers: (chat: ChatFacts, role: Role) => chat.kind === 'GROUP' && role === 'OWNER',
  setMessageTtl: directMemberOrOwner,
  /** Pin and unpin messages. */
  pin: directMemberOrOwner,
  /**
   * Hear live what `actor` does in a direct chat (messages, edits, deletions,
   * reactions, pins, typing): nothing from someone you block, and no typing
   * of someone who blocks you. Group chats ignore blocks.
   */
  hearInDirectChat: (typing: boolean, youBlockThem: boolean, theyBlockYou: boolean) =>
    !youBlockThem && !(typing && theyBlockYou),
  /** Whether someone is online and when they were last seen is hidden from the users they block. */
  seePresence: (theyBlockYou: boolean) => !theyBlockYou,
  /** Sessions (devices) are seen and ended by their own user only. */
  seeSession: (viewerId: string, session: { userId: string }) => session.userId === viewerId,
  /** A user's email is shown to that user only. */
  seeEmail: (viewerId: string, user: { id: string }) => user.id === viewerId,
  /** A message's idempotency key is shown to its sender only. */
  seeClientId: (viewerId: string, message: { authorId: string }) => message.authorId === viewerId,
};
