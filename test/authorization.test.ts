import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADD_MEMBER,
  ADD_REACTION,
  CHAT,
  CREATE_DIRECT,
  CREATE_GROUP,
  DELETE,
  EDIT,
  JOIN,
  LEAVE,
  MARK_READ,
  MESSAGES,
  PIN,
  REMOVE_MEMBER,
  REMOVE_REACTION,
  SEARCH,
  SEND,
  SET_TTL,
  UNPIN,
  block,
  codes,
  createDirect,
  createGroup,
  goneChatId,
  goneMessageId,
  members,
  newUsers,
  ok,
  react,
  readChat,
  removeMember,
  send,
  sortMembers,
} from './helpers/chats.ts';
import { connect, errorCodes, live, prime } from './helpers/live.ts';
import { startServer, type GraphQLResponse, type TestServer } from './helpers/server.ts';
import type { SignedUp } from './helpers/users.ts';

let server: TestServer;
/** Ids that are well-formed but name nothing: a deleted group and a deleted message. */
let gone: { chatId: string; messageId: string };

beforeAll(async () => {
  server = await startServer();
  const [someone] = await newUsers(server, 'gonemaker');
  gone = { chatId: await goneChatId(server, someone), messageId: await goneMessageId(server, someone) };
});
afterAll(() => server.stop());

type Role = 'owner' | 'author' | 'other' | 'outsider' | 'removed' | 'anonymous';
type Code = 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | 'BAD_USER_INPUT';
type Users = Record<Exclude<Role, 'anonymous'> | 'newcomer', SignedUp>;

interface Fixture {
  users: Users;
  chatId: string;
  /** What each caller's edit/delete aims at: the author's message, or the removed member's own one. */
  messageIdFor(role: Role): string;
  /** A pinned message, for unpinMessage. */
  pinnedId: string;
  /** Whom each caller tries to remove: "other", or "author" when the caller is "other" itself. */
  victimFor(role: Role): string;
  /** Reads everything a denied write could change, as a member who can still see it all. */
  snapshot(): Promise<unknown>;
}

const name = (user: SignedUp) => user.user.username;

const MESSAGES_WITH_CHAT = /* GraphQL */ `
  query MessagesWithChat($chatId: ID!) {
    messages(chatId: $chatId) { edges { node { id seq text chat { id } author { username } } } }
  }
`;

const SNAPSHOT = /* GraphQL */ `
  query Snapshot($id: ID!) {
    chat(id: $id) {
      id kind name description isPublic messageTtlSeconds myRole unreadCount unreadMentionCount
      lastMessage { id seq text }
      members { user { username } role joinedAt lastReadSeq }
      pinnedMessages { id }
      messages(first: 100) {
        edges {
          node {
            id seq text clientId isEdited editedAt author { username }
            replyTo { id } replyCount pinnedAt pinnedBy { username }
            reactions { emoji count users { username } }
            mentions { username }
          }
        }
      }
    }
  }
`;

async function snapshotAs(viewer: SignedUp, chatId: string) {
  return sortMembers(ok(await server.gql(SNAPSHOT, { id: chatId }, viewer.token), 'chat'));
}

async function freshUsers(): Promise<Users> {
  const [owner, author, other, outsider, removed, newcomer] = await newUsers(
    server,
    'owner',
    'author',
    'other',
    'outsider',
    'removed',
    'newcomer',
  );
  return { owner, author, other, outsider, removed, newcomer };
}

/**
 * A private group of owner, author and other; "removed" was a member (and
 * wrote seq 3) until the owner removed them. Messages: author (1), owner (2,
 * pinned), removed (3); the owner reacted to the author's. The owner and the
 * author block "other": groups ignore blocks, so other has a plain member's
 * rights.
 */
async function groupFixture(isPublic = false): Promise<Fixture> {
  const users = await freshUsers();
  const chat = await createGroup(server, users.owner, {
    name: 'Matrix',
    isPublic,
    members: [name(users.author), name(users.other), name(users.removed)],
  });
  const byAuthor = await send(server, users.author, chat.id, 'by author');
  const byOwner = await send(server, users.owner, chat.id, 'by owner');
  const byRemoved = await send(server, users.removed, chat.id, 'by removed');
  await removeMember(server, users.owner, chat.id, name(users.removed));
  ok(await server.gql(PIN, { id: byOwner.id }, users.owner.token), 'pinMessage');
  await react(server, users.owner, byAuthor.id, '👍');
  for (const blocker of [users.owner, users.author]) await block(server, blocker, name(users.other));
  return {
    users,
    chatId: chat.id,
    messageIdFor: (role) => (role === 'removed' ? byRemoved.id : byAuthor.id),
    pinnedId: byOwner.id,
    victimFor: (role) => name(role === 'other' ? users.author : users.other),
    snapshot: () => snapshotAs(users.owner, chat.id),
  };
}

