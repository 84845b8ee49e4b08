import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SEND, codes, createGroup, history, ok, sleep } from './helpers/chats.ts';
import { RawSocket, connect, eventually, openSocket, run } from './helpers/live.ts';
import { findRedisServer, startRedis, type TestRedis } from './helpers/redis.ts';
import { freshDatabaseUrl, startServer, testConfig, testProvider, type TestServer } from './helpers/server.ts';
import { PASSWORD, type SignedUp } from './helpers/users.ts';

// Low limits, and addresses taken from X-Forwarded-For, so that one test
// process can be many clients.
const LIMITS = {
  TRUST_PROXY: 'true',
  RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT: '3',
  RATE_LIMIT_LOGIN_FAILURES_PER_ADDRESS: '5',
  RATE_LIMIT_REGISTRATIONS_PER_ADDRESS: '3',
  RATE_LIMIT_SENDS_PER_USER: '4',
  RATE_LIMIT_CONNECTIONS_PER_ADDRESS: '4',
  WS_MAX_PENDING_PER_ADDRESS: '2',
};

const LOGIN = /* GraphQL */ `mutation Login($input: LoginInput!) { login(input: $input) { token } }`;
const REGISTER = /* GraphQL */ `mutation Register($input: RegisterInput!) { register(input: $input) { user { id } } }`;
const REGISTER_FULL = /* GraphQL */ `
  mutation Register($input: RegisterInput!) { register(input: $input) { token user { id username email } session { id device } } }
`;

let addresses = 0;
/** An address no test has used yet. */
const newAddress = () => `198.51.100.${(addresses += 1)}`;

