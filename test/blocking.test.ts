import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ADD_REACTION,
  BLOCK,
  CREATE_DIRECT,
  DELETE,
  EDIT,
  PIN,
  REMOVE_REACTION,
  SEND,
  UNBLOCK,
  block,
  codes,
  createDirect,
  createGroup,
  history,
  newUsers,
  ok,
  react,
  send,
  sleep,
} from './helpers/chats.ts';
import { QUIET_MS, connect, eventually, live, liveGauges, prime } from './helpers/live.ts';
import { startServer, testConfig, type TestServer } from './helpers/server.ts';
import type { SignedUp } from './helpers/users.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer(testConfig({ TYPING_TIMEOUT_SECONDS: '30' }));
});
afterAll(() => server.stop());

const name = (user: SignedUp) => user.user.username;
const BLOCKED_USERS = /* GraphQL */ `query { blockedUsers { username } }`;
const CHATS = /* GraphQL */ `query { chats(first: 20) { edges { node { id name } } } }`;
const PRESENCE = /* GraphQL */ `query($username: String!) { user(username: $username) { online lastSeenAt } }`;
const SET_TYPING = /* GraphQL */ `mutation($chatId: ID!, $typing: Boolean!) { setTyping(chatId: $chatId, typing: $typing) }`;
const TYPING = /* GraphQL */ `subscription($chatId: ID!) { typing(chatId: $chatId) { user { username } typing } }`;

async function blockedUsers(user: SignedUp) {
  return ok(await server.gql(BLOCKED_USERS, {}, user.token), 'blockedUsers').map((blocked: any) => blocked.username);
}

/** `user`'s presence as `viewer` sees it. */
async function presenceAs(viewer: SignedUp, user: SignedUp) {
  return ok(await server.gql(PRESENCE, { username: name(user) }, viewer.token), 'user');
}

const chatSubscribers = async () => (await liveGauges(server)).messenger_chat_subscribers;

/**
 * Waits until live delivery follows `count` more chat subscriptions than
 * `before`. Typing events carry nothing to tell a priming one from a later
 * one, and a direct chat has no third member to prime with, so these tests
 * know their subscriptions are live from the server's gauge instead.
 */
async function following(before: number, count: number) {
  await eventually(async () => (await chatSubscribers()) >= before + count, 5_000, `${count} more chat subscribers`);
}

async function typing(user: SignedUp, chatId: string, state: boolean) {
  ok(await server.gql(SET_TYPING, { chatId, typing: state }, user.token), 'setTyping');
}

describe('blockUser, unblockUser and blockedUsers', () => {
  it('lists whom the caller blocked, by username; blocking or unblocking twice changes nothing', async () => {
    const [alice, zed, bob] = await newUsers(server, 'alice', 'zed', 'bob');
    expect(await block(server, alice, name(zed))).toBe(true);
    expect(await block(server, alice, name(bob).toUpperCase())).toBe(true);
    expect(await block(server, alice, name(bob))).toBe(true);
    expect(await blockedUsers(alice)).toEqual([name(bob), name(zed)]);
    expect(await blockedUsers(bob)).toEqual([]);
    for (let i = 0; i < 2; i += 1) expect(ok(await server.gql(UNBLOCK, { username: name(zed) }, alice.token), 'unblockUser')).toBe(true);
    expect(await blockedUsers(alice)).toEqual([name(bob)]);
  });

  it('answers blocking oneself with BAD_USER_INPUT, an unknown user with NOT_FOUND, and no token with UNAUTHENTICATED', async () => {
    const [alice] = await newUsers(server, 'alice');
    for (const [query, field] of [
      [BLOCK, 'blockUser'],
      [UNBLOCK, 'unblockUser'],
    ] as const) {
      for (const [username, token, code] of [
        [name(alice), alice.token, 'BAD_USER_INPUT'],
        ['no-such-user', alice.token, 'NOT_FOUND'],
        [name(alice), null, 'UNAUTHENTICATED'],
      ] as const) {
        const result = await server.gql(query, { username }, token);
        expect([result.data?.[field] ?? null, codes(result)]).toEqual([null, [code]]);
      }
    }
    expect(codes(await server.gql(BLOCKED_USERS, {}))).toEqual(['UNAUTHENTICATED']);
    expect(await blockedUsers(alice)).toEqual([]);
  });
});