/**
 * A direct chat of author and other with one message by author (pinned,
 * and reacted to by other); owner, outsider and removed are strangers to it.
 */
async function directFixture(): Promise<Fixture> {
  const users = await freshUsers();
  const chat = await createDirect(server, users.author, name(users.other));
  const byAuthor = await send(server, users.author, chat.id, 'by author');
  ok(await server.gql(PIN, { id: byAuthor.id }, users.author.token), 'pinMessage');
  await react(server, users.other, byAuthor.id, '👍');
  return {
    users,
    chatId: chat.id,
    messageIdFor: () => byAuthor.id,
    pinnedId: byAuthor.id,
    victimFor: (role) => name(role === 'other' ? users.author : users.other),
    snapshot: () => snapshotAs(users.author, chat.id),
  };
}

/**
 * The direct chat of author and other after author blocked other. Messages:
 * author (1, pinned), other (2). Each caller aims at their own message;
 * "victim" is the other member, whom createDirectChat names.
 */
async function blockedDirectFixture(): Promise<Fixture> {
  const users = await freshUsers();
  const chat = await createDirect(server, users.author, name(users.other));
  const byAuthor = await send(server, users.author, chat.id, 'by author');
  const byOther = await send(server, users.other, chat.id, 'by other');
  ok(await server.gql(PIN, { id: byAuthor.id }, users.author.token), 'pinMessage');
  await react(server, users.other, byAuthor.id, '👍');
  await block(server, users.author, name(users.other));
  return {
    users,
    chatId: chat.id,
    messageIdFor: (role) => (role === 'other' ? byOther.id : byAuthor.id),
    pinnedId: byAuthor.id,
    victimFor: (role) => name(role === 'other' ? users.author : users.other),
    snapshot: () => snapshotAs(users.author, chat.id),
  };
}

const tokenOf = (fixture: Fixture, role: Role) => (role === 'anonymous' ? null : fixture.users[role].token);

interface Target {
  chatId: string;
  messageId: string;
  pinnedId: string;
  victim: string;
  newcomer: string;
}

const targetOf = (fixture: Fixture, role: Role): Target => ({
  chatId: fixture.chatId,
  messageId: fixture.messageIdFor(role),
  pinnedId: fixture.pinnedId,
  victim: fixture.victimFor(role),
  newcomer: name(fixture.users.newcomer),
});

/** Every chat/message operation that names a chat or a message, with the root field it answers in. */
const operations: Record<string, { field: string; run(target: Target, token: string | null): Promise<GraphQLResponse> }> = {
  chat: { field: 'chat', run: (t, token) => server.gql(CHAT, { id: t.chatId }, token) },
  messages: { field: 'messages', run: (t, token) => server.gql(MESSAGES, { chatId: t.chatId }, token) },
  // Selecting beyond the author takes history through Prisma rather than the plain-SQL page.
  messagesWithChat: {
    field: 'messages',
    run: (t, token) => server.gql(MESSAGES_WITH_CHAT, { chatId: t.chatId }, token),
  },
  sendMessage: {
    field: 'sendMessage',
    run: (t, token) => server.gql(SEND, { input: { chatId: t.chatId, text: 'intruder' } }, token),
  },
  editMessage: {
    field: 'editMessage',
    run: (t, token) => server.gql(EDIT, { input: { id: t.messageId, text: 'tampered' } }, token),
  },
  deleteMessage: { field: 'deleteMessage', run: (t, token) => server.gql(DELETE, { id: t.messageId }, token) },
  markChatRead: { field: 'markChatRead', run: (t, token) => server.gql(MARK_READ, { chatId: t.chatId }, token) },
  setChatMessageTtl: {
    field: 'setChatMessageTtl',
    run: (t, token) => server.gql(SET_TTL, { chatId: t.chatId, seconds: 60 }, token),
  },
  joinChat: { field: 'joinChat', run: (t, token) => server.gql(JOIN, { chatId: t.chatId }, token) },
  leaveChat: { field: 'leaveChat', run: (t, token) => server.gql(LEAVE, { chatId: t.chatId }, token) },
  addChatMember: {
    field: 'addChatMember',
    run: (t, token) => server.gql(ADD_MEMBER, { chatId: t.chatId, username: t.newcomer }, token),
  },
  removeChatMember: {
    field: 'removeChatMember',
    run: (t, token) => server.gql(REMOVE_MEMBER, { chatId: t.chatId, username: t.victim }, token),
  },
  sendReply: {
    field: 'sendMessage',
    run: (t, token) => server.gql(SEND, { input: { chatId: t.chatId, text: 'intruding reply', replyToId: t.messageId } }, token),
  },
  addReaction: {
    field: 'addReaction',
    run: (t, token) => server.gql(ADD_REACTION, { messageId: t.messageId, emoji: '😈' }, token),
  },
  removeReaction: {
    field: 'removeReaction',
    run: (t, token) => server.gql(REMOVE_REACTION, { messageId: t.messageId, emoji: '👍' }, token),
  },
  pinMessage: { field: 'pinMessage', run: (t, token) => server.gql(PIN, { id: t.messageId }, token) },
  unpinMessage: { field: 'unpinMessage', run: (t, token) => server.gql(UNPIN, { id: t.pinnedId }, token) },
  searchMessages: {
    field: 'searchMessages',
    run: (t, token) => server.gql(SEARCH, { query: 'by', chatId: t.chatId }, token),
  },
  createDirectChat: { field: 'createDirectChat', run: (t, token) => server.gql(CREATE_DIRECT, { username: t.victim }, token) },
};

