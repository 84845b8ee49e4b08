import { CloseCode } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDirect, createGroup, newUsers, ok, sleep } from './helpers/chats.ts';
import {
  QUIET_MS,
  RawSocket,
  connect,
  live,
  liveGauges,
  openSocket,
  prime,
  settledGauges,
  type Live,
} from './helpers/live.ts';
import { startServer, testConfig, type TestServer } from './helpers/server.ts';
import { PASSWORD, type SignedUp } from './helpers/users.ts';

// Keep-alive pings every 0.3 s: a silent socket is found out within a second or so.
let server: TestServer;
beforeAll(async () => {
  server = await startServer(testConfig({ WS_KEEPALIVE_SECONDS: '0.3' }));
});
afterAll(() => server.stop());

const ISO = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
const USER = /* GraphQL */ `query($username: String!) { user(username: $username) { online lastSeenAt } }`;
const ONLINE_USERS = /* GraphQL */ `query { onlineUsers { username } }`;
const ONLINE_MEMBERS = /* GraphQL */ `query($id: ID!) { chat(id: $id) { onlineMembers { username } } }`;
const USER_STATUS = /* GraphQL */ `
  subscription UserStatus($userIds: [ID!]) { userStatus(userIds: $userIds) { user { id username } online lastSeenAt } }
`;
const LOGIN = /* GraphQL */ `
  mutation Login($input: LoginInput!) { login(input: $input) { token session { id } } }
`;

const name = (user: SignedUp) => user.user.username;
const sorted = (names: string[]) => [...names].sort();
/** How long detection may take: a few keep-alive periods, plus slack for slow machines. */
const DETECT_MS = 3_000;

/** `user`'s presence as `viewer` sees it. */
async function presenceOf(viewer: SignedUp, user: SignedUp) {
  return ok<{ online: boolean; lastSeenAt: string | null }>(
    await server.gql(USER, { username: name(user) }, viewer.token),
    'user',
  );
}

async function onlineUsers(viewer: SignedUp) {
  const users = ok<{ username: string }[]>(await server.gql(ONLINE_USERS, {}, viewer.token), 'onlineUsers');
  return sorted(users.map((user) => user.username));
}

async function onlineMembers(viewer: SignedUp, chatId: string) {
  const chat = ok(await server.gql(ONLINE_MEMBERS, { id: chatId }, viewer.token), 'chat');
  return sorted(chat.onlineMembers.map((user: { username: string }) => user.username));
}

/** Waits (bounded) until `viewer` sees `user` with the given online state. */
async function untilOnline(viewer: SignedUp, user: SignedUp, online: boolean, ms = DETECT_MS) {
  await vi.waitFor(async () => expect((await presenceOf(viewer, user)).online).toBe(online), {
    timeout: ms,
    interval: 50,
  });
  return presenceOf(viewer, user);
}

/**
 * A userStatus subscription of `viewer`, made live with `primer`'s
 * connections (which must be visible to it); the primer's events are left out.
 */
async function watchStatus(viewer: SignedUp, primer: SignedUp, userIds?: string[], query = USER_STATUS): Promise<Live> {
  const client = (await connect(server, viewer)).client;
  const sub = live(client, query, userIds ? { userIds: [...userIds, primer.user.id] } : {}, {
    ignore: (event) => event.user.id === primer.user.id,
  });
  await prime([sub], async () => {
    const socket = await connect(server, primer);
    await socket.client.dispose();
  });
  return sub;
}

const status = (user: SignedUp, online: boolean, lastSeenAt: unknown) => ({
  user: { id: user.user.id, username: name(user) },
  online,
  lastSeenAt,
});