async function gqlFrom(server: TestServer, address: string, query: string, variables?: Record<string, unknown>, token?: string) {
  const response = await fetch(server.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-forwarded-for': `203.0.113.250, ${address}`,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, ...(await response.json()) };
}

/** signUp, each from an address of its own (this server allows 3 registrations per address). */
async function signUp(server: TestServer, username: string): Promise<SignedUp> {
  const result = await gqlFrom(server, newAddress(), REGISTER_FULL, {
    input: { username, email: `${username}@example.com`, password: PASSWORD },
  });
  return ok(result, 'register');
}

const login = (server: TestServer, address: string, name: string, password: string) =>
  gqlFrom(server, address, LOGIN, { input: { login: name, password } });

const RATE_LIMITED = {
  code: 'RATE_LIMITED',
  retryAfterSeconds: expect.any(Number),
};

describe('rate limits of one instance', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(testConfig(LIMITS));
  });
  afterAll(() => server.stop());

  it('refuses logins to an account after 3 failures, from any address, before checking the password', async () => {
    const victim = await signUp(server, 'victim1');
    for (let i = 0; i < 3; i += 1) {
      expect(codes(await login(server, newAddress(), 'victim1', 'wrong password'))).toEqual(['UNAUTHENTICATED']);
    }
    const refused = await login(server, newAddress(), 'victim1', PASSWORD);
    expect(refused.errors).toEqual([
      expect.objectContaining({ message: expect.stringMatching(/^Too many failed logins for this account; try again in \d+ s\.$/), extensions: RATE_LIMITED }),
    ]);
    expect(refused.errors[0].extensions.retryAfterSeconds).toBeGreaterThan(0);
    // The email names the same account.
    expect(codes(await login(server, newAddress(), victim.user.email, PASSWORD))).toEqual(['RATE_LIMITED']);
  });

  it('does not count right logins: many in a row all succeed', async () => {
    await signUp(server, 'regular1');
    const address = newAddress();
    for (let i = 0; i < 8; i += 1) expect(ok(await login(server, address, 'regular1', PASSWORD), 'login').token).toBeTruthy();
  });

  it('refuses logins from an address after 5 failures on any accounts, while other addresses go on', async () => {
    const guesser = newAddress();
    for (let i = 0; i < 5; i += 1) {
      expect(codes(await login(server, guesser, `nobody${i}`, 'wrong password'))).toEqual(['UNAUTHENTICATED']);
    }
    expect(codes(await login(server, guesser, 'nobody9', 'wrong password'))).toEqual(['RATE_LIMITED']);
    await signUp(server, 'bystander1');
    expect(ok(await login(server, newAddress(), 'bystander1', PASSWORD), 'login').token).toBeTruthy();
  });

  it('lets at most the limit of concurrent guesses reach the password check', async () => {
    await signUp(server, 'victim2');
    const results = await Promise.all(
      Array.from({ length: 20 }, () => login(server, newAddress(), 'victim2', 'wrong password')),
    );
    const answered = results.map((result) => codes(result)?.[0]);
    expect(answered.filter((code) => code === 'UNAUTHENTICATED')).toHaveLength(3);
    expect(answered.filter((code) => code === 'RATE_LIMITED')).toHaveLength(17);
  });

  it('checks the password of a client with no failed login before those of a client guessing', async () => {
    // Slow enough checks (bcrypt cost 11) for a queue to form.
    const slow = await startServer(testConfig({ ...LIMITS, BCRYPT_COST: '11', RATE_LIMIT_LOGIN_FAILURES_PER_ADDRESS: '100' }));
    try {
      await signUp(slow, 'realuser');
      const victims = await Promise.all(Array.from({ length: 8 }, (_, i) => signUp(slow, `target${i}`)));
      const guesser = newAddress();
      expect(codes(await login(slow, guesser, 'target0', 'wrong'))).toEqual(['UNAUTHENTICATED']);
      const finished: string[] = [];
      const guesses = victims.map((victim) =>
        login(slow, guesser, victim.user.username, 'wrong').then(() => finished.push('guess')),
      );
      await sleep(20);
      const real = login(slow, newAddress(), 'realuser', PASSWORD).then((result) => {
        finished.push('real');
        return result;
      });
      expect(ok(await real, 'login').token).toBeTruthy();
      await Promise.all(guesses);
      // Behind at most the checks already running: well before the last of the guesses.
      expect(finished.indexOf('real')).toBeLessThan(finished.length - 4);
    } finally {
      await slow.stop();
    }
  });

  it('refuses a fourth registration from one address and creates nothing', async () => {
    const address = newAddress();
    const register = (name: string) =>
      gqlFrom(server, address, REGISTER, { input: { username: name, email: `${name}@example.com`, password: PASSWORD } });
    for (const name of ['reg_a', 'reg_b', 'reg_c']) expect(ok(await register(name), 'register').user.id).toBeTruthy();
    expect(codes(await register('reg_d'))).toEqual(['RATE_LIMITED']);
    const watcher = await signUp(server, 'regwatcher');
    expect((await server.gql(`query { user(username: "reg_d") { id } }`, {}, watcher.token)).data).toEqual({ user: null });
  });

  it('refuses a fifth send by one user, over HTTP and WebSocket, and stores nothing of it; others still send', async () => {
    const alice = await signUp(server, 'sender1');
    const bob = await signUp(server, 'sender2');
    const chat = await createGroup(server, alice, { name: 'Limited', members: ['sender2'] });
    const sendAs = (user: typeof alice, text: string) => server.gql(SEND, { input: { chatId: chat.id, text } }, user.token);
    for (let i = 1; i <= 4; i += 1) ok(await sendAs(alice, `m${i}`), 'sendMessage');
    const refused = await sendAs(alice, 'm5');
    expect(refused.errors).toEqual([expect.objectContaining({ extensions: RATE_LIMITED })]);
    const overSocket = await run((await connect(server, alice)).client, SEND, { input: { chatId: chat.id, text: 'm6' } });
    expect(overSocket.errors).toEqual([expect.objectContaining({ extensions: RATE_LIMITED })]);
    ok(await sendAs(bob, 'from bob'), 'sendMessage');
    expect((await history(server, bob, chat.id)).edges.map((edge: any) => edge.node.text)).toEqual(['m1', 'm2', 'm3', 'm4', 'from bob']);
  });

  it('closes the fifth socket from one address in a minute with 4429, saying when to retry', async () => {
    const user = await signUp(server, 'sockets1');
    const address = newAddress();
    const headers = { 'x-forwarded-for': address };
    const sockets = [];
    for (let i = 0; i < 4; i += 1) {
      const socket = openSocket(server, { authorization: `Bearer ${user.token}` }, { webSocketImpl: withHeaders(headers) });
      await socket.connected;
      sockets.push(socket);
    }
    const fifth = openSocket(server, { authorization: `Bearer ${user.token}` }, { webSocketImpl: withHeaders(headers) });
    const closed = await fifth.closed;
    expect(closed).toEqual({ code: 4429, reason: expect.stringMatching(/^Too many connections from this address; try again in \d+ s\.$/) });
    for (const socket of sockets) expect(socket.isClosed()).toBe(false);
  });

  it('closes a third socket of one address that has not sent connection_init with 4429', async () => {
    const address = newAddress();
    const silent = [new RawSocket(server.wsUrl, { 'x-forwarded-for': address }), new RawSocket(server.wsUrl, { 'x-forwarded-for': address })];
    await Promise.all(silent.map((socket) => socket.opened));
    const third = new RawSocket(server.wsUrl, { 'x-forwarded-for': address });
    expect(await third.closeCode()).toBe(4429);
    expect(silent.map((socket) => socket.isClosed)).toEqual([false, false]);
    // Once one of them is gone, there is room again.
    silent[0]!.dispose();
    await sleep(100);
    const fourth = new RawSocket(server.wsUrl, { 'x-forwarded-for': address });
    await fourth.opened;
    await sleep(200);
    expect(fourth.isClosed).toBe(false);
    for (const socket of [...silent, third, fourth]) socket.dispose();
  });
});