type Expected = 'ok' | Code;
const NF = 'NOT_FOUND' as const;
const UA = 'UNAUTHENTICATED' as const;
const FB = 'FORBIDDEN' as const;
const BAD = 'BAD_USER_INPUT' as const;

/** Who may do what in a private group (edit/delete aim at the author's message; "removed" at their own). */
const groupMatrix: Record<string, Record<Role, Expected>> = {
  chat: { owner: 'ok', author: 'ok', other: 'ok', outsider: NF, removed: NF, anonymous: UA },
  messages: { owner: 'ok', author: 'ok', other: 'ok', outsider: NF, removed: NF, anonymous: UA },
  messagesWithChat: { owner: 'ok', author: 'ok', other: 'ok', outsider: NF, removed: NF, anonymous: UA },
  sendMessage: { owner: 'ok', author: 'ok', other: 'ok', outsider: NF, removed: NF, anonymous: UA },
  editMessage: { owner: FB, author: 'ok', other: FB, outsider: NF, removed: NF, anonymous: UA },
  deleteMessage: { owner: 'ok', author: 'ok', other: FB, outsider: NF, removed: NF, anonymous: UA },
  markChatRead: { owner: 'ok', author: 'ok', other: 'ok', outsider: NF, removed: NF, anonymous: UA },
  setChatMessageTtl: { owner: 'ok', author: FB, other: FB, outsider: NF, removed: NF, anonymous: UA },
  joinChat: { owner: 'ok', author: 'ok', other: 'ok', outsider: NF, removed: NF, anonymous: UA },
  leaveChat: { owner: 'ok', author: 'ok', other: 'ok', outsider: NF, removed: NF, anonymous: UA },
  addChatMember: { owner: 'ok', author: FB, other: FB, outsider: NF, removed: NF, anonymous: UA },
  removeChatMember: { owner: 'ok', author: FB, other: FB, outsider: NF, removed: NF, anonymous: UA },
  sendReply: { owner: 'ok', author: 'ok', other: 'ok', outsider: NF, removed: NF, anonymous: UA },
  addReaction: { owner: 'ok', author: 'ok', other: 'ok', outsider: NF, removed: NF, anonymous: UA },
  removeReaction: { owner: 'ok', author: 'ok', other: 'ok', outsider: NF, removed: NF, anonymous: UA },
  pinMessage: { owner: 'ok', author: FB, other: FB, outsider: NF, removed: NF, anonymous: UA },
  unpinMessage: { owner: 'ok', author: FB, other: FB, outsider: NF, removed: NF, anonymous: UA },
  searchMessages: { owner: 'ok', author: 'ok', other: 'ok', outsider: NF, removed: NF, anonymous: UA },
};

