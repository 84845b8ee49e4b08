import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import { inject } from 'vitest';
import WebSocket from 'ws';
import { createApp, type App } from '../../src/app.ts';
import { loadConfig, type AppConfig } from '../../src/config.ts';
import type { Provider } from '../../src/db/migrations.ts';
import { postGraphQL } from './http.ts';
import { createDatabase } from './postgres.ts';
import { UNLIMITED_RATES } from './rates.ts';

export interface GraphQLResponse<T = any> {
  status: number;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string; [key: string]: unknown } }[];
}

export interface TestServer {
  app: App;
  config: AppConfig;
  url: string;
  wsUrl: string;
  /** POSTs one operation; `token` goes in the Authorization header. */
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<GraphQLResponse<T>>;
  /** A graphql-ws client for this server; closed automatically after the file's tests. */
  ws(connectionParams?: Record<string, unknown>, options?: Partial<Parameters<typeof createClient>[0]>): Client;
  stop(): Promise<void>;
}

/** The provider this run tests: vitest's postgres project sets up a Postgres cluster, the sqlite project none. */
export function testProvider(): Provider {
  return inject('postgres') ? 'postgresql' : 'sqlite';
}

/**
 * A fresh, empty database of the provider under test: a new database in the
 * suite's throwaway Postgres cluster, or a SQLite file in its own temporary
 * folder. The app applies the migrations when it starts.
 */
export function freshDatabaseUrl(): string {
  const postgres = inject('postgres');
  if (postgres) return createDatabase(postgres);
  return `file:${join(mkdtempSync(join(tmpdir(), 'messenger-test-')), 'chat.db')}`;
}

/** The config of a test server with its own fresh database (unless `env` names one). */
export function testConfig(env: Record<string, string> = {}): AppConfig {
  return loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: env.DATABASE_URL ?? freshDatabaseUrl(),
    JWT_SECRET: 'test-secret-that-is-long-enough-for-production-use',
    // The lowest cost bcrypt allows keeps the suite fast; hashing is still real.
    BCRYPT_COST: '4',
    LOG_LEVEL: 'silent',
    ...UNLIMITED_RATES,
    ...env,
  });
}

/** Starts the real app on a free port with its own database. */
export async function startServer(config: AppConfig = testConfig()): Promise<TestServer> {
  const app = await createApp(config);
  const { port } = await app.start(0, '127.0.0.1');
  const url = `http://127.0.0.1:${port}/graphql`;
  const wsUrl = `ws://127.0.0.1:${port}/graphql`;
  const clients: Client[] = [];
  return {
    app,
    config,
    url,
    wsUrl,
    async gql(query, variables, token) {
      const { status, body } = await postGraphQL(url, query, variables, token);
      return { status, ...body };
    },
    ws(connectionParams, options) {
      const client = createClient({
        url: wsUrl,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: false,
        // Tests assert close codes themselves; the default would print each one.
        onNonLazyError: () => undefined,
        connectionParams,
        ...options,
      });
      clients.push(client);
      return client;
    },
    async stop() {
      await Promise.all(clients.map((client) => client.dispose()));
      await app.stop();
    },
  };
}
