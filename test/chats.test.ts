import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHAT,
  CREATE_DIRECT,
  CREATE_GROUP,
  DELETE,
  JOIN,
  LEAVE,
  MARK_READ,
  ADD_MEMBER,
  REMOVE_MEMBER,
  addMember,
  codes,
  createDirect,
  createGroup,
  join,
  leave,
  members,
  newUsers,
  ok,
  readChat,
  removeMember,
  send,
  sendMany,
  sortMembers,
  texts,
  tick,
  uniqueName,
} from './helpers/chats.ts';
import { startServer, type TestServer } from './helpers/server.ts';
import type { SignedUp } from './helpers/users.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

const CHATS = /* GraphQL */ `
  query Chats($first: Int, $after: String) {
    chats(first: $first, after: $after) {
      edges { cursor node { id kind name myRole unreadCount lastMessage { seq text } } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;
const PUBLIC_CHATS = /* GraphQL */ `
  query PublicChats($search: String, $first: Int, $after: String) {
    publicChats(search: $search, first: $first, after: $after) {
      edges { cursor node { id name isPublic myRole } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;
const UNREAD = /* GraphQL */ `
  query Unread($id: ID!) { chat(id: $id) { unreadCount members { user { username } lastReadSeq } } }
`;
const SEND_TO = /* GraphQL */ `
  mutation SendTo($toUsername: String!, $text: String!) {
    sendMessage(input: { toUsername: $toUsername, text: $text }) { seq text chat { id kind name } }
  }
`;

const name = (user: SignedUp) => user.user.username;

/** The caller's whole chats list, following pages of `first` chats. */
async function allChats(caller: SignedUp, first = 100) {
  const nodes = [];
  let after: string | undefined;
  for (;;) {
    const page = ok(await server.gql(CHATS, { first, after }, caller.token), 'chats');
    nodes.push(...page.edges.map((edge: any) => edge.node));
    if (!page.pageInfo.hasNextPage) return nodes;
    after = page.pageInfo.endCursor;
  }
}

/** unreadCount and lastReadSeq per member (sorted by username) as `caller` sees them. */
async function readState(caller: SignedUp, chatId: string) {
  return sortMembers(ok(await server.gql(UNREAD, { id: chatId }, caller.token), 'chat'));
}

const readMembers = (...entries: [string, number][]) =>
  members(...entries.map(([username, seq]) => [username, 'MEMBER', seq] as [string, 'MEMBER', number])).map(
    ({ user, lastReadSeq }) => ({ user, lastReadSeq }),
  );

describe('direct chats', () => {
  it('opens a DIRECT chat whose name is the other member, as each side sees it', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await createDirect(server, alice, name(bob));
    expect(chat).toEqual({
      id: expect.any(String),
      kind: 'DIRECT',
      name: name(bob),
      description: null,
      isPublic: false,
      myRole: 'MEMBER',
      messageTtlSeconds: null,
      members: members([name(alice), 'MEMBER'], [name(bob), 'MEMBER']),
    });
    expect((await readChat(server, bob, chat.id)).chat).toEqual({ ...chat, name: name(alice) });
  });

  it('returns the existing chat when either side calls createDirectChat again', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const first = await createDirect(server, alice, name(bob));
    expect(await createDirect(server, alice, name(bob))).toEqual(first);
    expect(await createDirect(server, bob, name(alice))).toEqual({ ...first, name: name(alice) });
  });

  it('opens exactly one chat when both sides call createDirectChat concurrently', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        i % 2 === 0 ? createDirect(server, alice, name(bob)) : createDirect(server, bob, name(alice)),
      ),
    );
    const ids = new Set(results.map((chat) => chat.id));
    expect(ids.size).toBe(1);
    const [id] = ids;
    expect(await allChats(alice)).toEqual([
      { id, kind: 'DIRECT', name: name(bob), myRole: 'MEMBER', unreadCount: 0, lastMessage: null },
    ]);
    expect(await allChats(bob)).toEqual([
      { id, kind: 'DIRECT', name: name(alice), myRole: 'MEMBER', unreadCount: 0, lastMessage: null },
    ]);
  });

  it('refuses an unknown username with NOT_FOUND and yourself with BAD_USER_INPUT, opening nothing', async () => {
    const [alice] = await newUsers(server, 'alice');
    const unknown = await server.gql(CREATE_DIRECT, { username: 'no-such-user' }, alice.token);
    expect(unknown.data).toBeNull();
    expect(codes(unknown)).toEqual(['NOT_FOUND']);
    const self = await server.gql(CREATE_DIRECT, { username: name(alice) }, alice.token);
    expect(self.data).toBeNull();
    expect(codes(self)).toEqual(['BAD_USER_INPUT']);
    expect(await allChats(alice)).toEqual([]);
  });

  it('sendMessage with toUsername opens the direct chat, and later sends reuse it', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const first = ok(await server.gql(SEND_TO, { toUsername: name(bob), text: 'hi bob' }, alice.token), 'sendMessage');
    expect(first).toEqual({ seq: 1, text: 'hi bob', chat: { id: expect.any(String), kind: 'DIRECT', name: name(bob) } });
    expect((await createDirect(server, bob, name(alice))).id).toBe(first.chat.id);
    const second = ok(await server.gql(SEND_TO, { toUsername: name(bob), text: 'again' }, alice.token), 'sendMessage');
    expect(second).toEqual({ seq: 2, text: 'again', chat: first.chat });
    const reply = ok(await server.gql(SEND_TO, { toUsername: name(alice), text: 'hello' }, bob.token), 'sendMessage');
    expect(reply).toEqual({ seq: 3, text: 'hello', chat: { id: first.chat.id, kind: 'DIRECT', name: name(alice) } });
  });
});