/** The same for a direct chat of author and other; everyone else is a stranger to it. */
const directMatrix: Record<string, Partial<Record<Role, Expected>>> = {
  chat: { author: 'ok', other: 'ok', outsider: NF, anonymous: UA },
  messages: { author: 'ok', other: 'ok', outsider: NF, anonymous: UA },
  messagesWithChat: { author: 'ok', other: 'ok', outsider: NF, anonymous: UA },
  sendMessage: { author: 'ok', other: 'ok', outsider: NF, anonymous: UA },
  editMessage: { author: 'ok', other: FB, outsider: NF, anonymous: UA },
  deleteMessage: { author: 'ok', other: FB, outsider: NF, anonymous: UA },
  markChatRead: { author: 'ok', other: 'ok', outsider: NF, anonymous: UA },
  setChatMessageTtl: { author: 'ok', other: 'ok', outsider: NF, anonymous: UA },
  joinChat: { outsider: NF, anonymous: UA },
  leaveChat: { author: BAD, other: BAD, outsider: NF, anonymous: UA },
  addChatMember: { author: BAD, other: BAD, outsider: NF, anonymous: UA },
  removeChatMember: { author: BAD, other: BAD, outsider: NF, anonymous: UA },
  sendReply: { author: 'ok', other: 'ok', outsider: NF, anonymous: UA },
  addReaction: { author: 'ok', other: 'ok', outsider: NF, anonymous: UA },
  removeReaction: { author: 'ok', other: 'ok', outsider: NF, anonymous: UA },
  pinMessage: { author: 'ok', other: 'ok', outsider: NF, anonymous: UA },
  unpinMessage: { author: 'ok', other: 'ok', outsider: NF, anonymous: UA },
  searchMessages: { author: 'ok', other: 'ok', outsider: NF, anonymous: UA },
};

/** The direct chat after author blocked other: other may read and take back, not write; author is unaffected. */
const blockedDirectMatrix: Record<string, Partial<Record<Role, Expected>>> = {
  chat: { author: 'ok', other: 'ok' },
  messages: { author: 'ok', other: 'ok' },
  sendMessage: { author: 'ok', other: FB },
  sendReply: { author: 'ok', other: FB },
  editMessage: { author: 'ok', other: FB },
  deleteMessage: { author: 'ok', other: 'ok' },
  addReaction: { author: 'ok', other: FB },
  removeReaction: { author: 'ok', other: 'ok' },
  pinMessage: { author: 'ok', other: FB },
  unpinMessage: { author: 'ok', other: FB },
  searchMessages: { author: 'ok', other: 'ok' },
  markChatRead: { author: 'ok', other: 'ok' },
  createDirectChat: { author: 'ok', other: FB },
};

/** The operations and roles a matrix allows. */
function allowedCases(matrix: Record<string, Partial<Record<Role, Expected>>>) {
  return Object.entries(matrix).flatMap(([operation, row]) =>
    Object.entries(row)
      .filter(([, expected]) => expected === 'ok')
      .map(([role]) => [operation, role as Role] as const),
  );
}

function deniedCases(matrix: Record<string, Partial<Record<Role, Expected>>>) {
  return Object.entries(matrix).flatMap(([operation, row]) =>
    Object.entries(row)
      .filter(([, expected]) => expected !== 'ok')
      .map(([role, expected]) => [operation, role as Role, expected as Code] as const),
  );
}

/**
 * Runs `operation` as `role`, expects exactly `code` and no data, and that the
 * chat reads back exactly as before. A NOT_FOUND must look exactly like the
 * answer for an id that does not exist.
 */
async function expectDenied(fixture: Fixture, operation: string, role: Role, code: Code) {
  const { field, run } = operations[operation]!;
  const before = await fixture.snapshot();
  const result = await run(targetOf(fixture, role), tokenOf(fixture, role));
  expect(codes(result)).toEqual([code]);
  expect(result.data?.[field] ?? null).toBeNull();
  expect(await fixture.snapshot()).toEqual(before);
  if (code === 'NOT_FOUND') {
    const nonexistent = await run({ ...targetOf(fixture, role), ...gone }, tokenOf(fixture, role));
    expect(result.errors).toEqual(nonexistent.errors);
  }
}

describe('private group: denied', () => {
  it.each(deniedCases(groupMatrix))('%s as %s is %s and changes nothing', async (operation, role, code) => {
    await expectDenied(await groupFixture(), operation, role, code);
  });

  it("a member deleting the owner's message is FORBIDDEN and changes nothing", async () => {
    const fixture = await groupFixture();
    const ownerMessage = (await messagesOf(fixture.users.owner, fixture.chatId)).find((m) => m.text === 'by owner')!;
    const before = await fixture.snapshot();
    const result = await server.gql(DELETE, { id: ownerMessage.id }, fixture.users.author.token);
    expect(result.data).toBeNull();
    expect(codes(result)).toEqual(['FORBIDDEN']);
    expect(await fixture.snapshot()).toEqual(before);
  });
});

describe('direct chat: denied', () => {
  it.each(deniedCases(directMatrix))('%s as %s is %s and changes nothing', async (operation, role, code) => {
    await expectDenied(await directFixture(), operation, role, code);
  });
});

