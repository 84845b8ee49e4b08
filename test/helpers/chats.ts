import type { GraphQLResponse, TestServer } from './server.ts';
import { signUp, type SignedUp } from './users.ts';

/** The `extensions.code` of each error, or undefined when the result has none. */
export const codes = (result: GraphQLResponse) => result.errors?.map((error) => error.extensions?.code);

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The integers from `from` to `to`, both included (expected seqs). */
export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * Timestamps (createdAt, joinedAt, last activity) have millisecond resolution:
 * tests that assert an order by time leave a few milliseconds between writes.
 */
export const tick = () => sleep(5);

/** The database id inside a global (Relay) ID such as User:<id>, base64-encoded. */
export const databaseId = (globalId: string) => Buffer.from(globalId, 'base64').toString('utf8').replace(/^\w+:/, '');

let counter = 0;
/** A username unique within this test process: `prefix` plus a counter (keep prefix ≤ 24 chars). */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}${counter}`;
}

/** Signs up one user per prefix, each with a unique username starting with it. */
export function newUsers<const P extends readonly string[]>(
  server: TestServer,
  ...prefixes: P
): Promise<{ -readonly [K in keyof P]: SignedUp }> {
  return Promise.all(prefixes.map((prefix) => signUp(server, uniqueName(prefix)))) as Promise<any>;
}

/** The root field of a successful result; throws with the errors otherwise (for setup steps). */
export function ok<T = any>(result: GraphQLResponse, field: string): T {
  if (result.errors || result.data?.[field] == null) {
    throw new Error(`${field} failed: ${JSON.stringify(result.errors ?? result.data)}`);
  }
  return result.data[field];
}

/** What a test usually wants to see of a chat; members come sorted by username (use `sortMembers`). */
export const CHAT_FIELDS = /* GraphQL */ `
  fragment ChatFields on Chat {
    id
    kind
    name
    description
    isPublic
    myRole
    messageTtlSeconds
    members { user { username } role lastReadSeq }
  }
`;

export const MESSAGE_FIELDS = /* GraphQL */ `
  fragment MessageFields on Message {
    id
    seq
    text
    clientId
    isEdited
    editedAt
    createdAt
    author { username }
    chat { id }
  }
`;

export const CREATE_GROUP = /* GraphQL */ `
  mutation CreateGroup($input: CreateGroupChatInput!) { createGroupChat(input: $input) { ...ChatFields } }
  ${CHAT_FIELDS}
`;
export const CREATE_DIRECT = /* GraphQL */ `
  mutation CreateDirect($username: String!) { createDirectChat(username: $username) { ...ChatFields } }
  ${CHAT_FIELDS}
`;
export const CHAT = /* GraphQL */ `
  query Chat($id: ID!) { chat(id: $id) { ...ChatFields } }
  ${CHAT_FIELDS}
`;
export const JOIN = /* GraphQL */ `
  mutation Join($chatId: ID!) { joinChat(chatId: $chatId) { ...ChatFields } }
  ${CHAT_FIELDS}
`;
export const LEAVE = /* GraphQL */ `
  mutation Leave($chatId: ID!) { leaveChat(chatId: $chatId) }
`;
export const ADD_MEMBER = /* GraphQL */ `
  mutation AddMember($chatId: ID!, $username: String!) {
    addChatMember(chatId: $chatId, username: $username) { ...ChatFields }
  }
  ${CHAT_FIELDS}
`;
export const REMOVE_MEMBER = /* GraphQL */ `
  mutation RemoveMember($chatId: ID!, $username: String!) {
    removeChatMember(chatId: $chatId, username: $username) { ...ChatFields }
  }
  ${CHAT_FIELDS}
`;
export const SET_TTL = /* GraphQL */ `
  mutation SetTtl($chatId: ID!, $seconds: Int) { setChatMessageTtl(chatId: $chatId, seconds: $seconds) { ...ChatFields } }
  ${CHAT_FIELDS}
`;
export const MARK_READ = /* GraphQL */ `
  mutation MarkRead($chatId: ID!, $seq: Int) { markChatRead(chatId: $chatId, seq: $seq) { ...ChatFields unreadCount } }
  ${CHAT_FIELDS}