describe('group chats', () => {
  it('trims the name, makes the creator OWNER and the listed users MEMBERs, ignoring the creator and duplicates', async () => {
    const [owner, bob, carol] = await newUsers(server, 'owner', 'bob', 'carol');
    const chat = await createGroup(server, owner, {
      name: '  Weekend hike  ',
      description: 'Who brings the map?',
      isPublic: true,
      members: [name(bob), name(carol), name(bob), name(owner)],
    });
    expect(chat).toEqual({
      id: expect.any(String),
      kind: 'GROUP',
      name: 'Weekend hike',
      description: 'Who brings the map?',
      isPublic: true,
      myRole: 'OWNER',
      messageTtlSeconds: null,
      members: members([name(owner), 'OWNER'], [name(bob), 'MEMBER'], [name(carol), 'MEMBER']),
    });
    expect((await readChat(server, bob, chat.id)).chat).toEqual({ ...chat, myRole: 'MEMBER' });
  });

  it('is private, without description and with the creator alone unless told otherwise', async () => {
    const [owner] = await newUsers(server, 'owner');
    expect(await createGroup(server, owner, { name: 'Solo' })).toEqual({
      id: expect.any(String),
      kind: 'GROUP',
      name: 'Solo',
      description: null,
      isPublic: false,
      myRole: 'OWNER',
      messageTtlSeconds: null,
      members: members([name(owner), 'OWNER']),
    });
  });

  it('accepts a name of exactly 100 characters after trimming and a 1000-character description', async () => {
    const [owner] = await newUsers(server, 'owner');
    const chat = await createGroup(server, owner, { name: ` ${'n'.repeat(100)} `, description: 'd'.repeat(1000) });
    expect([chat.name, chat.description]).toEqual(['n'.repeat(100), 'd'.repeat(1000)]);
  });

  it.each([
    ['an empty name', { name: '' }],
    ['a whitespace-only name', { name: ' \t\n ' }],
    ['a name over 100 characters', { name: 'n'.repeat(101) }],
    ['a description over 1000 characters', { name: 'Fine', description: 'd'.repeat(1001) }],
  ])('refuses %s with BAD_USER_INPUT and creates nothing', async (_case, input) => {
    const [owner] = await newUsers(server, 'owner');
    const result = await server.gql(CREATE_GROUP, { input }, owner.token);
    expect(result.data).toBeNull();
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
    expect(await allChats(owner)).toEqual([]);
  });

  it('refuses an unknown member username with NOT_FOUND and creates nothing', async () => {
    const [owner, bob] = await newUsers(server, 'owner', 'bob');
    const result = await server.gql(
      CREATE_GROUP,
      { input: { name: 'Typo', members: [name(bob), 'no-such-user'] } },
      owner.token,
    );
    expect(result.data).toBeNull();
    expect(codes(result)).toEqual(['NOT_FOUND']);
    expect(await allChats(owner)).toEqual([]);
    expect(await allChats(bob)).toEqual([]);
  });
});