describe('a blocked user in direct chats', () => {
  it('cannot open a direct chat with the blocker, by createDirectChat or sendMessage(toUsername): FORBIDDEN, nothing created', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    await block(server, alice, name(bob));
    const created = await server.gql(CREATE_DIRECT, { username: name(alice) }, bob.token);
    expect([created.data, codes(created)]).toEqual([null, ['FORBIDDEN']]);
    const sent = await server.gql(SEND, { input: { toUsername: name(alice), text: 'hi?' } }, bob.token);
    expect([sent.data, codes(sent)]).toEqual([null, ['FORBIDDEN']]);
    expect(ok(await server.gql(CHATS, {}, alice.token), 'chats').edges).toEqual([]);
    expect(ok(await server.gql(CHATS, {}, bob.token), 'chats').edges).toEqual([]);
  });

  it('cannot send, edit, react or pin in an existing one: FORBIDDEN and nothing stored; the blocker still can, and unblocking restores it', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await createDirect(server, alice, name(bob));
    const byAlice = await send(server, alice, chat.id, 'hello bob');
    const byBob = await send(server, bob, chat.id, 'hello alice');
    await block(server, alice, name(bob));
    const before = await history(server, alice, chat.id);
    for (const [query, variables] of [
      [SEND, { input: { chatId: chat.id, text: 'please' } }],
      [SEND, { input: { chatId: chat.id, text: 'please', replyToId: byAlice.id } }],
      [EDIT, { input: { id: byBob.id, text: 'edited' } }],
      [ADD_REACTION, { messageId: byAlice.id, emoji: '😢' }],
      [PIN, { id: byAlice.id }],
    ] as const) {
      const result = await server.gql(query, variables, bob.token);
      expect([result.data, codes(result)]).toEqual([null, ['FORBIDDEN']]);
    }
    expect(await history(server, alice, chat.id)).toEqual(before);
    expect((await send(server, alice, chat.id, 'still talking')).seq).toBe(3);
    ok(await server.gql(UNBLOCK, { username: name(bob) }, alice.token), 'unblockUser');
    expect((await send(server, bob, chat.id, 'thanks')).seq).toBe(4);
  });

  it('may still read the chat and delete their own messages', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await createDirect(server, alice, name(bob));
    const byBob = await send(server, bob, chat.id, 'regrettable');
    await send(server, alice, chat.id, 'goodbye');
    await block(server, alice, name(bob));
    expect((await history(server, bob, chat.id)).edges.map((edge: any) => edge.node.text)).toEqual(['regrettable', 'goodbye']);
    ok(await server.gql(DELETE, { id: byBob.id }, bob.token), 'deleteMessage');
    expect((await history(server, alice, chat.id)).edges.map((edge: any) => edge.node.text)).toEqual(['goodbye']);
  });
});