`;
export const SEND = /* GraphQL */ `
  mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { ...MessageFields } }
  ${MESSAGE_FIELDS}
`;
export const EDIT = /* GraphQL */ `
  mutation Edit($input: EditMessageInput!) { editMessage(input: $input) { ...MessageFields } }
  ${MESSAGE_FIELDS}
`;
export const DELETE = /* GraphQL */ `
  mutation Delete($id: ID!) { deleteMessage(id: $id) { id chatId seq } }
`;
export const MESSAGES = /* GraphQL */ `
  query Messages($chatId: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    messages(chatId: $chatId, first: $first, after: $after, last: $last, before: $before) {
      edges { cursor node { id seq text author { username } } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
`;

export interface Member {
  user: { username: string };
  role: 'OWNER' | 'MEMBER';
  lastReadSeq: number;
}

/** Members in username order, so whole chats can be compared with toEqual. */
export function sortMembers<T extends { members?: Member[] } | null | undefined>(chat: T): T {
  if (!chat?.members) return chat;
  return { ...chat, members: [...chat.members].sort((a, b) => (a.user.username < b.user.username ? -1 : 1)) };
}

/** The expected `members` list: [username, role, lastReadSeq?] tuples, sorted by username. */
export function members(...entries: [string, 'OWNER' | 'MEMBER', number?][]): Member[] {
  return entries
    .map(([username, role, lastReadSeq = 0]) => ({ user: { username }, role, lastReadSeq }))
    .sort((a, b) => (a.user.username < b.user.username ? -1 : 1));
}

export interface GroupInput {
  name: string;
  description?: string | null;
  isPublic?: boolean | null;
  members?: string[] | null;
}

export async function createGroup(server: TestServer, owner: SignedUp, input: GroupInput) {
  return sortMembers(ok(await server.gql(CREATE_GROUP, { input }, owner.token), 'createGroupChat'));
}

export async function createDirect(server: TestServer, caller: SignedUp, username: string) {
  return sortMembers(ok(await server.gql(CREATE_DIRECT, { username }, caller.token), 'createDirectChat'));
}

/** chat(id) as `caller`, members sorted; the raw result too, for error assertions. */
export async function readChat(server: TestServer, caller: SignedUp | null, id: string) {
  const result = await server.gql(CHAT, { id }, caller?.token);
  return { result, chat: sortMembers(result.data?.chat) };
}

export async function send(server: TestServer, sender: SignedUp, chatId: string, text: string, clientId?: string) {
  return ok(await server.gql(SEND, { input: { chatId, text, clientId } }, sender.token), 'sendMessage');
}

/** Sends `count` messages one after the other, texts `${prefix}1`, `${prefix}2`, … */
export async function sendMany(server: TestServer, sender: SignedUp, chatId: string, count: number, prefix = 'm') {
  const sent = [];
  for (let i = 1; i <= count; i += 1) sent.push(await send(server, sender, chatId, `${prefix}${i}`));
  return sent;
}

export async function join(server: TestServer, caller: SignedUp, chatId: string) {
  return sortMembers(ok(await server.gql(JOIN, { chatId }, caller.token), 'joinChat'));
}

export async function leave(server: TestServer, caller: SignedUp, chatId: string) {
  return ok<boolean>(await server.gql(LEAVE, { chatId }, caller.token), 'leaveChat');
}

export async function addMember(server: TestServer, owner: SignedUp, chatId: string, username: string) {
  return sortMembers(ok(await server.gql(ADD_MEMBER, { chatId, username }, owner.token), 'addChatMember'));
}

export async function removeMember(server: TestServer, owner: SignedUp, chatId: string, username: string) {
  return sortMembers(ok(await server.gql(REMOVE_MEMBER, { chatId, username }, owner.token), 'removeChatMember'));
}

export interface PageArgs {
  first?: number;
  after?: string;
  last?: number;
  before?: string;
}

/** One page of messages(chatId, …) as `caller`; throws on errors. */
export async function history(server: TestServer, caller: SignedUp, chatId: string, args: PageArgs = {}) {
  return ok(await server.gql(MESSAGES, { chatId, ...args }, caller.token), 'messages');
}

/** The texts of the chat's whole history, oldest first (at most 100 messages). */
export async function texts(server: TestServer, caller: SignedUp, chatId: string): Promise<string[]> {
  const page = await history(server, caller, chatId, { first: 100 });
  return page.edges.map((edge: any) => edge.node.text);
}

/**
 * The id of a chat that no longer exists: a well-formed chat id that no one
 * can see (its only member left, which deletes a group).
 */
export async function goneChatId(server: TestServer, someone: SignedUp): Promise<string> {
  const chat = await createGroup(server, someone, { name: 'soon gone' });
  await leave(server, someone, chat.id);
  return chat.id;
}

/** The id of a message that no longer exists (sent, then deleted by its author). */
export async function goneMessageId(server: TestServer, someone: SignedUp): Promise<string> {
  const chat = await createGroup(server, someone, { name: 'deleted message' });
  const message = await send(server, someone, chat.id, 'to be deleted');
  ok(await server.gql(DELETE, { id: message.id }, someone.token), 'deleteMessage');
  return message.id;
}

/** A cursor holding `text` as it is, for cursors a client made up (the server's are opaque base64url). */
export const cursorOf = (text: string) => Buffer.from(text).toString('base64url');

export const REACTION_FIELDS = /* GraphQL */ `
  fragment ReactionFields on Message {
    id
    reactions { emoji count reactedByMe users { username } }
  }
`;
export const ADD_REACTION = /* GraphQL */ `
  mutation AddReaction($messageId: ID!, $emoji: String!) { addReaction(messageId: $messageId, emoji: $emoji) { ...ReactionFields } }
  ${REACTION_FIELDS}
`;
export const REMOVE_REACTION = /* GraphQL */ `
  mutation RemoveReaction($messageId: ID!, $emoji: String!) { removeReaction(messageId: $messageId, emoji: $emoji) { ...ReactionFields } }
  ${REACTION_FIELDS}
`;
export const PIN = /* GraphQL */ `
  mutation Pin($id: ID!) { pinMessage(id: $id) { id pinnedAt pinnedBy { username } } }
`;
export const UNPIN = /* GraphQL */ `
  mutation Unpin($id: ID!) { unpinMessage(id: $id) { id pinnedAt pinnedBy { username } } }
`;
export const SEARCH = /* GraphQL */ `
  query Search($query: String!, $chatId: ID, $first: Int, $after: String) {
    searchMessages(query: $query, chatId: $chatId, first: $first, after: $after) {
      edges { cursor node { snippet message { id seq text chat { id } } } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
`;
export const BLOCK = /* GraphQL */ `
  mutation Block($username: String!) { blockUser(username: $username) }
`;
export const UNBLOCK = /* GraphQL */ `
  mutation Unblock($username: String!) { unblockUser(username: $username) }
`;

/** Sends `text` as a reply to `replyToId`; throws on errors. */
export async function reply(server: TestServer, sender: SignedUp, chatId: string, replyToId: string, text: string, clientId?: string) {
  return ok(await server.gql(SEND, { input: { chatId, text, replyToId, clientId } }, sender.token), 'sendMessage');
}

export async function react(server: TestServer, user: SignedUp, messageId: string, emoji: string) {
  return ok(await server.gql(ADD_REACTION, { messageId, emoji }, user.token), 'addReaction');
}

export async function block(server: TestServer, blocker: SignedUp, username: string) {
  return ok<boolean>(await server.gql(BLOCK, { username }, blocker.token), 'blockUser');
}

/** searchMessages as `caller`: the raw result (for errors) and the hits' [seq, text, snippet]. */
export async function search(server: TestServer, caller: SignedUp, query: string, args: { chatId?: string; first?: number; after?: string } = {}) {
  const result = await server.gql(SEARCH, { query, ...args }, caller.token);
  const page = result.data?.searchMessages;
  return {
    result,
    page,
    hits: (page?.edges ?? []).map((edge: any) => [edge.node.message.seq, edge.node.message.text, edge.node.snippet] as const),
  };
}