/** The ws WebSocket class, sending `headers` with the upgrade request. */
function withHeaders(headers: Record<string, string>) {
  return class extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, { headers });
    }
  };
}

// Several instances share counts through Redis, and keep counting alone without it.
const redisServer = findRedisServer();
describe.runIf(testProvider() === 'postgresql' && redisServer !== null)('rate limits of two instances sharing Redis', () => {
  let redis: TestRedis;
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    redis = await startRedis(redisServer!);
    const env = { ...LIMITS, DATABASE_URL: freshDatabaseUrl(), REDIS_URL: redis.url };
    a = await startServer(testConfig(env));
    b = await startServer(testConfig(env));
    await eventually(async () => (await (await fetch(new URL('/health', a.url))).json()).redis === 'up', 10_000, 'redis up');
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await redis?.stop();
  });

  it('count failed logins to one account on both instances together', async () => {
    await signUp(a, 'shared1');
    expect(codes(await login(a, newAddress(), 'shared1', 'wrong'))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await login(b, newAddress(), 'shared1', 'wrong'))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await login(a, newAddress(), 'shared1', 'wrong'))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await login(b, newAddress(), 'shared1', PASSWORD))).toEqual(['RATE_LIMITED']);
  });

  it('while Redis is down, go on serving and count on each instance alone', async () => {
    await signUp(a, 'shared2');
    await redis.stop();
    try {
      await eventually(async () => (await (await fetch(new URL('/health', a.url))).json()).redis === 'down', 10_000, 'redis down');
      // Each instance allows the account its own 3 failures.
      for (const server of [a, b]) {
        for (let i = 0; i < 3; i += 1) expect(codes(await login(server, newAddress(), 'shared2', 'wrong'))).toEqual(['UNAUTHENTICATED']);
        expect(codes(await login(server, newAddress(), 'shared2', 'wrong'))).toEqual(['RATE_LIMITED']);
      }
      await signUp(b, 'shared3');
      expect(ok(await login(a, newAddress(), 'shared3', PASSWORD), 'login').token).toBeTruthy();
    } finally {
      await redis.start();
    }
  });
});
