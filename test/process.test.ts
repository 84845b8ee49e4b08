import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { postGraphQL } from './helpers/http.ts';
import { spawnServer } from './helpers/process.ts';
import { freshDatabaseUrl, testProvider } from './helpers/server.ts';

/** A GET or POST on one of `agent`'s kept-alive connections; resolves with the answer and when it came. */
function request(agent: http.Agent, url: string, { body, token }: { body?: object; token?: string } = {}) {
  return new Promise<{ status: number; body: any; at: number }>((resolve, reject) => {
    const outgoing = http.request(url, {
      agent,
      method: body ? 'POST' : 'GET',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    });
    outgoing.once('response', (incoming) => {
      let text = '';
      incoming.on('data', (chunk: Buffer) => (text += chunk));
      incoming.on('end', () => resolve({ status: incoming.statusCode!, body: text ? JSON.parse(text) : null, at: Date.now() }));
    });
    outgoing.once('error', reject);
    outgoing.end(body ? JSON.stringify(body) : undefined);
  });
}

/**
 * POSTs each body at once, each on a connection of its own that the server
 * has already accepted (a connection still in its backlog when it stops
 * listening is reset by the kernel, which no server can help).
 */
async function inFlight(url: string, bodies: object[], token: string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: bodies.length });
  await Promise.all(bodies.map(() => request(agent, new URL('/live', url).href)));
  return bodies.map((body) => request(agent, url, { body, token }));
}

// The process entry (what `npm start` runs): logging, signals, production
// configuration. One provider is enough: nothing here depends on the database.
describe.runIf(testProvider() === 'sqlite')('the server process', () => {
  const env = () => ({
    NODE_ENV: 'test',
    DATABASE_URL: freshDatabaseUrl(),
    JWT_SECRET: 'test-secret-that-is-long-enough-for-production-use',
    BCRYPT_COST: '4',
  });
  // Logins slow enough (bcrypt at cost 11) to be under way when a stop begins.
  const slowLogins = () => ({ ...env(), BCRYPT_COST: '11' });

  it('logs one JSON line per operation with its name, duration and error codes', async () => {
    const server = await spawnServer(env());
    try {
      await postGraphQL(server.url, 'query Me { me { id } }');
      await postGraphQL(server.url, 'query Sessions { sessions { id } }');
      await expect.poll(() => server.logs.filter((entry) => entry.type === 'execute').length).toBe(2);
      expect(server.logs.filter((entry) => entry.type === 'execute')).toEqual([
        expect.objectContaining({ operation: 'Me', ms: expect.any(Number) }),
        expect.objectContaining({ operation: 'Sessions', ms: expect.any(Number), errors: ['UNAUTHENTICATED'] }),
      ]);
    } finally {
      server.process.kill('SIGKILL');
    }
  });

  it('logs client errors below error level and without stack traces', async () => {
    const server = await spawnServer(env());
    try {
      const wrongLogin = `mutation { login(input: { login: "nobody", password: "wrong password" }) { token } }`;
      await postGraphQL(server.url, wrongLogin);
      await postGraphQL(server.url, 'query Chat { chat(id: "Q2hhdDpub25l") { id } }');
      await postGraphQL(server.url, 'query Bad($n: Int) { users(first: $n) { edges { cursor } } }', { n: 'ten' });
      await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
      await expect.poll(() => server.logs.filter((entry) => entry.type === 'execute').length).toBe(3);
      // pino's levels: 50 is error.
      expect(server.logs.filter((entry) => (entry.level as number) >= 50)).toEqual([]);
      expect(JSON.stringify(server.logs)).not.toMatch(/"stack"/);
    } finally {
      server.process.kill('SIGKILL');
    }
  });

  /** How each way of running the server is stopped: by its process group (a terminal's Ctrl-C, systemd), npm alone (a container whose PID 1 is npm), node alone. */
  const stops = [
    ['npm start, SIGTERM to its process group', true, 'SIGTERM', 'group'],
    ['npm start, SIGINT to its process group (Ctrl-C)', true, 'SIGINT', 'group'],
    ['npm start, SIGTERM to npm alone', true, 'SIGTERM', 'process'],
    ['node, SIGTERM', false, 'SIGTERM', 'process'],
    ['node, SIGINT', false, 'SIGINT', 'process'],
  ] as const;

  it.each(stops)('%s: answers the sends under way, closes sockets with 1001, exits 0 and leaves nothing running', async (_how, npm, signal, target) => {
    const server = await spawnServer(slowLogins(), { npm });
    const serverPid = server.logs[0]!.pid as number;
    const register = await postGraphQL(
      server.url,
      /* GraphQL */ `mutation { register(input: { username: "signal_user", email: "s@example.com", password: "correct horse battery" }) { token } }`,
    );
    const token = register.body.data.register.token as string;
    const group = await postGraphQL(server.url, `mutation { createGroupChat(input: { name: "Stop" }) { id } }`, {}, token);
    const chatId = group.body.data.createGroupChat.id as string;
    const closed = new Promise<number>((resolve) => {
      const client = createClient({
        url: server.url.replace('http', 'ws'),
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: false,
        onNonLazyError: () => undefined,
        connectionParams: { token },
        on: { closed: (event) => resolve((event as CloseEvent).code) },
      });
      void client;
    });
    await expect.poll(() => server.logs.some((entry) => entry.type === 'execute')).toBe(true);

    // Requests the server has begun to read when the signal comes: logins
    // (bcrypt, slow on purpose here) and sends, on connections opened first.
    const login = (i: number) => ({ query: `mutation { login(input: { login: "signal_user", password: "correct horse battery", device: "d${i}" }) { token } }` });
    const send = (i: number) => ({
      query: `mutation($chatId: ID!, $text: String!) { sendMessage(input: { chatId: $chatId, text: $text }) { seq } }`,
      variables: { chatId, text: `in flight ${i}` },
    });
    const requests = await inFlight(server.url, [...Array.from({ length: 10 }, (_, i) => login(i)), ...Array.from({ length: 10 }, (_, i) => send(i))], token);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const signalled = Date.now();
    process.kill(target === 'group' ? -server.process.pid! : server.process.pid!, signal);

    const answered = await Promise.all(requests);
    expect(answered.map((result) => result.status)).toEqual(answered.map(() => 200));
    // Some were answered after the stop began: they were under way.
    expect(answered.some((result) => result.at > signalled)).toBe(true);
    expect(answered.slice(0, 10).every((result) => typeof result.body.data.login.token === 'string')).toBe(true);
    expect(answered.slice(10).map((result) => result.body.data.sendMessage.seq).sort((a: number, b: number) => a - b)).toEqual(
      Array.from({ length: 10 }, (_, i) => i + 1),
    );
    // 1001: going away, so clients reconnect elsewhere.
    expect(await closed).toBe(1001);
    expect(await server.exited).toBe(0);
    expect(server.logs.at(-1)).toEqual(expect.objectContaining({ msg: 'server stopped' }));
    expect(() => process.kill(serverPid, 0)).toThrow(/ESRCH/);
  }, 60_000);

  it('refuses to start in production without a strong JWT_SECRET', async () => {
    for (const secret of ['', 'too-short']) {
      const start = spawnServer({ ...env(), NODE_ENV: 'production', JWT_SECRET: secret });
      await expect(start).rejects.toThrow(/JWT_SECRET/);
    }
  });
});