describe('joining and leaving', () => {
  it('lets anyone signed in join a public group as MEMBER', async () => {
    const [owner, dora] = await newUsers(server, 'owner', 'dora');
    const chat = await createGroup(server, owner, { name: 'Open house', isPublic: true });
    expect(await join(server, dora, chat.id)).toEqual({
      ...chat,
      myRole: 'MEMBER',
      members: members([name(owner), 'OWNER'], [name(dora), 'MEMBER']),
    });
    expect((await readChat(server, owner, chat.id)).chat.members).toEqual(
      members([name(owner), 'OWNER'], [name(dora), 'MEMBER']),
    );
  });

  it('changes nothing when a member joins a group they already belong to', async () => {
    const [owner, dora] = await newUsers(server, 'owner', 'dora');
    const chat = await createGroup(server, owner, { name: 'Open house', isPublic: true, members: [name(dora)] });
    expect(await join(server, owner, chat.id)).toEqual(chat);
    expect(await join(server, dora, chat.id)).toEqual({ ...chat, myRole: 'MEMBER' });
    expect((await readChat(server, owner, chat.id)).chat).toEqual(chat);
  });

  it('refuses to join a private group or a direct chat of others with NOT_FOUND, adding no one', async () => {
    const [owner, alice, bob, eve] = await newUsers(server, 'owner', 'alice', 'bob', 'eve');
    const group = await createGroup(server, owner, { name: 'Private' });
    const direct = await createDirect(server, alice, name(bob));
    for (const chat of [group, direct]) {
      const result = await server.gql(JOIN, { chatId: chat.id }, eve.token);
      expect(result.data).toBeNull();
      expect(codes(result)).toEqual(['NOT_FOUND']);
    }
    expect((await readChat(server, owner, group.id)).chat).toEqual(group);
    expect((await readChat(server, alice, direct.id)).chat).toEqual(direct);
    expect(await allChats(eve)).toEqual([]);
  });

  it('leaving returns true and takes a private group out of reach', async () => {
    const [owner, bob] = await newUsers(server, 'owner', 'bob');
    const chat = await createGroup(server, owner, { name: 'Team', members: [name(bob)] });
    expect(await server.gql(LEAVE, { chatId: chat.id }, bob.token)).toEqual({ status: 200, data: { leaveChat: true } });
    const { result } = await readChat(server, bob, chat.id);
    expect(result.data).toEqual({ chat: null });
    expect(codes(result)).toEqual(['NOT_FOUND']);
    expect(await allChats(bob)).toEqual([]);
    expect((await readChat(server, owner, chat.id)).chat).toEqual({ ...chat, members: members([name(owner), 'OWNER']) });
  });

  it('refuses to leave a direct chat with BAD_USER_INPUT', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await createDirect(server, alice, name(bob));
    const result = await server.gql(LEAVE, { chatId: chat.id }, alice.token);
    expect(result.data).toBeNull();
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
    expect((await readChat(server, alice, chat.id)).chat).toEqual(chat);
  });

  it('hands ownership to the longest-standing member when the last owner leaves', async () => {
    const [owner, carol, bob, dave] = await newUsers(server, 'owner', 'carol', 'bob', 'dave');
    const chat = await createGroup(server, owner, { name: 'Relay', isPublic: true });
    await tick();
    await addMember(server, owner, chat.id, name(carol));
    await tick();
    await addMember(server, owner, chat.id, name(bob));
    await tick();
    await join(server, dave, chat.id);

    const JOINED = /* GraphQL */ `query($id: ID!) { chat(id: $id) { members { user { username } joinedAt } } }`;
    const joined = ok(await server.gql(JOINED, { id: chat.id }, owner.token), 'chat').members;
    const at = (user: SignedUp) => joined.find((m: any) => m.user.username === name(user)).joinedAt;
    expect(at(carol) < at(bob) && at(bob) < at(dave)).toBe(true);

    expect(await leave(server, owner, chat.id)).toBe(true);
    expect((await readChat(server, carol, chat.id)).chat).toEqual({
      ...chat,
      myRole: 'OWNER',
      members: members([name(carol), 'OWNER'], [name(bob), 'MEMBER'], [name(dave), 'MEMBER']),
    });

    // A member who is not the last owner leaving changes no roles.
    expect(await leave(server, dave, chat.id)).toBe(true);
    expect((await readChat(server, carol, chat.id)).chat.members).toEqual(
      members([name(carol), 'OWNER'], [name(bob), 'MEMBER']),
    );

    expect(await leave(server, carol, chat.id)).toBe(true);
    expect((await readChat(server, bob, chat.id)).chat).toEqual({
      ...chat,
      myRole: 'OWNER',
      members: members([name(bob), 'OWNER']),
    });
  });

  it('deletes a group when its last member leaves: no one can read or join it any more', async () => {
    const [owner, bob, outsider] = await newUsers(server, 'owner', 'bob', 'outsider');
    const groupName = uniqueName('Vanishing');
    const chat = await createGroup(server, owner, { name: groupName, isPublic: true, members: [name(bob)] });
    await send(server, bob, chat.id, 'last words');
    expect(await leave(server, owner, chat.id)).toBe(true);
    expect(await leave(server, bob, chat.id)).toBe(true);

    for (const caller of [owner, bob, outsider]) {
      const { result } = await readChat(server, caller, chat.id);
      expect(result.data).toEqual({ chat: null });
      expect(codes(result)).toEqual(['NOT_FOUND']);
    }
    const rejoin = await server.gql(JOIN, { chatId: chat.id }, bob.token);
    expect(codes(rejoin)).toEqual(['NOT_FOUND']);
    const found = ok(await server.gql(PUBLIC_CHATS, { search: groupName }, outsider.token), 'publicChats');
    expect(found.edges).toEqual([]);
  });
});

