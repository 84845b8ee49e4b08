import { describe, expect, it } from 'vitest';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { postGraphQL } from './helpers/http.ts';
import { spawnServer } from './helpers/process.ts';
import { freshDatabaseUrl, testProvider } from './helpers/server.ts';

// The process entry (what `npm start` runs): logging, signals, production
// configuration. One provider is enough: nothing here depends on the database.
describe.runIf(testProvider() === 'sqlite')('the server process', () => {
  const env = () => ({
    NODE_ENV: 'test',
    DATABASE_URL: freshDatabaseUrl(),
    JWT_SECRET: 'test-secret-that-is-long-enough-for-production-use',
    BCRYPT_COST: '4',
  });

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

  it.each(['SIGTERM', 'SIGINT'] as const)('on %s closes its sockets, stops and exits with 0', async (signal) => {
    const server = await spawnServer(env());
    const register = await postGraphQL(
      server.url,
      /* GraphQL */ `mutation { register(input: { username: "signal_user", email: "s@example.com", password: "correct horse battery" }) { token } }`,
    );
    const closed = new Promise<number>((resolve) => {
      const client = createClient({
        url: server.url.replace('http', 'ws'),
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: false,
        onNonLazyError: () => undefined,
        connectionParams: { token: register.body.data.register.token },
        on: { connected: () => server.process.kill(signal), closed: (event) => resolve((event as CloseEvent).code) },
      });
      void client;
    });
    // 1001: going away, so clients reconnect elsewhere.
    expect(await closed).toBe(1001);
    expect(await server.exited).toBe(0);
    expect(server.logs.at(-1)).toEqual(expect.objectContaining({ msg: 'server stopped' }));
  });

  it('refuses to start in production without a strong JWT_SECRET', async () => {
    for (const secret of ['', 'too-short']) {
      const start = spawnServer({ ...env(), NODE_ENV: 'production', JWT_SECRET: secret });
      await expect(start).rejects.toThrow(/JWT_SECRET/);
    }
  });
});