/** The matrix rows of the rich-messaging operations, whose allowed cases are run generically. */
const RICH = ['sendReply', 'addReaction', 'removeReaction', 'pinMessage', 'unpinMessage', 'searchMessages'];
const rows = (matrix: Record<string, Partial<Record<Role, Expected>>>, names: string[]) =>
  Object.fromEntries(Object.entries(matrix).filter(([operation]) => names.includes(operation)));

describe.each([
  ['private group', groupMatrix, () => groupFixture()],
  ['direct chat', directMatrix, directFixture],
] as const)('%s: allowed rich messaging', (_chat, matrix, fixture) => {
  it.each(allowedCases(rows(matrix, RICH)))('%s as %s succeeds', async (operation, role) => {
    const f = await fixture();
    const { field, run } = operations[operation]!;
    const result = await run(targetOf(f, role), tokenOf(f, role));
    expect(result.errors).toBeUndefined();
    expect(result.data?.[field]).not.toBeNull();
  });
});

describe('direct chat with a block: denied', () => {
  it.each(deniedCases(blockedDirectMatrix))('%s as %s is %s and changes nothing', async (operation, role, code) => {
    await expectDenied(await blockedDirectFixture(), operation, role, code);
  });
});

describe('direct chat with a block: allowed', () => {
  it.each(allowedCases(blockedDirectMatrix))('%s as %s succeeds', async (operation, role) => {
    const f = await blockedDirectFixture();
    const { field, run } = operations[operation]!;
    const result = await run(targetOf(f, role), tokenOf(f, role));
    expect(result.errors).toBeUndefined();
    expect(result.data?.[field]).not.toBeNull();
  });
});

describe('messageUpdated subscription', () => {
  const UPDATED = /* GraphQL */ `subscription($chatId: ID) { messageUpdated(chatId: $chatId) { id reactions { emoji count } } }`;

  it('delivers to every member (a blocked one too: groups ignore blocks), and refuses outsiders and removed members with NOT_FOUND', async () => {
    const f = await groupFixture();
    const members = [f.users.owner, f.users.author, f.users.other];
    const subs = await Promise.all(members.map(async (member) => live((await connect(server, member)).client, UPDATED, { chatId: f.chatId })));
    for (const stranger of [f.users.outsider, f.users.removed]) {
      const refused = live((await connect(server, stranger)).client, UPDATED, { chatId: f.chatId });
      expect(errorCodes(await refused.failure())).toEqual(['NOT_FOUND']);
    }
    const probe = await send(server, f.users.owner, f.chatId, 'probe');
    let count = 0;
    await prime(subs, () => react(server, f.users.owner, probe.id, ['😀', '😁', '😂', '🤣', '😃'][count++ % 5]!));
    const target = f.messageIdFor('author');
    await react(server, f.users.other, target, '🎉');
    for (const sub of subs) {
      // Priming's last events may still arrive before it; they are the probe's.
      await sub.until(() => sub.fresh.some((event) => event.id === target));
      expect(sub.fresh.filter((event) => event.id !== probe.id)).toEqual([
        { id: target, reactions: [{ emoji: '👍', count: 1 }, { emoji: '🎉', count: 1 }] },
      ]);
    }
  });

  it('is UNAUTHENTICATED without a token', async () => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: UPDATED, variables: {} }),
    });
    const body = await response.text();
    const data = body.split('\n').find((line) => line.startsWith('data:'));
    expect(JSON.parse(data!.slice(5)).errors.map((error: any) => error.extensions.code)).toEqual(['UNAUTHENTICATED']);
  });
});

async function messagesOf(viewer: SignedUp, chatId: string): Promise<{ id: string; seq: number; text: string }[]> {
  const page = ok(await server.gql(MESSAGES, { chatId, first: 100 }, viewer.token), 'messages');
  return page.edges.map((edge: any) => ({ id: edge.node.id, seq: edge.node.seq, text: edge.node.text }));
}

describe('anonymous callers', () => {
  it.each([
    ['chats', /* GraphQL */ `query { chats { edges { cursor } } }`, {}],
    ['publicChats', /* GraphQL */ `query { publicChats { edges { cursor } } }`, {}],
    ['createDirectChat', CREATE_DIRECT, { username: 'anyone' }],
    ['createGroupChat', CREATE_GROUP, { input: { name: 'Anonymous' } }],
    ['sendMessage with toUsername', SEND, { input: { toUsername: 'anyone', text: 'hi' } }],
  ])('%s is UNAUTHENTICATED', async (_operation, query, variables) => {
    const result = await server.gql(query, variables);
    expect(result.data).toBeNull();
    expect(codes(result)).toEqual(['UNAUTHENTICATED']);
  });

  it('creates nothing when refused', async () => {
    const [target] = await newUsers(server, 'target');
    await server.gql(CREATE_DIRECT, { username: name(target) });
    await server.gql(SEND, { input: { toUsername: name(target), text: 'hi' } });
    const chats = ok(await server.gql(/* GraphQL */ `query { chats { edges { cursor } } }`, {}, target.token), 'chats');
    expect(chats.edges).toEqual([]);
  });
});