describe('managing members', () => {
  it('an owner adds a member, who then sees the chat and its history', async () => {
    const [owner, bob] = await newUsers(server, 'owner', 'bob');
    const chat = await createGroup(server, owner, { name: 'Team' });
    await send(server, owner, chat.id, 'welcome');
    const added = await addMember(server, owner, chat.id, name(bob));
    expect(added.members.map((m: any) => [m.user.username, m.role])).toEqual(
      members([name(owner), 'OWNER'], [name(bob), 'MEMBER']).map((m) => [m.user.username, m.role]),
    );
    const { chat: seenByBob } = await readChat(server, bob, chat.id);
    expect({ ...seenByBob, members: undefined }).toEqual({ ...chat, myRole: 'MEMBER', members: undefined });
    expect(await texts(server, bob, chat.id)).toEqual(['welcome']);
    expect((await allChats(bob)).map((c) => [c.id, c.lastMessage])).toEqual([[chat.id, { seq: 1, text: 'welcome' }]]);
  });

  it('adding someone already in the group returns the chat unchanged', async () => {
    const [owner, bob] = await newUsers(server, 'owner', 'bob');
    const chat = await createGroup(server, owner, { name: 'Team', members: [name(bob)] });
    expect(await addMember(server, owner, chat.id, name(bob))).toEqual(chat);
    expect(await addMember(server, owner, chat.id, name(owner))).toEqual(chat);
    expect((await readChat(server, owner, chat.id)).chat).toEqual(chat);
  });

  it('adding an unknown username is NOT_FOUND and changes nothing', async () => {
    const [owner] = await newUsers(server, 'owner');
    const chat = await createGroup(server, owner, { name: 'Team' });
    const result = await server.gql(ADD_MEMBER, { chatId: chat.id, username: 'no-such-user' }, owner.token);
    expect(result.data).toBeNull();
    expect(codes(result)).toEqual(['NOT_FOUND']);
    expect((await readChat(server, owner, chat.id)).chat).toEqual(chat);
  });

  it('an owner removes a member, who then gets NOT_FOUND for the chat', async () => {
    const [owner, bob, carol] = await newUsers(server, 'owner', 'bob', 'carol');
    const chat = await createGroup(server, owner, { name: 'Team', members: [name(bob), name(carol)] });
    expect(await removeMember(server, owner, chat.id, name(bob))).toEqual({
      ...chat,
      members: members([name(owner), 'OWNER'], [name(carol), 'MEMBER']),
    });
    const { result } = await readChat(server, bob, chat.id);
    expect(result.data).toEqual({ chat: null });
    expect(codes(result)).toEqual(['NOT_FOUND']);
    expect(await allChats(bob)).toEqual([]);
  });

  it('removing a non-member is NOT_FOUND and removing yourself is BAD_USER_INPUT, changing nothing', async () => {
    const [owner, bob, stranger] = await newUsers(server, 'owner', 'bob', 'stranger');
    const chat = await createGroup(server, owner, { name: 'Team', members: [name(bob)] });
    const notMember = await server.gql(REMOVE_MEMBER, { chatId: chat.id, username: name(stranger) }, owner.token);
    expect(codes(notMember)).toEqual(['NOT_FOUND']);
    const unknown = await server.gql(REMOVE_MEMBER, { chatId: chat.id, username: 'no-such-user' }, owner.token);
    expect(codes(unknown)).toEqual(['NOT_FOUND']);
    const self = await server.gql(REMOVE_MEMBER, { chatId: chat.id, username: name(owner) }, owner.token);
    expect(codes(self)).toEqual(['BAD_USER_INPUT']);
    expect((await readChat(server, owner, chat.id)).chat).toEqual(chat);
  });

  it('refuses to add or remove members of a direct chat with BAD_USER_INPUT', async () => {
    const [alice, bob, carol] = await newUsers(server, 'alice', 'bob', 'carol');
    const chat = await createDirect(server, alice, name(bob));
    const add = await server.gql(ADD_MEMBER, { chatId: chat.id, username: name(carol) }, alice.token);
    expect(add.data).toBeNull();
    expect(codes(add)).toEqual(['BAD_USER_INPUT']);
    const remove = await server.gql(REMOVE_MEMBER, { chatId: chat.id, username: name(bob) }, alice.token);
    expect(remove.data).toBeNull();
    expect(codes(remove)).toEqual(['BAD_USER_INPUT']);
    expect((await readChat(server, alice, chat.id)).chat).toEqual(chat);
    expect(await allChats(carol)).toEqual([]);
  });
});

