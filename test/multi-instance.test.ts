import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EDIT, DELETE, createGroup, history, ok, send, sleep } from './helpers/chats.ts';
import { connect, eventually, live, messageProbe, prime } from './helpers/live.ts';
import { spawnServer } from './helpers/process.ts';
import { findRedisServer, startRedis, type TestRedis } from './helpers/redis.ts';
import { freshDatabaseUrl, startServer, testConfig, testProvider, type TestServer } from './helpers/server.ts';
import { signUp, type SignedUp } from './helpers/users.ts';

// Several instances share one database, which means Postgres: this file runs
// in the postgres project, with a real redis-server carrying events between them.
const redisServer = findRedisServer();
const enabled = testProvider() === 'postgresql' && redisServer !== null;
if (testProvider() === 'postgresql' && !redisServer) {
  console.warn('*** multi-instance: SKIPPED: no redis-server on the PATH (apt-get install redis-server). ***');
}

const HEARTBEAT_SECONDS = 0.3;

const MESSAGE_FIELDS = /* GraphQL */ `id seq text author { username }`;
const MESSAGE_ADDED = /* GraphQL */ `
  subscription Added($chatId: ID, $afterSeq: Int) { messageAdded(chatId: $chatId, afterSeq: $afterSeq) { ${MESSAGE_FIELDS} } }
`;
const MESSAGE_EDITED = /* GraphQL */ `subscription Edited($chatId: ID) { messageEdited(chatId: $chatId) { ${MESSAGE_FIELDS} } }`;
const MESSAGE_DELETED = /* GraphQL */ `subscription Deleted($chatId: ID) { messageDeleted(chatId: $chatId) { id chatId seq } }`;
const TYPING = /* GraphQL */ `subscription Typing($chatId: ID!) { typing(chatId: $chatId) { user { username } typing } }`;
const SET_TYPING = /* GraphQL */ `mutation SetTyping($chatId: ID!, $typing: Boolean!) { setTyping(chatId: $chatId, typing: $typing) }`;
const USER_STATUS = /* GraphQL */ `subscription Status($userIds: [ID!]) { userStatus(userIds: $userIds) { user { username } online lastSeenAt } }`;
const REMOVE_MEMBER = /* GraphQL */ `mutation Remove($chatId: ID!, $username: String!) { removeChatMember(chatId: $chatId, username: $username) { id } }`;
const LOGOUT = /* GraphQL */ `mutation { logout }`;
const ME = /* GraphQL */ `query { me { username } }`;
const ONLINE = /* GraphQL */ `query Online($username: String!) { user(username: $username) { online lastSeenAt } }`;

async function health(server: TestServer) {
  return (await fetch(new URL('/health', server.url))).json();
}