describe('private group: allowed', () => {
  it('every member reads the chat with their own role; outsiders and removed members do not list it', async () => {
    const f = await groupFixture();
    const expected = {
      id: f.chatId,
      kind: 'GROUP',
      name: 'Matrix',
      description: null,
      isPublic: false,
      messageTtlSeconds: null,
      members: members(
        [name(f.users.owner), 'OWNER', 2],
        [name(f.users.author), 'MEMBER', 1],
        [name(f.users.other), 'MEMBER', 0],
      ),
    };
    expect((await readChat(server, f.users.owner, f.chatId)).chat).toEqual({ ...expected, myRole: 'OWNER' });
    expect((await readChat(server, f.users.author, f.chatId)).chat).toEqual({ ...expected, myRole: 'MEMBER' });
    expect((await readChat(server, f.users.other, f.chatId)).chat).toEqual({ ...expected, myRole: 'MEMBER' });
    for (const stranger of [f.users.outsider, f.users.removed]) {
      const chats = ok(await server.gql(/* GraphQL */ `query { chats { edges { node { id } } } }`, {}, stranger.token), 'chats');
      expect(chats.edges).toEqual([]);
    }
  });

  it('every member reads the whole history, including what the removed member wrote', async () => {
    const f = await groupFixture();
    for (const member of [f.users.owner, f.users.author, f.users.other]) {
      expect((await messagesOf(member, f.chatId)).map((m) => [m.seq, m.text])).toEqual([
        [1, 'by author'],
        [2, 'by owner'],
        [3, 'by removed'],
      ]);
    }
  });

  it('every member can send', async () => {
    const f = await groupFixture();
    for (const [i, member] of [f.users.owner, f.users.author, f.users.other].entries()) {
      const message = await send(server, member, f.chatId, `hello ${i}`);
      expect([message.seq, message.author]).toEqual([4 + i, { username: name(member) }]);
    }
  });

  it('the author edits their message', async () => {
    const f = await groupFixture();
    const result = ok(
      await server.gql(EDIT, { input: { id: f.messageIdFor('author'), text: 'by author, edited' } }, f.users.author.token),
      'editMessage',
    );
    expect([result.id, result.seq, result.text, result.isEdited]).toEqual([f.messageIdFor('author'), 1, 'by author, edited', true]);
    expect((await messagesOf(f.users.other, f.chatId))[0]!.text).toBe('by author, edited');
  });

  it("the author deletes their own message, and the owner deletes a member's", async () => {
    const f = await groupFixture();
    const second = await send(server, f.users.author, f.chatId, 'another by author');
    expect(ok(await server.gql(DELETE, { id: second.id }, f.users.author.token), 'deleteMessage')).toEqual({
      id: second.id,
      chatId: f.chatId,
      seq: 4,
    });
    expect(ok(await server.gql(DELETE, { id: f.messageIdFor('author') }, f.users.owner.token), 'deleteMessage')).toEqual({
      id: f.messageIdFor('author'),
      chatId: f.chatId,
      seq: 1,
    });
    expect((await messagesOf(f.users.other, f.chatId)).map((m) => m.seq)).toEqual([2, 3]);
  });

  it('each member moves only their own read marker', async () => {
    const f = await groupFixture();
    const marked = ok(await server.gql(MARK_READ, { chatId: f.chatId }, f.users.other.token), 'markChatRead');
    expect(sortMembers(marked).members).toEqual(
      members([name(f.users.owner), 'OWNER', 2], [name(f.users.author), 'MEMBER', 1], [name(f.users.other), 'MEMBER', 3]),
    );
    expect(marked.unreadCount).toBe(0);
  });

  it('the owner sets and clears the message TTL', async () => {
    const f = await groupFixture();
    expect(ok(await server.gql(SET_TTL, { chatId: f.chatId, seconds: 60 }, f.users.owner.token), 'setChatMessageTtl').messageTtlSeconds).toBe(60);
    expect((await readChat(server, f.users.other, f.chatId)).chat.messageTtlSeconds).toBe(60);
    expect(ok(await server.gql(SET_TTL, { chatId: f.chatId, seconds: null }, f.users.owner.token), 'setChatMessageTtl').messageTtlSeconds).toBeNull();
  });

  it('a member who joins again changes nothing', async () => {
    const f = await groupFixture();
    const before = await f.snapshot();
    for (const member of [f.users.owner, f.users.author, f.users.other]) {
      expect(codes(await server.gql(JOIN, { chatId: f.chatId }, member.token))).toBeUndefined();
    }
    expect(await f.snapshot()).toEqual(before);
  });

  it('a member leaves and is then treated like any outsider', async () => {
    const f = await groupFixture();
    expect(await server.gql(LEAVE, { chatId: f.chatId }, f.users.other.token)).toEqual({ status: 200, data: { leaveChat: true } });
    await expectDenied({ ...f, users: { ...f.users, outsider: f.users.other } }, 'messages', 'outsider', 'NOT_FOUND');
  });

  it('the owner adds and removes members; a removed member loses access at once', async () => {
    const f = await groupFixture();
    const added = sortMembers(
      ok(await server.gql(ADD_MEMBER, { chatId: f.chatId, username: name(f.users.newcomer) }, f.users.owner.token), 'addChatMember'),
    );
    expect(added.members.map((m: any) => m.user.username)).toContain(name(f.users.newcomer));
    expect((await messagesOf(f.users.newcomer, f.chatId)).map((m) => m.seq)).toEqual([1, 2, 3]);

    const removed = sortMembers(
      ok(await server.gql(REMOVE_MEMBER, { chatId: f.chatId, username: name(f.users.other) }, f.users.owner.token), 'removeChatMember'),
    );
    expect(removed.members.map((m: any) => m.user.username)).not.toContain(name(f.users.other));
    expect(codes(await server.gql(MESSAGES, { chatId: f.chatId }, f.users.other.token))).toEqual(['NOT_FOUND']);
  });
});

