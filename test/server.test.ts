import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { SETTINGS } from '../src/config.ts';
import { openDatabase } from '../src/db/client.ts';
import { applyMigrations, migrationsDir } from '../src/db/migrations.ts';
import { CloseCode } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { printedSchema } from '../src/schema/print.ts';
import { startServer, testConfig, testProvider, type TestServer } from './helpers/server.ts';
import { signUp } from './helpers/users.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

/** Runs one operation over a graphql-ws client and resolves with its first result. */
function once(client: ReturnType<TestServer['ws']>, query: string) {
  return new Promise<unknown>((resolve, reject) => {
    client.subscribe({ query }, { next: resolve, error: reject, complete: () => undefined });
  });
}

/** Resolves with the close code of the client's socket. */
function closeCode(client: ReturnType<TestServer['ws']>) {
  return new Promise<number>((resolve) => client.on('closed', (event) => resolve((event as CloseEvent).code)));
}

describe('HTTP', () => {
  it('reports the database reachable on /health', async () => {
    const response = await fetch(new URL('/health', server.url));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', database: 'up', redis: 'disabled' });
  });

  it('serves GraphiQL to browsers outside production', async () => {
    const response = await fetch(server.url, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('graphiql');
  });

  it('answers malformed JSON with 400 and a GraphQL error', async () => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query": ',
    });
    expect(response.status).toBe(400);
    expect((await response.json()).errors).toHaveLength(1);
  });

  it('answers an unknown field and a wrongly typed variable with 400, not 500', async () => {
    const unknown = await server.gql(`query { me { id nonsense } }`);
    expect(unknown.status).toBe(400);
    expect(unknown.errors?.[0]?.message).toContain('nonsense');
    const wrongType = await server.gql(`query($n: Int) { users(first: $n) { edges { cursor } } }`, { n: 'ten' });
    expect(wrongType.status).toBe(400);
    expect(wrongType.errors?.[0]?.message).toContain('$n');
  });

  it('refuses a document with more aliases than the limit', async () => {
    const aliases = Array.from({ length: 31 }, (_, i) => `a${i}: me { id }`).join(' ');
    const result = await server.gql(`query { ${aliases} }`);
    expect(result.data).toBeUndefined();
    expect(result.errors?.[0]?.message).toMatch(/aliases/i);
  });
});

describe('WebSocket', () => {
  it('closes the socket with 4403 when the token is invalid', async () => {
    const client = server.ws({ authorization: 'Bearer not-a-token' });
    expect(await closeCode(client)).toBe(CloseCode.Forbidden);
  });

  it('closes the socket with 4403 when no token is sent', async () => {
    const client = server.ws({});
    expect(await closeCode(client)).toBe(CloseCode.Forbidden);
  });

  it('runs operations as the user of a valid token, given as a bearer header or bare', async () => {
    const { token } = await signUp(server, 'socketeer');
    expect(await once(server.ws({ authorization: `Bearer ${token}` }), '{ me { username } }')).toEqual({
      data: { me: { username: 'socketeer' } },
    });
    expect(await once(server.ws({ token }), '{ me { username } }')).toEqual({ data: { me: { username: 'socketeer' } } });
  });

  it('closes the socket with 4403 when its token expires while open', async () => {
    const shortLived = await startServer(testConfig({ JWT_TTL: '2s' }));
    try {
      const { token } = await signUp(shortLived, 'fleeting');
      const client = shortLived.ws({ token });
      expect(await once(client, '{ me { username } }')).toEqual({ data: { me: { username: 'fleeting' } } });
      expect(await closeCode(client)).toBe(CloseCode.Forbidden);
    } finally {
      await shortLived.stop();
    }
  });
});

describe('lifecycle', () => {
  it('keeps users across a stop and a start on the same database file', async () => {
    const config = testConfig();
    const first = await startServer(config);
    const { token } = await signUp(first, 'persistent');
    await first.stop();
    const second = await startServer(config);
    try {
      expect((await second.gql('{ me { username } }', {}, token)).data).toEqual({ me: { username: 'persistent' } });
    } finally {
      await second.stop();
    }
  });

  it('refuses to start on a database where a migration did not finish, however often it started before', async () => {
    const config = testConfig();
    await (await startServer(config)).stop();
    const db = await openDatabase(config.databaseUrl);
    try {
      // What a migration that failed half-way leaves behind.
      await db.$executeRawUnsafe(
        'UPDATE _prisma_migrations SET finished_at = NULL WHERE migration_name = (SELECT MAX(migration_name) FROM _prisma_migrations)',
      );
    } finally {
      await db.$disconnect();
    }
    await expect(startServer(config)).rejects.toThrow(/failed migrations/);
  });
});

describe('settings', () => {
  it('are each documented in the README and listed in .env.example', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const example = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
    expect(SETTINGS.filter((name) => !readme.includes(`| \`${name}\``))).toEqual([]);
    expect(SETTINGS.filter((name) => !new RegExp(`^# ${name}=`, 'm').test(example))).toEqual([]);
  });
});

describe('schema.graphql', () => {
  it('is the printed schema (run `npm run schema:print` after changing the schema)', () => {
    expect(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8')).toBe(printedSchema());
  });
});

describe.runIf(testProvider() === 'sqlite')('migrations beside a busy server', () => {
  /**
   * A fresh SQLite file whose write lock another process holds for `ms` (a
   * server is another process: SQLite's wait for a lock blocks its thread).
   */
  async function lockedFor(ms: number) {
    const file = join(mkdtempSync(join(tmpdir(), 'messenger-lock-')), 'chat.db');
    const script = `
      const db = new (require('better-sqlite3'))(process.argv[1]);
      db.exec('BEGIN IMMEDIATE');
      console.log('locked');
      setTimeout(() => { db.exec('COMMIT'); db.close(); }, Number(process.argv[2]));`;
    const holder = spawn(process.execPath, ['-e', script, file, String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve) => holder.stdout.once('data', resolve));
    const released = new Promise((resolve) => holder.once('exit', resolve));
    return { url: `file:${file}`, released };
  }

  it('wait for a write lock that comes free, then apply', async () => {
    const { url, released } = await lockedFor(1_000);
    const all = readdirSync(migrationsDir('sqlite'), { withFileTypes: true }).filter((entry) => entry.isDirectory());
    expect(await applyMigrations({ provider: 'sqlite', url })).toHaveLength(all.length);
    await released;
  });

  it('say plainly that the database is locked when the lock stays past the wait', async () => {
    const { url, released } = await lockedFor(2_000);
    await expect(applyMigrations({ provider: 'sqlite', url, lockWaitMs: 200 })).rejects.toThrow(
      /^The SQLite database is locked: another connection \(a running server, most likely\)/,
    );
    await released;
  });
});