describe('online and lastSeenAt', () => {
  it('a user is online while holding a socket and offline, with lastSeenAt, once it closes', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    await createDirect(server, alice, name(bob));
    expect(await presenceOf(bob, alice)).toEqual({ online: false, lastSeenAt: null });

    const socket = await connect(server, alice);
    expect((await presenceOf(bob, alice)).online).toBe(true);
    // No subscription is needed: the acknowledged socket is enough.
    const before = Date.now();
    await socket.client.dispose();
    const after = await untilOnline(bob, alice, false);
    expect(after).toEqual({ online: false, lastSeenAt: ISO });
    const seen = Date.parse(after.lastSeenAt!);
    expect(seen).toBeGreaterThanOrEqual(before - 50);
    expect(seen).toBeLessThanOrEqual(Date.now());
  });

  it('stays offline when the socket is refused at connection_init', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    await createDirect(server, alice, name(bob));
    const login = ok(
      await server.gql(LOGIN, { input: { login: name(alice), password: PASSWORD } }),
      'login',
    );
    ok(await server.gql(`mutation { logout }`, {}, login.token), 'logout');
    const refused = openSocket(server, { token: login.token });
    expect(await refused.closeCode()).toBe(CloseCode.Forbidden);
    expect(await presenceOf(bob, alice)).toEqual({ online: false, lastSeenAt: null });
  });

  it('with two sockets, goes offline only after both close, with one userStatus event per transition', async () => {
    const [alice, bob, primer] = await newUsers(server, 'alice', 'bob', 'primer');
    await createGroup(server, bob, { name: 'Presence', members: [name(alice), name(primer)] });
    const watch = await watchStatus(bob, primer, [alice.user.id]);

    const first = await connect(server, alice);
    expect(await watch.next()).toEqual(status(alice, true, null));
    const second = await connect(server, alice);
    expect((await presenceOf(bob, alice)).online).toBe(true);

    const before = await settledGauges(server);
    await first.client.dispose();
    // The server has seen the first socket go once its gauge drops.
    await vi.waitFor(
      async () => expect((await liveGauges(server)).messenger_websockets).toBe(before.messenger_websockets - 1),
      { timeout: 3_000, interval: 50 },
    );
    expect((await presenceOf(bob, alice)).online).toBe(true);
    expect(watch.fresh).toEqual([]);

    await second.client.dispose();
    const offline = await watch.next();
    expect(offline).toEqual(status(alice, false, ISO));
    expect(await presenceOf(bob, alice)).toEqual({ online: false, lastSeenAt: offline.lastSeenAt });
    await sleep(QUIET_MS);
    expect(watch.fresh).toEqual([]);
  });
});

describe('userStatus events', () => {
  it("carry the lastSeenAt already recorded: the event's user.lastSeenAt equals its own lastSeenAt", async () => {
    const [alice, bob, primer] = await newUsers(server, 'alice', 'bob', 'primer');
    await createGroup(server, bob, { name: 'Recorded', members: [name(alice), name(primer)] });
    const query = /* GraphQL */ `
      subscription Recorded($userIds: [ID!]) { userStatus(userIds: $userIds) { user { id lastSeenAt } online lastSeenAt } }
    `;
    const watch = await watchStatus(bob, primer, [alice.user.id], query);
    for (let round = 0; round < 2; round += 1) {
      const socket = await connect(server, alice);
      const online = await watch.next();
      expect(online).toEqual({ user: { id: alice.user.id, lastSeenAt: round === 0 ? null : ISO }, online: true, lastSeenAt: null });
      await socket.client.dispose();
      const offline = await watch.next();
      expect(offline).toEqual({ user: { id: alice.user.id, lastSeenAt: ISO }, online: false, lastSeenAt: ISO });
      expect(offline.user.lastSeenAt).toBe(offline.lastSeenAt);
    }
  });
});