describe('direct chat: allowed', () => {
  it('either member sets the message TTL', async () => {
    const f = await directFixture();
    expect(ok(await server.gql(SET_TTL, { chatId: f.chatId, seconds: 30 }, f.users.author.token), 'setChatMessageTtl').messageTtlSeconds).toBe(30);
    expect(ok(await server.gql(SET_TTL, { chatId: f.chatId, seconds: 90 }, f.users.other.token), 'setChatMessageTtl').messageTtlSeconds).toBe(90);
    expect((await readChat(server, f.users.author, f.chatId)).chat.messageTtlSeconds).toBe(90);
  });

  it('both members read and write; only the author edits and deletes', async () => {
    const f = await directFixture();
    expect((await send(server, f.users.other, f.chatId, 'reply')).seq).toBe(2);
    const edited = ok(await server.gql(EDIT, { input: { id: f.messageIdFor('author'), text: 'fixed' } }, f.users.author.token), 'editMessage');
    expect(edited.text).toBe('fixed');
    ok(await server.gql(DELETE, { id: f.messageIdFor('author') }, f.users.author.token), 'deleteMessage');
    expect((await messagesOf(f.users.other, f.chatId)).map((m) => [m.seq, m.text])).toEqual([[2, 'reply']]);
  });
});

describe('public group', () => {
  it('any signed-in user reads the chat (myRole null) but not its messages until joining', async () => {
    const f = await groupFixture(true);
    const { result, chat } = await readChat(server, f.users.outsider, f.chatId);
    expect(result.errors).toBeUndefined();
    expect(chat).toEqual(
      expect.objectContaining({ id: f.chatId, kind: 'GROUP', name: 'Matrix', isPublic: true, myRole: null }),
    );

    for (const operation of ['messages', 'messagesWithChat', 'sendMessage', 'editMessage', 'deleteMessage', 'markChatRead', 'leaveChat', 'setChatMessageTtl']) {
      await expectDenied(f, operation, 'outsider', 'NOT_FOUND');
    }
    const nested = await server.gql(
      /* GraphQL */ `query($id: ID!) { chat(id: $id) { messages { edges { node { text } } } } }`,
      { id: f.chatId },
      f.users.outsider.token,
    );
    expect(codes(nested)).toEqual(['NOT_FOUND']);

    ok(await server.gql(JOIN, { chatId: f.chatId }, f.users.outsider.token), 'joinChat');
    expect((await messagesOf(f.users.outsider, f.chatId)).map((m) => m.seq)).toEqual([1, 2, 3]);
  });

  it('a removed member may join a public group again by themself', async () => {
    const f = await groupFixture(true);
    const rejoined = sortMembers(ok(await server.gql(JOIN, { chatId: f.chatId }, f.users.removed.token), 'joinChat'));
    expect(rejoined.myRole).toBe('MEMBER');
    expect((await messagesOf(f.users.removed, f.chatId)).map((m) => m.seq)).toEqual([1, 2, 3]);
  });
});