describe('what the blocker hears', () => {
  it("gets nothing live of the blocked user in a direct chat (deletions, reactions, typing), and everything again after unblocking", async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await createDirect(server, alice, name(bob));
    const byBob = await send(server, bob, chat.id, 'old news');
    const target = await send(server, alice, chat.id, 'react here');
    await react(server, bob, target.id, '👍');
    const client = (await connect(server, alice)).client;
    const before = await chatSubscribers();
    const deleted = live(client, `subscription($chatId: ID) { messageDeleted(chatId: $chatId) { id } }`, { chatId: chat.id });
    const updated = live(client, `subscription { messageUpdated { id reactions { emoji count } } }`);
    const typed = live(client, TYPING, { chatId: chat.id });
    await following(before, 3);

    await block(server, alice, name(bob));
    ok(await server.gql(DELETE, { id: byBob.id }, bob.token), 'deleteMessage');
    ok(await server.gql(REMOVE_REACTION, { messageId: target.id, emoji: '👍' }, bob.token), 'removeReaction');
    await typing(bob, chat.id, true);
    await typing(bob, chat.id, false);
    ok(await server.gql(UNBLOCK, { username: name(bob) }, alice.token), 'unblockUser');
    await typing(bob, chat.id, true);
    await react(server, bob, target.id, '🎉');
    const last = await send(server, bob, chat.id, 'back again');
    ok(await server.gql(DELETE, { id: last.id }, bob.token), 'deleteMessage');

    expect(await deleted.take(1)).toEqual([{ id: last.id }]);
    expect(await updated.take(1)).toEqual([{ id: target.id, reactions: [{ emoji: '🎉', count: 1 }] }]);
    expect(await typed.take(1)).toEqual([{ user: { username: name(bob) }, typing: true }]);
    await sleep(QUIET_MS);
    expect([deleted.fresh, updated.fresh, typed.fresh]).toEqual([[], [], []]);
  });

  it('hears the blocked user as before in a group chat', async () => {
    const [alice, bob, primer] = await newUsers(server, 'alice', 'bob', 'primer');
    const group = await createGroup(server, alice, { name: 'Still together', members: [name(bob), name(primer)] });
    await block(server, alice, name(bob));
    const client = (await connect(server, alice)).client;
    const byPrimer = (event: { author?: { username: string }; user?: { username: string } }) =>
      (event.author ?? event.user)?.username === name(primer);
    const added = live(client, `subscription($chatId: ID) { messageAdded(chatId: $chatId) { text author { username } } }`, {
      chatId: group.id,
    }, { ignore: byPrimer });
    const typed = live(client, TYPING, { chatId: group.id }, { ignore: byPrimer });
    await prime([added, typed], async () => {
      await send(server, primer, group.id, 'probe');
      await typing(primer, group.id, true);
      await typing(primer, group.id, false);
    });
    await send(server, bob, group.id, 'hi all');
    await typing(bob, group.id, true);
    expect(await added.take(1)).toEqual([{ text: 'hi all', author: { username: name(bob) } }]);
    expect(await typed.take(1)).toEqual([{ user: { username: name(bob) }, typing: true }]);
  });
});

describe('what the blocked user sees of the blocker', () => {
  it("sees the blocker offline, never last seen, and not among online users or members, while others see them online", async () => {
    const [alice, bob, carol] = await newUsers(server, 'alice', 'bob', 'carol');
    const group = await createGroup(server, alice, { name: 'Presence', members: [name(bob), name(carol)] });
    await block(server, alice, name(bob));
    await connect(server, alice);
    await vi.waitFor(async () => expect((await presenceAs(carol, alice)).online).toBe(true), { timeout: 3_000 });
    expect(await presenceAs(bob, alice)).toEqual({ online: false, lastSeenAt: null });
    const members = ok(await server.gql(`query($id: ID!) { chat(id: $id) { onlineMembers { username } } }`, { id: group.id }, bob.token), 'chat');
    expect(members.onlineMembers).toEqual([]);
    const online = ok(await server.gql(`query { onlineUsers { username } }`, {}, bob.token), 'onlineUsers');
    expect(online).toEqual([]);
  });

  it("gets no userStatus events of the blocker, and no typing of the blocker in their direct chat", async () => {
    const [alice, bob, carol] = await newUsers(server, 'alice', 'bob', 'carol');
    await createGroup(server, carol, { name: 'Contacts', members: [name(alice), name(bob)] });
    const direct = await createDirect(server, alice, name(bob));
    const client = (await connect(server, bob)).client;
    const statuses = live(client, `subscription { userStatus { user { username } online } }`, {}, {
      ignore: (event) => event.user.username === name(carol),
    });
    const before = await chatSubscribers();
    const typed = live(client, TYPING, { chatId: direct.id });
    await following(before, 1);
    await prime([statuses], async () => {
      const socket = await connect(server, carol);
      await socket.client.dispose();
    });

    await block(server, alice, name(bob));
    const aliceSocket = await connect(server, alice);
    await typing(alice, direct.id, true);
    await aliceSocket.client.dispose();
    // Offline is announced once the server has recorded it: wait for that before unblocking.
    await vi.waitFor(async () => expect((await presenceAs(carol, alice)).online).toBe(false), { timeout: 3_000 });
    ok(await server.gql(UNBLOCK, { username: name(bob) }, alice.token), 'unblockUser');
    await typing(alice, direct.id, false);
    await connect(server, alice);

    expect(await statuses.take(1)).toEqual([{ user: { username: name(alice) }, online: true }]);
    expect(await typed.take(1)).toEqual([{ user: { username: name(alice) }, typing: false }]);
    await sleep(QUIET_MS);
    expect([statuses.fresh, typed.fresh]).toEqual([[], []]);
  });
});
