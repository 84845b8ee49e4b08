import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findChromium, launchChromium } from './helpers/browser.ts';
import { startServer, testConfig, testProvider, type TestServer } from './helpers/server.ts';

// Nothing here depends on the database: one provider is enough.
const sqlite = testProvider() === 'sqlite';

const METRICS_TOKEN = 'metrics-token-for-the-scraper';
const INTROSPECTION = /* GraphQL */ `{ __schema { queryType { name } } }`;

/** A preflight of a browser page at `origin` that wants to POST with a bearer token. */
const preflight = (server: TestServer, origin: string) =>
  fetch(server.url, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
  });

const corsHeaders = (response: Response) =>
  Object.fromEntries([...response.headers].filter(([name]) => name.startsWith('access-control-')));

async function introspect(server: TestServer) {
  return server.gql(INTROSPECTION);
}

describe.runIf(sqlite)('in production', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(
      testConfig({ NODE_ENV: 'production', CORS_ORIGINS: 'https://chat.example.com, https://admin.example.com', METRICS_TOKEN }),
    );
  });
  afterAll(() => server.stop());

  it('answers a listed origin with CORS headers that allow no credentials, and a preflight Max-Age', async () => {
    const response = await preflight(server, 'https://admin.example.com');
    expect(response.status).toBe(204);
    expect(corsHeaders(response)).toEqual({
      'access-control-allow-origin': 'https://admin.example.com',
      'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE',
      'access-control-allow-headers': 'authorization, content-type',
      'access-control-max-age': '600',
    });
  });

  it('gives an origin not on the list no CORS headers at all, so browsers refuse its pages', async () => {
    expect(corsHeaders(await preflight(server, 'https://evil.example.net'))).toEqual({});
    const post = await fetch(server.url, {
      method: 'POST',
      headers: { origin: 'https://evil.example.net', 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    expect(corsHeaders(post)).toEqual({});
  });

  it('serves /metrics only with its bearer token', async () => {
    expect((await fetch(new URL('/metrics', server.url))).status).toBe(401);
    const wrong = await fetch(new URL('/metrics', server.url), { headers: { authorization: 'Bearer not-the-token-at-all' } });
    expect(wrong.status).toBe(401);
    const scraped = await fetch(new URL('/metrics', server.url), { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('messenger_sql_statements_total');
  });

  it('refuses introspection by default, and serves no GraphiQL', async () => {
    const result = await introspect(server);
    expect(result.data).toBeUndefined();
    expect(new Set(result.errors?.map((error) => error.extensions?.code))).toEqual(new Set(['GRAPHQL_VALIDATION_FAILED']));
    const page = await fetch(server.url, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toContain('graphiql');
  });
});

describe.runIf(sqlite)('in production, configured otherwise', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(testConfig({ NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'true' }));
  });
  afterAll(() => server.stop());

  it('answers introspection when GRAPHQL_INTROSPECTION=true (for codegen)', async () => {
    expect((await introspect(server)).data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  });

  it('does not serve /metrics without a METRICS_TOKEN, and gives no origin CORS headers without CORS_ORIGINS', async () => {
    expect((await fetch(new URL('/metrics', server.url))).status).toBe(404);
    expect(corsHeaders(await preflight(server, 'https://chat.example.com'))).toEqual({});
  });
});

const chromiumPath = findChromium();
describe.runIf(sqlite)('in development', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(testConfig({ NODE_ENV: 'development' }));
  });
  afterAll(() => server.stop());

  it('lets pages of any origin call it, still without credentials, and answers introspection', async () => {
    expect(corsHeaders(await preflight(server, 'http://localhost:5173'))).toEqual(
      expect.objectContaining({ 'access-control-allow-origin': 'http://localhost:5173' }),
    );
    expect(corsHeaders(await preflight(server, 'http://localhost:5173'))).not.toHaveProperty('access-control-allow-credentials');
    expect((await introspect(server)).data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  });

  it.runIf(chromiumPath !== null)('serves a GraphiQL that works offline: the page loads nothing from another origin', async () => {
    const browser = await launchChromium(chromiumPath!);
    try {
      const page = await browser.newPage();
      const origin = new URL(server.url).origin;
      const elsewhere: string[] = [];
      page.on('request', (request) => {
        const url = request.url();
        if (!url.startsWith(origin) && !url.startsWith('data:') && !url.startsWith('blob:')) elsewhere.push(url);
      });
      await page.goto(server.url);
      // GraphiQL has started once its editors are on the page.
      await page.locator('.graphiql-container').first().waitFor({ timeout: 30_000 });
      await page.locator('.graphiql-query-editor').first().waitFor();
      expect(await page.locator('body').innerText()).not.toContain('Loading');
      expect(elsewhere).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