describe('publicChats', () => {
  let searcher: SignedUp;
  let prefix: string;
  let publicNames: string[];

  beforeAll(async () => {
    const [owner, other] = await newUsers(server, 'owner', 'other');
    searcher = other;
    prefix = uniqueName('Qz');
    publicNames = [`${prefix} Rust`, `${prefix} rustaceans`, `${prefix.toLowerCase()} Go`, `${prefix}-Zig`];
    for (const groupName of publicNames) await createGroup(server, owner, { name: groupName, isPublic: true });
    await createGroup(server, owner, { name: `${prefix} secret`, isPublic: false });
    await createGroup(server, owner, { name: `Not ${prefix}`, isPublic: false });
  });

  it('finds public groups whose name starts with the search in any letter case, never private ones', async () => {
    for (const search of [prefix, prefix.toUpperCase(), prefix.toLowerCase()]) {
      const page = ok(await server.gql(PUBLIC_CHATS, { search }, searcher.token), 'publicChats');
      const found = page.edges.map((edge: any) => edge.node);
      expect(found.map((node: any) => node.name).sort()).toEqual([...publicNames].sort());
      expect(found.every((node: any) => node.isPublic === true && node.myRole === null)).toBe(true);
    }
    const narrower = ok(await server.gql(PUBLIC_CHATS, { search: `${prefix} rust` }, searcher.token), 'publicChats');
    expect(narrower.edges.map((edge: any) => edge.node.name).sort()).toEqual([`${prefix} Rust`, `${prefix} rustaceans`]);
  });

  it('pages through the matches without gaps or repeats', async () => {
    const seen: string[] = [];
    let after: string | undefined;
    for (let pages = 0; pages < 10; pages += 1) {
      const page = ok(await server.gql(PUBLIC_CHATS, { search: prefix, first: 1, after }, searcher.token), 'publicChats');
      expect(page.edges).toHaveLength(1);
      seen.push(page.edges[0].node.name);
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toHaveLength(publicNames.length);
    expect([...seen].sort()).toEqual([...publicNames].sort());
  });

  it('shows a public group to a signed-in non-member through chat(id), with myRole null', async () => {
    const page = ok(await server.gql(PUBLIC_CHATS, { search: `${prefix} Rust` }, searcher.token), 'publicChats');
    const id = page.edges.find((edge: any) => edge.node.name === `${prefix} Rust`).node.id;
    const { result, chat } = await readChat(server, searcher, id);
    expect(result.errors).toBeUndefined();
    expect(chat).toEqual({
      id,
      kind: 'GROUP',
      name: `${prefix} Rust`,
      description: null,
      isPublic: true,
      myRole: null,
      messageTtlSeconds: null,
      members: [expect.objectContaining({ role: 'OWNER' })],
    });
  });

  it('matches names by prefix code point by code point, and lists them in code point order', async () => {
    const [owner] = await newUsers(server, 'owner');
    const p = uniqueName('Pz').toLowerCase();
    // A character outside the BMP right after the prefix, one inside the name,
    // and names that only a locale-aware collation would take for matches.
    for (const groupName of [`${p}party🎉`, `${p}part-y`, `${p}party`, `${p}party𝄞s`, `${p}partz`, `${p}Party ii`]) {
      await createGroup(server, owner, { name: groupName, isPublic: true });
    }
    const page = ok(await server.gql(PUBLIC_CHATS, { search: `${p}party` }, searcher.token), 'publicChats');
    expect(page.edges.map((edge: any) => edge.node.name)).toEqual([`${p}party`, `${p}Party ii`, `${p}party𝄞s`, `${p}party🎉`]);
  });

  it.each([0, -1, 101])('refuses a page size of %i with BAD_USER_INPUT', async (first) => {
    const result = await server.gql(PUBLIC_CHATS, { search: prefix, first }, searcher.token);
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('chats list', () => {
  it("lists only the caller's chats, most recent activity first, with lastMessage, unreadCount and myRole", async () => {
    const [alice, bob, carol] = await newUsers(server, 'alice', 'bob', 'carol');
    const older = await createGroup(server, alice, { name: 'Older', members: [name(bob)] });
    await tick();
    const direct = await createDirect(server, alice, name(bob));
    await tick();
    const newer = await createGroup(server, alice, { name: 'Newer' });
    await tick();
    await createGroup(server, carol, { name: 'Not mine', isPublic: true });

    expect((await allChats(alice)).map((chat) => chat.id)).toEqual([newer.id, direct.id, older.id]);

    await tick();
    await send(server, bob, older.id, 'ping');
    expect(await allChats(alice)).toEqual([
      { id: older.id, kind: 'GROUP', name: 'Older', myRole: 'OWNER', unreadCount: 1, lastMessage: { seq: 1, text: 'ping' } },
      { id: newer.id, kind: 'GROUP', name: 'Newer', myRole: 'OWNER', unreadCount: 0, lastMessage: null },
      { id: direct.id, kind: 'DIRECT', name: name(bob), myRole: 'MEMBER', unreadCount: 0, lastMessage: null },
    ]);

    await tick();
    await send(server, alice, direct.id, 'pong');
    expect(await allChats(bob)).toEqual([
      { id: direct.id, kind: 'DIRECT', name: name(alice), myRole: 'MEMBER', unreadCount: 1, lastMessage: { seq: 1, text: 'pong' } },
      { id: older.id, kind: 'GROUP', name: 'Older', myRole: 'MEMBER', unreadCount: 0, lastMessage: { seq: 1, text: 'ping' } },
    ]);
  });

  it('pages with first/after without gaps or repeats', async () => {
    const [owner] = await newUsers(server, 'owner');
    const created = [];
    for (let i = 1; i <= 5; i += 1) {
      created.push((await createGroup(server, owner, { name: `Chat ${i}` })).id);
      await tick();
    }
    const pages: string[][] = [];
    let after: string | undefined;
    for (;;) {
      const page = ok(await server.gql(CHATS, { first: 2, after }, owner.token), 'chats');
      pages.push(page.edges.map((edge: any) => edge.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(pages).toEqual([
      [created[4], created[3]],
      [created[2], created[1]],
      [created[0]],
    ]);
  });

  it.each([0, -1, 101])('refuses a page size of %i with BAD_USER_INPUT', async (first) => {
    const [owner] = await newUsers(server, 'owner');
    const result = await server.gql(CHATS, { first }, owner.token);
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('read markers and unread counts', () => {
  it('counts messages by others after the read marker, ignoring own and deleted messages', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await createGroup(server, alice, { name: 'Unread', members: [name(bob)] });
    const sent = await sendMany(server, bob, chat.id, 3);
    expect(await readState(alice, chat.id)).toEqual({
      unreadCount: 3,
      members: readMembers([name(alice), 0], [name(bob), 3]),
    });
    expect((await readState(bob, chat.id)).unreadCount).toBe(0);

    ok(await server.gql(DELETE, { id: sent[1].id }, bob.token), 'deleteMessage');
    expect((await readState(alice, chat.id)).unreadCount).toBe(2);
  });

  it('sending marks the chat read for the sender up to the sent message', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await createGroup(server, alice, { name: 'Chatter', members: [name(bob)] });
    await sendMany(server, bob, chat.id, 3);
    await send(server, alice, chat.id, 'read you');
    expect(await readState(alice, chat.id)).toEqual({
      unreadCount: 0,
      members: readMembers([name(alice), 4], [name(bob), 3]),
    });
    expect((await readState(bob, chat.id)).unreadCount).toBe(1);
  });

  it('markChatRead moves the marker forward only', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await createGroup(server, alice, { name: 'Markers', members: [name(bob)] });
    await sendMany(server, bob, chat.id, 5);

    const marked = sortMembers(ok(await server.gql(MARK_READ, { chatId: chat.id, seq: 2 }, alice.token), 'markChatRead'));
    expect(marked).toEqual({
      ...chat,
      unreadCount: 3,
      members: members([name(alice), 'OWNER', 2], [name(bob), 'MEMBER', 5]),
    });

    const back = sortMembers(ok(await server.gql(MARK_READ, { chatId: chat.id, seq: 1 }, alice.token), 'markChatRead'));
    expect(back).toEqual(marked);
    expect(await readState(alice, chat.id)).toEqual({
      unreadCount: 3,
      members: readMembers([name(alice), 2], [name(bob), 5]),
    });
  });

  it('markChatRead without seq marks up to the newest message and clamps a seq past it', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await createDirect(server, alice, name(bob));
    await sendMany(server, bob, chat.id, 3);
    const all = ok(await server.gql(MARK_READ, { chatId: chat.id }, alice.token), 'markChatRead');
    expect([all.unreadCount, sortMembers(all).members]).toEqual([
      0,
      members([name(alice), 'MEMBER', 3], [name(bob), 'MEMBER', 3]),
    ]);

    await sendMany(server, bob, chat.id, 2);
    const clamped = ok(await server.gql(MARK_READ, { chatId: chat.id, seq: 99 }, alice.token), 'markChatRead');
    expect([clamped.unreadCount, sortMembers(clamped).members]).toEqual([
      0,
      members([name(alice), 'MEMBER', 5], [name(bob), 'MEMBER', 5]),
    ]);

    // Clamped rather than stored as 99: the next message from bob is unread again.
    await send(server, bob, chat.id, 'one more');
    expect(await readState(alice, chat.id)).toEqual({
      unreadCount: 1,
      members: readMembers([name(alice), 5], [name(bob), 6]),
    });
  });

  it('markChatRead refuses a negative seq with BAD_USER_INPUT and leaves the marker', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await createGroup(server, alice, { name: 'Negative', members: [name(bob)] });
    await sendMany(server, bob, chat.id, 2);
    const result = await server.gql(MARK_READ, { chatId: chat.id, seq: -1 }, alice.token);
    expect(result.data).toBeNull();
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
    expect(await readState(alice, chat.id)).toEqual({
      unreadCount: 2,
      members: readMembers([name(alice), 0], [name(bob), 2]),
    });
  });
});

describe('chat ids', () => {
  it('answers a garbage id or the id of another type with BAD_USER_INPUT, and a gone chat with NOT_FOUND', async () => {
    const [alice] = await newUsers(server, 'alice');
    for (const id of ['garbage', alice.user.id]) {
      const result = await server.gql(CHAT, { id }, alice.token);
      expect(codes(result)).toEqual(['BAD_USER_INPUT']);
    }
    const chat = await createGroup(server, alice, { name: 'Brief' });
    await leave(server, alice, chat.id);
    const { result } = await readChat(server, alice, chat.id);
    expect(result.data).toEqual({ chat: null });
    expect(codes(result)).toEqual(['NOT_FOUND']);
  });
});
