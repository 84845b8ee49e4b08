import { CloseCode } from 'graphql-ws';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MESSAGE_FIELDS, createGroup, newUsers, ok, send, sleep } from './helpers/chats.ts';
import {
  QUIET_MS,
  RawSocket,
  connect,
  errorCodes,
  live,
  liveGauges,
  messageProbe,
  openSocket,
  prime,
  run,
  settledGauges,
  within,
} from './helpers/live.ts';
import { startServer, testConfig, type TestServer } from './helpers/server.ts';
import { PASSWORD, signUp, type SignedUp } from './helpers/users.ts';

const MAX_SUBSCRIPTIONS = 5;
const MAX_SOCKETS = 3;
const INIT_TIMEOUT_MS = 500;
// The default maximum frame size (WS_MAX_PAYLOAD_BYTES is left unset).
const MAX_PAYLOAD = 65_536;
// RFC 6455: "message too big".
const MESSAGE_TOO_BIG = 1009;

let server: TestServer;
beforeAll(async () => {
  server = await startServer(
    testConfig({
      WS_INIT_TIMEOUT_SECONDS: String(INIT_TIMEOUT_MS / 1000),
      WS_MAX_SUBSCRIPTIONS: String(MAX_SUBSCRIPTIONS),
      WS_MAX_SOCKETS_PER_USER: String(MAX_SOCKETS),
    }),
  );
});
afterAll(() => server.stop());

const ME = /* GraphQL */ `query { me { username } }`;
const REVOKE = /* GraphQL */ `mutation Revoke($id: ID!) { revokeSession(id: $id) }`;
const LOGIN = /* GraphQL */ `
  mutation Login($input: LoginInput!) { login(input: $input) { token session { id } } }
`;
const MESSAGE_ADDED = /* GraphQL */ `
  subscription MessageAdded($chatId: ID, $afterSeq: Int) {
    messageAdded(chatId: $chatId, afterSeq: $afterSeq) { ...MessageFields }
  }
  ${MESSAGE_FIELDS}
`;

const name = (user: SignedUp) => user.user.username;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const forbidden = (reason: string) => ({ code: CloseCode.Forbidden, reason });
/** How the socket was closed: code and reason, waiting at most `ms`. */
const closeOf = (socket: ReturnType<typeof openSocket>, ms = 3_000) => within(ms, socket.closed, () => 'socket still open');

/** A second session of `user`, as from another device. */
async function login(user: SignedUp, device = 'second-device') {
  return ok<{ token: string; session: { id: string } }>(
    await server.gql(LOGIN, { input: { login: name(user), password: PASSWORD, device } }),
    'login',
  );
}

describe('closing with 4403 (Forbidden)', () => {
  it.each([
    ['no connection params', undefined],
    ['an empty payload', {}],
    ['an empty bearer header', { authorization: 'Bearer ' }],
    ['a null token', { token: null }],
  ])('closes the socket when connection_init carries %s, saying the token is missing', async (_case, params) => {
    expect(await closeOf(openSocket(server, params))).toEqual(forbidden('Missing token'));
  });

  it('closes the socket when the token is malformed, tampered with or signed with another secret, saying it is invalid', async () => {
    const alice = await signUp(server, 'forger');
    const [header, payload, signature] = alice.token.split('.') as [string, string, string];
    const flipped = signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11);
    const claims = jwt.decode(alice.token) as Record<string, unknown>;
    const foreign = jwt.sign(claims, 'another-secret-that-is-long-enough-for-anything');
    for (const params of [
      bearer('not-a-token'),
      { token: 'not-a-token' },
      bearer(`${header}.${payload}.${flipped}`),
      { token: foreign },
      { authorization: alice.token.slice(0, -1) },
    ]) {
      expect(await closeOf(openSocket(server, params)), JSON.stringify(params)).toEqual(forbidden('Invalid token'));
    }
    // The genuine token still works.
    expect((await connect(server, alice)).isClosed()).toBe(false);
  });

  it('closes the socket when its session was logged out or revoked before connecting, saying so', async () => {
    const [alice] = await newUsers(server, 'revoked');
    const loggedOut = await login(alice!, 'logged-out');
    ok(await server.gql(`mutation { logout }`, {}, loggedOut.token), 'logout');
    const revoked = await login(alice!, 'revoked');
    ok(await server.gql(REVOKE, { id: revoked.session.id }, alice!.token), 'revokeSession');

    expect(await closeOf(openSocket(server, bearer(loggedOut.token)))).toEqual(forbidden('Session revoked'));
    expect(await closeOf(openSocket(server, { token: revoked.token }))).toEqual(forbidden('Session revoked'));
  });

  it('closes an open socket when its token expires, and refuses the expired token afterwards', async () => {
    // JWT expiry has one-second resolution: a 2 s token lives between 1 and 2 seconds.
    const shortLived = await startServer(testConfig({ JWT_TTL: '2s' }));
    try {
      const alice = await signUp(shortLived, 'fleeting');
      const socket = openSocket(shortLived, bearer(alice.token));
      const sub = live(socket.client, MESSAGE_ADDED, {});
      expect(await run(socket.client, ME)).toEqual({ data: { me: { username: 'fleeting' } } });
      expect(await closeOf(socket, 3_000)).toEqual(forbidden('Token expired'));
      await sub.until(() => sub.ended);
      expect(await closeOf(openSocket(shortLived, bearer(alice.token)))).toEqual(forbidden('Token expired'));
    } finally {
      await shortLived.stop();
    }
  });

  it("logout closes that session's open sockets within a second, not the user's other session's", async () => {
    const alice = await signUp(server, 'loggingout');
    const other = await login(alice);
    const doomed = [await connect(server, alice), await connect(server, alice)];
    const survivor = openSocket(server, bearer(other.token));
    await survivor.connected;

    ok(await server.gql(`mutation { logout }`, {}, alice.token), 'logout');
    for (const socket of doomed) expect(await closeOf(socket, 1_500)).toEqual(forbidden('Session revoked'));
    await sleep(QUIET_MS);
    expect(survivor.isClosed()).toBe(false);
    expect(await run(survivor.client, ME)).toEqual({ data: { me: { username: name(alice) } } });
  });

  it("revokeSession closes the revoked session's open sockets within a second, not the caller's", async () => {
    const alice = await signUp(server, 'revoking');
    const other = await login(alice);
    const doomed = openSocket(server, { token: other.token });
    await doomed.connected;
    const survivor = await connect(server, alice);

    ok(await server.gql(REVOKE, { id: other.session.id }, alice.token), 'revokeSession');
    expect(await closeOf(doomed, 1_500)).toEqual(forbidden('Session revoked'));
    await sleep(QUIET_MS);
    expect(survivor.isClosed()).toBe(false);
    expect(await run(survivor.client, ME)).toEqual({ data: { me: { username: name(alice) } } });
  });
});