describe.runIf(enabled)('two instances sharing Postgres and Redis', () => {
  let redis: TestRedis;
  let env: Record<string, string>;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    redis = await startRedis(redisServer!);
    env = {
      DATABASE_URL: freshDatabaseUrl(),
      REDIS_URL: redis.url,
      PRESENCE_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS),
      // The longest allowed, so that only Redis coming back can explain a revocation seen within seconds.
      SESSION_RECHECK_SECONDS: '30',
    };
    a = await startServer(testConfig(env));
    b = await startServer(testConfig(env));
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await redis?.stop();
  });

  /**
   * `watcher`'s userStatus subscription on A for `watched`, made live by
   * `primer` connecting through B until the subscription hears of it.
   */
  async function watchStatus(watcher: SignedUp, watched: SignedUp, primer: SignedUp) {
    const socket = await connect(a, watcher);
    const status = live(socket.client, USER_STATUS, { userIds: [watched.user.id, primer.user.id] }, {
      ignore: (event) => event.user.username === primer.user.username,
    });
    await prime([status], async () => {
      // Each poke is a whole transition as A sees it: online (held until A
      // knows), then a clean close, never a second socket of a primer still
      // counted online.
      const primerSocket = await connect(b, primer);
      await eventually(async () => ok(await a.gql(ONLINE, { username: primer.user.username }, watcher.token), 'user').online, 5_000, 'primer online on A');
      await primerSocket.client.dispose();
      await primerSocket.closed;
    }, 15_000);
    // Let the primer's last offline transition pass before watching for real.
    await sleep(HEARTBEAT_SECONDS * 1000);
    status.skip();
    return status;
  }

  it('delivers messages, edits, deletions and typing produced through B to a subscriber on A', async () => {
    const alice = await signUp(b, 'mi_alice');
    const bob = await signUp(a, 'mi_bob');
    const chat = await createGroup(b, alice, { name: 'Across', members: ['mi_bob'] });
    const socket = await connect(a, bob);
    const probe = messageProbe(b, alice, chat.id);
    const added = live(socket.client, MESSAGE_ADDED, { chatId: chat.id }, probe);
    const edited = live(socket.client, MESSAGE_EDITED, { chatId: chat.id }, probe);
    const deleted = live(socket.client, MESSAGE_DELETED, { chatId: chat.id }, probe);
    await prime([added, edited, deleted], probe.poke);

    const message = await send(b, alice, chat.id, 'hello from B');
    expect(await added.next()).toEqual({ id: message.id, seq: message.seq, text: 'hello from B', author: { username: 'mi_alice' } });
    ok(await b.gql(EDIT, { input: { id: message.id, text: 'edited on B' } }, alice.token), 'editMessage');
    expect(await edited.next()).toEqual({ id: message.id, seq: message.seq, text: 'edited on B', author: { username: 'mi_alice' } });
    ok(await b.gql(DELETE, { id: message.id }, alice.token), 'deleteMessage');
    expect(await deleted.next()).toEqual({ id: message.id, chatId: chat.id, seq: message.seq });

    const typing = live(socket.client, TYPING, { chatId: chat.id });
    await prime([typing], async () => {
      ok(await b.gql(SET_TYPING, { chatId: chat.id, typing: true }, alice.token), 'setTyping');
      ok(await b.gql(SET_TYPING, { chatId: chat.id, typing: false }, alice.token), 'setTyping');
    });
    // Each poke starts and stops typing: wait for the last stop before looking for a new start.
    await typing.until(() => typing.events.at(-1)?.typing === false);
    typing.skip();
    ok(await b.gql(SET_TYPING, { chatId: chat.id, typing: true }, alice.token), 'setTyping');
    expect(await typing.next()).toEqual({ user: { username: 'mi_alice' }, typing: true });
  });

  it('shows a user with a socket on B as online on A, and offline with lastSeenAt once it closes', async () => {
    const carol = await signUp(a, 'mi_carol');
    const dave = await signUp(b, 'mi_dave');
    const primer = await signUp(b, 'mi_primer');
    await createGroup(a, carol, { name: 'Presence', members: ['mi_dave', 'mi_primer'] });
    const status = await watchStatus(carol, dave, primer);

    const daveSocket = await connect(b, dave);
    expect(await status.next()).toEqual({ user: { username: 'mi_dave' }, online: true, lastSeenAt: null });
    expect(ok(await a.gql(ONLINE, { username: 'mi_dave' }, carol.token), 'user').online).toBe(true);

    await daveSocket.client.dispose();
    const offline = await status.next();
    expect(offline).toEqual({ user: { username: 'mi_dave' }, online: false, lastSeenAt: expect.any(String) });
    await eventually(async () => !ok(await a.gql(ONLINE, { username: 'mi_dave' }, carol.token), 'user').online, 3_000, 'offline on A');
    expect(ok(await a.gql(ONLINE, { username: 'mi_dave' }, carol.token), 'user').lastSeenAt).toBe(offline.lastSeenAt);
  });

  it('gives parallel senders on both instances distinct, gap-free seqs', async () => {
    const erin = await signUp(a, 'mi_erin');
    await signUp(a, 'mi_frank');
    const chat = await createGroup(a, erin, { name: 'Busy', members: ['mi_frank'] });
    const sends = Array.from({ length: 30 }, (_, i) => send(i % 2 ? a : b, erin, chat.id, `parallel ${i}`));
    const seqs = (await Promise.all(sends)).map((message) => message.seq).sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it('keeps accepting messages while Redis is down and resumes delivery when it returns', async () => {
    const gina = await signUp(a, 'mi_gina');
    const hank = await signUp(a, 'mi_hank');
    const chat = await createGroup(a, gina, { name: 'Outage', members: ['mi_hank'] });
    const before = await send(b, gina, chat.id, 'before the outage');

    await redis.stop();
    await eventually(async () => (await health(a)).redis === 'down' && (await health(b)).redis === 'down', 10_000, 'redis down');
    expect(await health(a)).toEqual({ status: 'degraded', database: 'up', redis: 'down' });
    const during = [];
    for (const text of ['during 1', 'during 2', 'during 3']) during.push(await send(b, gina, chat.id, text));
    expect(during.map((message) => message.seq)).toEqual([before.seq + 1, before.seq + 2, before.seq + 3]);
    const stored = await history(a, hank, chat.id);
    expect(stored.edges.map((edge: any) => edge.node.text)).toEqual(['before the outage', 'during 1', 'during 2', 'during 3']);

    await redis.start();
    await eventually(async () => (await health(a)).redis === 'up' && (await health(b)).redis === 'up', 15_000, 'redis up');
    const socket = await connect(a, hank);
    const probe = messageProbe(b, gina, chat.id);
    const catchUp = live(socket.client, MESSAGE_ADDED, { chatId: chat.id, afterSeq: before.seq }, probe);
    await prime([catchUp], probe.poke, 10_000);
    expect(catchUp.events.map((message) => message.text)).toEqual(['during 1', 'during 2', 'during 3']);
    const after = await send(b, gina, chat.id, 'after the outage');
    expect((await catchUp.next()).id).toBe(after.id);
  });

  /** Stops Redis, runs `work` while it is down, and starts it again. */
  async function duringOutage(work: () => Promise<unknown>) {
    await redis.stop();
    await eventually(async () => (await health(a)).redis === 'down' && (await health(b)).redis === 'down', 10_000, 'redis down');
    try {
      await work();
    } finally {
      await redis.start();
      await eventually(async () => (await health(a)).redis === 'up' && (await health(b)).redis === 'up', 15_000, 'redis up');
    }
  }

  it('delivers nothing more on A to a member removed through B while Redis was down', async () => {
    const kim = await signUp(a, 'mi_kim');
    const lee = await signUp(a, 'mi_lee');
    const chat = await createGroup(b, kim, { name: 'Removal', members: ['mi_lee'] });
    const probe = messageProbe(b, kim, chat.id);
    const watcher = live((await connect(a, kim)).client, MESSAGE_ADDED, { chatId: chat.id }, probe);
    const client = (await connect(a, lee)).client;
    const leeFeeds = [
      live(client, MESSAGE_ADDED, { chatId: chat.id }, probe),
      live(client, MESSAGE_ADDED, {}, probe),
      live(client, MESSAGE_EDITED, {}, probe),
      live(client, MESSAGE_DELETED, {}, probe),
    ];
    await prime([watcher, ...leeFeeds], probe.poke);

    await duringOutage(() => b.gql(REMOVE_MEMBER, { chatId: chat.id, username: 'mi_lee' }, kim.token).then((r) => ok(r, 'removeChatMember')));
    const after = await send(b, kim, chat.id, 'after the removal');
    ok(await b.gql(EDIT, { input: { id: after.id, text: 'edited after the removal' } }, kim.token), 'editMessage');
    ok(await b.gql(DELETE, { id: after.id }, kim.token), 'deleteMessage');

    expect((await watcher.next(10_000)).id).toBe(after.id);
    await sleep(500);
    expect(leeFeeds.map((feed) => feed.fresh)).toEqual([[], [], [], []]);
    expect(leeFeeds.map((feed) => feed.errors())).toEqual([[], [], [], []]);
  });

  it('closes the sockets on A, and refuses the token on A, of a session logged out through B while Redis was down', async () => {
    const mia = await signUp(a, 'mi_mia');
    const ned = await signUp(a, 'mi_ned');
    const chat = await createGroup(b, mia, { name: 'Logout', members: ['mi_ned'] });
    const socket = await connect(a, ned);
    const feed = live(socket.client, MESSAGE_ADDED, {});
    expect(ok(await a.gql(ME, {}, ned.token), 'me')).toEqual({ username: 'mi_ned' });

    await duringOutage(async () => expect(ok(await b.gql(LOGOUT, {}, ned.token), 'logout')).toBe(true));
    expect(await socket.closeCode(5_000)).toBe(4403);
    expect((await a.gql(ME, {}, ned.token)).data).toEqual({ me: null });
    await send(b, mia, chat.id, 'after the logout');
    await sleep(500);
    expect(feed.events).toEqual([]);
  });

  it("counts a crashed instance's users offline once it misses its heartbeats", async () => {
    const ivy = await signUp(a, 'mi_ivy');
    const jack = await signUp(a, 'mi_jack');
    const primer = await signUp(a, 'mi_primer2');
    await createGroup(a, ivy, { name: 'Crash', members: ['mi_jack'] });
    const status = await watchStatus(ivy, jack, primer);

    // In its own process, so it can be killed without a goodbye.
    const crashing = await spawnServer({ ...env, NODE_ENV: 'test', JWT_SECRET: a.config.jwtSecret, BCRYPT_COST: '4' });
    try {
      const { createClient } = await import('graphql-ws');
      const WebSocket = (await import('ws')).default;
      const client = createClient({
        url: crashing.url.replace('http', 'ws'),
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: false,
        onNonLazyError: () => undefined,
        connectionParams: { authorization: `Bearer ${jack.token}` },
      });
      expect(await status.next(10_000)).toEqual({ user: { username: 'mi_jack' }, online: true, lastSeenAt: null });
      const killedAt = Date.now();
      crashing.process.kill('SIGKILL');
      const offline = await status.next(10_000);
      expect(offline).toEqual({ user: { username: 'mi_jack' }, online: false, lastSeenAt: expect.any(String) });
      // The bound is 3 missed heartbeats plus one check; allow for a loaded machine.
      expect(Date.now() - killedAt).toBeLessThan(5_000);
      void client.dispose();
    } finally {
      crashing.process.kill('SIGKILL');
    }
  });
});