describe('sockets that vanish', () => {
  it('counts a socket that stops answering pings offline within a few keep-alive periods', async () => {
    const [alice, bob, primer] = await newUsers(server, 'alice', 'bob', 'primer');
    await createGroup(server, bob, { name: 'Frozen', members: [name(alice), name(primer)] });
    const watch = await watchStatus(bob, primer, [alice.user.id]);
    const raw = new RawSocket(server.wsUrl);
    try {
      await raw.init({ authorization: `Bearer ${alice.token}` });
      expect(await watch.next()).toEqual(status(alice, true, null));
      raw.freeze();
      expect(await watch.next(DETECT_MS)).toEqual(status(alice, false, ISO));
      expect((await presenceOf(bob, alice)).online).toBe(false);
    } finally {
      raw.dispose();
    }
  });

  it('keeps a socket that answers its pings open and online across many keep-alive periods', async () => {
    const [alice, bob, primer] = await newUsers(server, 'alice', 'bob', 'primer');
    await createGroup(server, bob, { name: 'Awake', members: [name(alice), name(primer)] });
    const watch = await watchStatus(bob, primer, [alice.user.id]);
    const raw = new RawSocket(server.wsUrl);
    try {
      await raw.init({ authorization: `Bearer ${alice.token}` });
      expect(await watch.next()).toEqual(status(alice, true, null));
      await sleep(DETECT_MS);
      expect(raw.isClosed).toBe(false);
      expect(watch.fresh).toEqual([]);
      expect((await presenceOf(bob, alice)).online).toBe(true);
    } finally {
      raw.dispose();
    }
  });

  it('counts a socket dropped without a close frame offline', async () => {
    const [alice, bob, primer] = await newUsers(server, 'alice', 'bob', 'primer');
    await createGroup(server, bob, { name: 'Dropped', members: [name(alice), name(primer)] });
    const watch = await watchStatus(bob, primer, [alice.user.id]);
    const raw = new RawSocket(server.wsUrl);
    await raw.init({ token: alice.token });
    expect(await watch.next()).toEqual(status(alice, true, null));
    raw.drop();
    expect(await watch.next(DETECT_MS)).toEqual(status(alice, false, ISO));
    expect((await presenceOf(bob, alice)).online).toBe(false);
    await sleep(QUIET_MS);
    expect(watch.fresh).toEqual([]);
  });
});

describe('onlineUsers and Chat.onlineMembers', () => {
  it('onlineUsers lists the online users who share a chat with the caller, and the caller', async () => {
    const [alice, bob, carol, dave, erin] = await newUsers(server, 'alice', 'bob', 'carol', 'dave', 'erin');
    await createGroup(server, alice, { name: 'Friends', members: [name(bob), name(erin)] });
    await createDirect(server, carol, name(alice));
    await Promise.all([alice, bob, carol, dave].map((user) => connect(server, user)));

    expect(await onlineUsers(alice)).toEqual(sorted([name(alice), name(bob), name(carol)]));
    expect(await onlineUsers(bob)).toEqual(sorted([name(alice), name(bob)]));
    expect(await onlineUsers(dave)).toEqual([name(dave)]);
  });

  it('Chat.onlineMembers lists the members holding a socket, and drops one when it closes', async () => {
    const [alice, bob, carol] = await newUsers(server, 'alice', 'bob', 'carol');
    const chat = await createGroup(server, alice, { name: 'Who is here', members: [name(bob), name(carol)] });
    expect(await onlineMembers(carol, chat.id)).toEqual([]);
    await connect(server, alice);
    const bobs = await connect(server, bob);
    expect(await onlineMembers(carol, chat.id)).toEqual(sorted([name(alice), name(bob)]));

    await bobs.client.dispose();
    await untilOnline(carol, bob, false);
    expect(await onlineMembers(carol, chat.id)).toEqual([name(alice)]);
  });
});

describe('userStatus without userIds', () => {
  it('reports the transitions of everyone who shares a chat with the caller, and no one else', async () => {
    const [bob, alice, primer, dave] = await newUsers(server, 'bob', 'alice', 'primer', 'dave');
    await createGroup(server, bob, { name: 'Status', members: [name(alice), name(primer)] });
    await createDirect(server, dave, name(primer));
    const watch = await watchStatus(bob, primer);

    const daves = await connect(server, dave);
    const alices = await connect(server, alice);
    expect(await watch.next()).toEqual(status(alice, true, null));

    await daves.client.dispose();
    await untilOnline(primer, dave, false);
    await alices.client.dispose();
    expect(await watch.next()).toEqual(status(alice, false, ISO));
    await sleep(QUIET_MS);
    expect(watch.fresh).toEqual([]);
  });
});