describe('limits', () => {
  it('closes a socket that sends no connection_init in time with 4408', async () => {
    const raw = new RawSocket(server.wsUrl);
    const opened = Date.now();
    await raw.opened;
    expect(await raw.closeCode(INIT_TIMEOUT_MS + 2_000)).toBe(CloseCode.ConnectionInitialisationTimeout);
    expect(Date.now() - opened).toBeGreaterThanOrEqual(INIT_TIMEOUT_MS - 50);
  });

  it('refuses the subscription beyond the per-socket maximum with RATE_LIMITED and keeps the socket', async () => {
    const [alice] = await newUsers(server, 'many');
    const chat = await createGroup(server, alice!, { name: 'Busy' });
    const probe = messageProbe(server, alice!, chat.id);
    const socket = await connect(server, alice!);
    const subscribe = () => live(socket.client, MESSAGE_ADDED, { chatId: chat.id }, probe);
    const subs = Array.from({ length: MAX_SUBSCRIPTIONS }, subscribe);
    await prime(subs, probe.poke);

    const refused = subscribe();
    expect(errorCodes(await refused.failure())).toEqual(['RATE_LIMITED']);
    expect(socket.isClosed()).toBe(false);
    const message = await send(server, alice!, chat.id, 'to all five');
    for (const sub of subs) expect(await sub.next()).toEqual(message);
    expect(refused.events).toEqual([]);

    // Completing one makes room for another.
    const before = await settledGauges(server);
    subs[0]!.unsubscribe();
    await vi.waitFor(
      async () => expect((await liveGauges(server)).messenger_subscriptions).toBe(before.messenger_subscriptions - 1),
      { timeout: 3_000, interval: 50 },
    );
    const replacement = live(socket.client, MESSAGE_ADDED, { chatId: chat.id, afterSeq: message.seq - 1 }, probe);
    expect(await replacement.next()).toEqual(message);
  });

  it('closes the socket beyond the per-user maximum with 4429, counting each user separately', async () => {
    const [alice, bob] = await newUsers(server, 'sockets', 'other');
    const sockets = [];
    for (let i = 0; i < MAX_SOCKETS; i += 1) sockets.push(await connect(server, alice!));
    expect(await openSocket(server, bearer(alice!.token)).closeCode()).toBe(CloseCode.TooManyInitialisationRequests);
    expect(sockets.map((socket) => socket.isClosed())).toEqual(sockets.map(() => false));
    expect(await run(sockets[0]!.client, ME)).toEqual({ data: { me: { username: name(alice!) } } });
    expect((await connect(server, bob!)).isClosed()).toBe(false);

    // Closing one makes room for another (once the server has seen it go).
    await sockets[0]!.client.dispose();
    await vi.waitFor(
      async () => {
        // `connected` rejects when the socket is closed (4429) instead.
        const retry = openSocket(server, bearer(alice!.token));
        await within(3_000, retry.connected, () => 'no answer');
      },
      { timeout: 3_000, interval: 100 },
    );
  });

  it('closes the socket with 1009 when a frame exceeds the maximum size, and accepts one just under it', async () => {
    const [alice] = await newUsers(server, 'big');
    const under = await connect(server, alice!);
    // Variables the operation does not declare are ignored: they only make the frame big.
    expect(await run(under.client, ME, { padding: 'x'.repeat(MAX_PAYLOAD - 1_000) })).toEqual({
      data: { me: { username: name(alice!) } },
    });
    expect(under.isClosed()).toBe(false);

    const over = await connect(server, alice!);
    const sub = live(over.client, ME, { padding: 'x'.repeat(MAX_PAYLOAD + 1_000) });
    expect(await over.closeCode()).toBe(MESSAGE_TOO_BIG);
    expect(sub.events).toEqual([]);

    // Before connection_init too.
    const raw = new RawSocket(server.wsUrl);
    await raw.opened;
    raw.ws.send('y'.repeat(MAX_PAYLOAD + 1));
    expect(await raw.closeCode()).toBe(MESSAGE_TOO_BIG);
  });
});

