import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/client.ts';
import { MESSAGE_FIELDS, SEND, createGroup, databaseId, history, newUsers, ok, send, sleep } from './helpers/chats.ts';
import {
  QUIET_MS,
  RawSocket,
  connect,
  eventually,
  live,
  messageProbe,
  metrics,
  prime,
  settledGauges,
  within,
} from './helpers/live.ts';
import { RogueSocket } from './helpers/rogue.ts';
import { startServer, testConfig, type TestServer } from './helpers/server.ts';
import { PASSWORD, signUp, type SignedUp } from './helpers/users.ts';

// The bounds under test, set low so the suite does not wait for the defaults.
const SESSION_RECHECK_SECONDS = 0.5;
const MAX_BUFFERED_BYTES = 256 * 1024;
const MAX_SOCKETS = 3;
/** The documented close code for a reader that fell too far behind (README, "Live updates"). */
const SLOW_READER = 4413;

let server: TestServer;
beforeAll(async () => {
  server = await startServer(
    testConfig({
      SESSION_RECHECK_SECONDS: String(SESSION_RECHECK_SECONDS),
      WS_MAX_BUFFERED_BYTES: String(MAX_BUFFERED_BYTES),
      WS_MAX_SOCKETS_PER_USER: String(MAX_SOCKETS),
      // Paused readers answer no ping: keep-alive must not drop them before the limits under test do.
      WS_KEEPALIVE_SECONDS: '120',
    }),
  );
});
afterAll(() => server.stop());

const MESSAGE_ADDED = /* GraphQL */ `
  subscription MessageAdded($chatId: ID, $afterSeq: Int) {
    messageAdded(chatId: $chatId, afterSeq: $afterSeq) { ...MessageFields }
  }
  ${MESSAGE_FIELDS}
`;
const LOGOUT = /* GraphQL */ `mutation { logout }`;
const LOGIN = /* GraphQL */ `mutation Login($input: LoginInput!) { login(input: $input) { token } }`;
const ONLINE = /* GraphQL */ `query Online($username: String!) { user(username: $username) { online } }`;

const name = (user: SignedUp) => user.user.username;

async function group(owner: SignedUp, ...others: SignedUp[]) {
  return createGroup(server, owner, { name: 'Delivery', members: others.map(name) });
}

/** Works on the server's database directly, beside the server, as an operator would. */
async function asOperator(work: (db: Awaited<ReturnType<typeof openDatabase>>) => Promise<unknown>) {
  const db = await openDatabase(server.config.databaseUrl);
  try {
    await work(db);
  } finally {
    await db.$disconnect();
  }
}

/** A new session of `user`, as from another device: its token is not in any cache yet. */
async function freshToken(user: SignedUp): Promise<string> {
  return ok(await server.gql(LOGIN, { input: { login: name(user), password: PASSWORD, device: 'another' } }), 'login').token;
}

describe('a deleted user', () => {
  it('receives no further event on an open socket, which is closed within the session recheck period', async () => {
    const [alice, eve] = await newUsers(server, 'alice', 'eve');
    const chat = await group(alice, eve);
    const probe = messageProbe(server, alice, chat.id);
    const watcher = live((await connect(server, alice)).client, MESSAGE_ADDED, { chatId: chat.id }, probe);
    const socket = await connect(server, eve);
    const oneChat = live(socket.client, MESSAGE_ADDED, { chatId: chat.id }, probe);
    const allChats = live(socket.client, MESSAGE_ADDED, {}, probe);
    await prime([watcher, oneChat, allChats], probe.poke);

    // An operator's delete: no API call, so no event tells the server.
    await asOperator((db) => db.$executeRaw`DELETE FROM "User" WHERE "id" = ${databaseId(eve.user.id)}`);
    const after = await send(server, alice, chat.id, 'after the deletion');

    expect((await watcher.next()).id).toBe(after.id);
    await sleep(QUIET_MS);
    expect([oneChat.fresh, allChats.fresh]).toEqual([[], []]);
    // Not even as an error.
    expect([oneChat.errors(), allChats.errors()]).toEqual([[], []]);
    expect(await socket.closeCode(SESSION_RECHECK_SECONDS * 1000 + 3_000)).toBe(4403);
  });
});