describe('public group: what outsiders see', () => {
  const OUTSIDER_VIEW = /* GraphQL */ `
    fragment OutsiderView on Chat {
      name
      lastMessage { text author { username } }
      members { user { username } lastReadSeq }
    }
  `;

  it('chat(id) and publicChats show outsiders no last message and no read positions', async () => {
    const f = await groupFixture(true);
    await server.gql(MARK_READ, { chatId: f.chatId }, f.users.other.token);
    const expected = {
      name: 'Matrix',
      lastMessage: null,
      members: members([name(f.users.owner), 'OWNER', 0], [name(f.users.author), 'MEMBER', 0], [name(f.users.other), 'MEMBER', 0])
        .map(({ user, lastReadSeq }) => ({ user, lastReadSeq })),
    };
    const byId = ok(
      await server.gql(`query($id: ID!) { chat(id: $id) { ...OutsiderView } } ${OUTSIDER_VIEW}`, { id: f.chatId }, f.users.outsider.token),
      'chat',
    );
    expect(sortMembers(byId)).toEqual(expected);
    const listed = ok(
      await server.gql(`query { publicChats(search: "Matrix", first: 100) { edges { node { id ...OutsiderView } } } } ${OUTSIDER_VIEW}`, {}, f.users.outsider.token),
      'publicChats',
    );
    const node = listed.edges.find((edge: any) => edge.node.id === f.chatId).node;
    expect(sortMembers({ ...node, id: undefined })).toEqual({ ...expected, id: undefined });
  });

  it("members see the last message and everyone's read positions", async () => {
    const f = await groupFixture(true);
    await server.gql(MARK_READ, { chatId: f.chatId }, f.users.other.token);
    const chat = ok(
      await server.gql(`query($id: ID!) { chat(id: $id) { ...OutsiderView } } ${OUTSIDER_VIEW}`, { id: f.chatId }, f.users.author.token),
      'chat',
    );
    expect(sortMembers(chat)).toEqual({
      name: 'Matrix',
      lastMessage: { text: 'by removed', author: { username: name(f.users.removed) } },
      members: members([name(f.users.owner), 'OWNER', 2], [name(f.users.author), 'MEMBER', 1], [name(f.users.other), 'MEMBER', 3])
        .map(({ user, lastReadSeq }) => ({ user, lastReadSeq })),
    });
  });

  it('memberCount counts members for members and outsiders alike', async () => {
    const f = await groupFixture(true);
    for (const viewer of [f.users.owner, f.users.outsider]) {
      const chat = ok(await server.gql(`query($id: ID!) { chat(id: $id) { memberCount } }`, { id: f.chatId }, viewer.token), 'chat');
      expect(chat).toEqual({ memberCount: 3 });
    }
  });
});

describe('node(id)', () => {
  const NODE = /* GraphQL */ `query Node($id: ID!) { node(id: $id) { __typename id } }`;
  type Target = 'Chat' | 'Message' | 'Session' | 'User';
  const viewers = ['author', 'other', 'outsider', 'removed', 'anonymous'] as const;
  /** Who sees what through node(id): the chat and a message of a private group, the author's session, the author. */
  const visible: Record<(typeof viewers)[number], Target[]> = {
    author: ['Chat', 'Message', 'Session', 'User'],
    other: ['Chat', 'Message', 'User'],
    outsider: ['User'],
    removed: ['User'],
    anonymous: [],
  };

  it.each(viewers)('as %s shows exactly what the typed queries show, and null for the rest', async (viewer) => {
    const f = await groupFixture();
    const ids: Record<Target, string> = {
      Chat: f.chatId,
      Message: f.messageIdFor('author'),
      Session: f.users.author.session.id,
      User: f.users.author.user.id,
    };
    const token = viewer === 'anonymous' ? null : f.users[viewer].token;
    const seen: Record<string, unknown> = {};
    for (const [type, id] of Object.entries(ids)) {
      const result = await server.gql(NODE, { id }, token);
      expect(result.errors).toBeUndefined();
      seen[type] = result.data.node;
    }
    expect(seen).toEqual(
      Object.fromEntries(
        Object.entries(ids).map(([type, id]) => [type, visible[viewer].includes(type as Target) ? { __typename: type, id } : null]),
      ),
    );
  });
});