describe('ending subscriptions', () => {
  it('a subscription the client completes gets no more events and is released; the socket stays open', async () => {
    const [alice] = await newUsers(server, 'completer');
    const chat = await createGroup(server, alice!, { name: 'Complete' });
    const probe = messageProbe(server, alice!, chat.id);
    const socket = await connect(server, alice!);
    const ending = live(socket.client, MESSAGE_ADDED, { chatId: chat.id }, probe);
    const staying = live(socket.client, MESSAGE_ADDED, {}, probe);
    await prime([ending, staying], probe.poke);
    const before = await settledGauges(server);

    ending.unsubscribe();
    await vi.waitFor(
      async () => {
        const after = await liveGauges(server);
        expect(after.messenger_subscriptions).toBe(before.messenger_subscriptions - 1);
        expect(after.messenger_chat_subscribers).toBe(before.messenger_chat_subscribers - 1);
        expect(after.messenger_websockets).toBe(before.messenger_websockets);
      },
      { timeout: 3_000, interval: 50 },
    );
    const message = await send(server, alice!, chat.id, 'after complete');
    expect(await staying.next()).toEqual(message);
    await sleep(QUIET_MS);
    expect(ending.fresh).toEqual([]);
    expect(socket.isClosed()).toBe(false);
    expect(await run(socket.client, ME)).toEqual({ data: { me: { username: name(alice!) } } });
  });

  it("closing a socket ends and releases its subscriptions, whether closed cleanly or dropped", async () => {
    const [alice, bob] = await newUsers(server, 'closer', 'watcher');
    const chat = await createGroup(server, alice!, { name: 'Close', members: [name(bob!)] });
    const first = await send(server, alice!, chat.id, 'replayed');
    const baseline = await settledGauges(server);

    // A graphql-ws client that closes with a close frame.
    const socket = await connect(server, alice!);
    const subs = [
      live(socket.client, MESSAGE_ADDED, { chatId: chat.id, afterSeq: 0 }),
      live(socket.client, MESSAGE_ADDED, { chatId: chat.id, afterSeq: 0 }),
    ];
    for (const sub of subs) expect(await sub.next()).toEqual(first);
    // A raw socket that vanishes without one.
    const raw = new RawSocket(server.wsUrl);
    await raw.init(bearer(bob!.token));
    raw.ws.send(
      JSON.stringify({
        id: 'raw-1',
        type: 'subscribe',
        payload: { query: MESSAGE_ADDED, variables: { chatId: chat.id, afterSeq: 0 } },
      }),
    );
    await vi.waitFor(() => expect(raw.messages.some((message) => message.type === 'next')).toBe(true), {
      timeout: 3_000,
      interval: 20,
    });
    await vi.waitFor(
      async () => {
        const during = await liveGauges(server);
        expect(during.messenger_websockets).toBe(baseline.messenger_websockets + 2);
        expect(during.messenger_subscriptions).toBe(baseline.messenger_subscriptions + 3);
        expect(during.messenger_chat_subscribers).toBe(baseline.messenger_chat_subscribers + 3);
      },
      { timeout: 3_000, interval: 50 },
    );

    await socket.client.dispose();
    raw.drop();
    await vi.waitFor(async () => expect(await liveGauges(server)).toEqual(baseline), { timeout: 3_000, interval: 50 });

    // The server carries on: a new subscriber gets new messages.
    const watcher = live((await connect(server, bob!)).client, MESSAGE_ADDED, { chatId: chat.id, afterSeq: first.seq });
    const next = await send(server, alice!, chat.id, 'after the close');
    expect(await watcher.next()).toEqual(next);
  });
});