describe('a member removed without any event', () => {
  it('gets nothing more of the chat, and a one-chat subscription ends at the chat\'s next event', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await group(alice, bob);
    const probe = messageProbe(server, alice, chat.id);
    const watcher = live((await connect(server, alice)).client, MESSAGE_ADDED, { chatId: chat.id }, probe);
    const client = (await connect(server, bob)).client;
    const oneChat = live(client, MESSAGE_ADDED, { chatId: chat.id }, probe);
    const allChats = live(client, MESSAGE_ADDED, {}, probe);
    await prime([watcher, oneChat, allChats], probe.poke);

    // As when the removal raced the subscription, or its event was lost.
    await asOperator((db) => db.$executeRaw`DELETE FROM "ChatMember" WHERE "userId" = ${databaseId(bob.user.id)}`);
    const after = await send(server, alice, chat.id, 'after the removal');

    expect((await watcher.next()).id).toBe(after.id);
    await oneChat.until(() => oneChat.completed);
    await sleep(QUIET_MS);
    expect([oneChat.fresh, allChats.fresh, oneChat.errors(), allChats.errors()]).toEqual([[], [], [], []]);
  });
});

describe('a logged-out session', () => {
  it('executes no frame its socket sends after logout, and the socket is terminated even if the client ignores the close', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await group(alice, bob);
    const rogue = await RogueSocket.open(server.wsUrl, bob.token);

    expect(ok(await server.gql(LOGOUT, {}, bob.token), 'logout')).toBe(true);
    rogue.send({
      id: 'after-logout',
      type: 'subscribe',
      payload: { query: SEND, variables: { input: { chatId: chat.id, text: 'sent after logout' } } },
    });

    await within(5_000, rogue.ended, () => 'the server kept the socket of a revoked session');
    expect(rogue.closeCode).toBe(4403);
    expect(rogue.messages().filter((message) => message.type === 'next')).toEqual([]);
    expect((await history(server, alice, chat.id)).edges).toEqual([]);
  });
});

describe('a socket closing during connection_init', () => {
  it('leaves the user offline and their socket count untouched', async () => {
    const [dave, watcher] = await newUsers(server, 'dave', 'watcher');
    const baseline = await settledGauges(server);
    // More drops than the per-user socket limit: a leak would lock the user out.
    for (let i = 0; i < MAX_SOCKETS + 2; i += 1) {
      const raw = new RawSocket(server.wsUrl);
      await raw.opened;
      // A session no cache knows yet, so authenticating it reads the database.
      raw.ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${await freshToken(dave)}` } }));
      raw.drop();
      await raw.closed;
    }
    await sleep(QUIET_MS);

    expect(await settledGauges(server)).toEqual(baseline);
    expect(ok(await server.gql(ONLINE, { username: name(dave) }, watcher.token), 'user')).toEqual({ online: false });
    const socket = await connect(server, dave);
    expect(ok(await server.gql(ONLINE, { username: name(dave) }, watcher.token), 'user')).toEqual({ online: true });
    await socket.client.dispose();
  });
});

/** A message of 4000 four-byte emoji: about 16 KB on the wire. */
const BIG_TEXT = '😀'.repeat(4000);

/**
 * A raw socket of `user` with messageAdded(chatId, afterSeq) as operation
 * "feed", and `copies - 1` more of it: each message then writes that many
 * frames, so the socket's buffers fill sooner.
 */
async function feedSocket(user: SignedUp, chatId: string, afterSeq?: number, copies = 1) {
  const raw = new RawSocket(server.wsUrl);
  await raw.init({ authorization: `Bearer ${user.token}` });
  for (let copy = 0; copy < copies; copy += 1) {
    const id = copy === 0 ? 'feed' : `copy-${copy}`;
    raw.ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query: MESSAGE_ADDED, variables: { chatId, afterSeq } } }));
  }
  return raw;
}

const seqsOf = (raw: RawSocket) =>
  raw.messages
    .filter((message) => message.type === 'next' && message.id === 'feed')
    .map((message) => message.payload.data.messageAdded.seq as number);

async function sendBig(sender: SignedUp, chatId: string, count: number) {
  for (let sent = 0; sent < count; sent += 20) {
    await Promise.all(
      Array.from({ length: Math.min(20, count - sent) }, () =>
        server.gql(SEND, { input: { chatId, text: BIG_TEXT } }, sender.token).then((result) => ok(result, 'sendMessage')),
      ),
    );
  }
}

const statements = async () => (await metrics(server)).messenger_sql_statements_total!;

/** The SQL statement count once it has stopped moving for `gapMs`. */
async function settledStatements(gapMs = 400) {
  let previous = await statements();
  for (;;) {
    await sleep(gapMs);
    const current = await statements();
    if (current === previous) return current;
    previous = current;
  }
}

describe('slow readers', () => {
  it(`closes a socket that falls more than WS_MAX_BUFFERED_BYTES behind on live events with ${SLOW_READER}; afterSeq resumes without a gap`, async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'slowbob');
    const chat = await group(alice, bob);
    const raw = await feedSocket(bob, chat.id, undefined, 20);
    // graphql-ws does not acknowledge a subscription: send until one arrives.
    // (The copies subscribed before the first: by then they are live too.)
    await eventually(async () => {
      await send(server, alice, chat.id, 'are you there?');
      await sleep(100);
      return seqsOf(raw).length > 0;
    }, 5_000, 'the subscription never delivered');
    const first = seqsOf(raw)[0]!;
    const sentBefore = (await history(server, alice, chat.id, { last: 1 })).edges[0].node.seq;

    raw.freeze();
    const closedBefore = (await metrics(server)).messenger_websocket_slow_reader_closes_total ?? 0;
    let sent = 0;
    while (((await metrics(server)).messenger_websocket_slow_reader_closes_total ?? 0) === closedBefore) {
      if (sent >= 1_000) throw new Error(`still open after ${sent} unread messages of 16 KB, 20 frames each`);
      await sendBig(alice, chat.id, 50);
      sent += 50;
    }
    (raw.ws as any)._socket.resume();
    expect(await raw.closeCode(10_000)).toBe(SLOW_READER);

    // Concurrent sends may arrive out of seq order: a client resumes after the
    // last seq it has with none missing before it.
    const received = new Set(seqsOf(raw));
    let upTo = first;
    while (received.has(upTo + 1)) upTo += 1;
    const resumed = await feedSocket(bob, chat.id, upTo);
    const last = sentBefore + sent;
    await eventually(async () => seqsOf(resumed).at(-1) === last, 20_000, 'the resumed feed to catch up');
    expect(upTo).toBeLessThan(last);
    expect(seqsOf(resumed)).toEqual(Array.from({ length: last - upTo }, (_, i) => upTo + 1 + i));
    resumed.dispose();
  }, 120_000);

  it('paces an afterSeq replay by the socket, and stops reading when the subscriber leaves', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'replaybob');
    const chat = await group(alice, bob);
    // 15 replay pages of 100 messages, about 24 MB: far more than the socket buffers hold.
    await sendBig(alice, chat.id, 1_500);

    // What a whole replay costs in SQL, read by a reader that keeps up.
    const idle = await settledStatements();
    const reader = await feedSocket(bob, chat.id, 0);
    await eventually(async () => seqsOf(reader).length >= 1_500, 30_000, 'the whole replay');
    expect(seqsOf(reader)).toEqual(Array.from({ length: 1_500 }, (_, i) => i + 1));
    reader.dispose();
    const whole = (await settledStatements()) - idle;

    const before = await settledStatements();
    const paused = await feedSocket(bob, chat.id, 0);
    paused.freeze();
    const stalled = await settledStatements();
    // Stalled long before the end, and not cut off: a replay waits for its reader.
    expect(stalled - before).toBeLessThan(whole / 2);
    expect(paused.isClosed).toBe(false);
    paused.ws.send(JSON.stringify({ id: 'feed', type: 'complete' }));
    (paused.ws as any)._socket.resume();
    expect((await settledStatements()) - stalled).toBeLessThan(whole / 10);
    paused.dispose();
  }, 120_000);
});
