import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MESSAGES, SEND, codes, createGroup, cursorOf, history, newUsers, ok } from './helpers/chats.ts';
import { connect, live, run } from './helpers/live.ts';
import { startServer, testConfig, type TestServer } from './helpers/server.ts';
import { PASSWORD, type SignedUp } from './helpers/users.ts';

// Production, as clients meet it: no development details in any error.
let server: TestServer;
beforeAll(async () => {
  server = await startServer(testConfig({ NODE_ENV: 'production' }));
});
afterAll(() => server.stop());

/** The only extensions an error may carry: its code, and what the code's own errors add. */
const ALLOWED_EXTENSIONS = new Set(['code', 'field', 'retryAfterSeconds']);

async function post(body: string, headers: Record<string, string> = { 'content-type': 'application/json' }, token?: string) {
  const response = await fetch(server.url, {
    method: 'POST',
    headers: { accept: 'application/graphql-response+json', ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
  });
  return { status: response.status, body: await response.json() };
}

const operation = (query: string, variables?: Record<string, unknown>, token?: string) =>
  post(JSON.stringify({ query, variables }), undefined, token);

/** Every error of `body` carries a contract code and nothing internal; returns [code, message] pairs. */
function errorsOf(body: any): [string, string][] {
  expect(body.errors?.length).toBeGreaterThan(0);
  for (const error of body.errors) {
    expect(Object.keys(error.extensions ?? {}).filter((key) => !ALLOWED_EXTENSIONS.has(key))).toEqual([]);
    expect(JSON.stringify(error)).not.toMatch(/stack|originalError|prisma|sqlite|postgres|SELECT|at .*\.ts/i);
  }
  return body.errors.map((error: any) => [error.extensions?.code, error.message]);
}

const USER = /* GraphQL */ `query User($name: String!) { user(username: $name) { username } }`;

describe('the error code of every kind of bad request', () => {
  it.each([
    ['malformed JSON', '{"query": ', 400, 'BAD_REQUEST'],
    ['an empty body', '', 400, 'BAD_REQUEST'],
    ['a body without a query', '{}', 400, 'BAD_REQUEST'],
    ['two operations and no operationName', JSON.stringify({ query: 'query A { me { id } } query B { me { id } }' }), 400, 'BAD_REQUEST'],
    ['a document that does not parse', JSON.stringify({ query: '{ me { ' }), 400, 'GRAPHQL_PARSE_FAILED'],
    ['a field the schema lacks', JSON.stringify({ query: '{ nope }' }), 400, 'GRAPHQL_VALIDATION_FAILED'],
    ['a variable of the wrong type', JSON.stringify({ query: USER, variables: { name: 5 } }), 400, 'BAD_USER_INPUT'],
    ['a missing variable', JSON.stringify({ query: USER }), 400, 'BAD_USER_INPUT'],
  ])('%s is %i with %s', async (_what, body, status, code) => {
    const result = await post(body);
    expect(result.status).toBe(status);
    expect(errorsOf(result.body).map(([errorCode]) => errorCode)).toEqual([code]);
  });

  it('a body over the 1 MB limit is 413 with PAYLOAD_TOO_LARGE, whether its length is declared or streamed', async () => {
    const large = JSON.stringify({ query: '{ me { id } }', variables: { padding: 'x'.repeat(1_100_000) } });
    expect(errorsOf((await post(large)).body).map(([code]) => code)).toEqual(['PAYLOAD_TOO_LARGE']);
    expect((await post(large)).status).toBe(413);
    const chunks = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(large));
        controller.close();
      },
    });
    const streamed = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: chunks,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(errorsOf(await streamed.json()).map(([code]) => code)).toEqual(['PAYLOAD_TOO_LARGE']);
  });

  it('an unsupported content type is 415 with BAD_REQUEST', async () => {
    const result = await post('{ me { id } }', { 'content-type': 'text/plain' });
    expect(result.status).toBe(415);
    expect(errorsOf(result.body).map(([code]) => code)).toEqual(['BAD_REQUEST']);
  });
});

describe('document limits', () => {
  let alice: SignedUp;
  beforeAll(async () => {
    [alice] = await newUsers(server, 'limits');
  });

  it('refuses more aliases than the limit with GRAPHQL_VALIDATION_FAILED, naming the limit', async () => {
    const query = `{ ${Array.from({ length: 31 }, (_, i) => `a${i}: me { id }`).join(' ')} }`;
    const result = await operation(query, undefined, alice.token);
    expect(result.status).toBe(400);
    expect(errorsOf(result.body)).toEqual([['GRAPHQL_VALIDATION_FAILED', 'Aliases limit of 30 exceeded, found 31.']]);
  });

  it('refuses a document deeper than the limit with GRAPHQL_VALIDATION_FAILED, naming the limit', async () => {
    const query = '{ chats { edges { node { messages { edges { node { chat { messages { edges { node { chat { members { role } } } } } } } } } } } } }';
    const result = await operation(query, undefined, alice.token);
    expect(errorsOf(result.body)).toEqual([['GRAPHQL_VALIDATION_FAILED', 'Query depth limit of 12 exceeded, found 13.']]);
  });

  it('refuses a document of more tokens than the limit with GRAPHQL_PARSE_FAILED', async () => {
    const query = `{ ${'me { id } '.repeat(600)} }`;
    const [[code, message]] = errorsOf((await operation(query, undefined, alice.token)).body) as [[string, string]];
    expect([code, message]).toEqual(['GRAPHQL_PARSE_FAILED', expect.stringContaining('Token limit of 2000 exceeded')]);
  });

  const INBOX = /* GraphQL */ `
    query Inbox($chats: Int, $messages: Int) {
      chats(first: $chats) {
        edges { cursor node { id name kind unreadCount myRole lastMessage { seq text }
          members { user { username } role }
          messages(last: $messages) { edges { node { id seq text createdAt author { username } } } }
        } }
        pageInfo { hasNextPage endCursor }
      }
    }
  `;

  it('accepts a chat list of 20 with 10 messages each, and a history page of 100 with authors', async () => {
    expect((await operation(INBOX, { chats: 20, messages: 10 }, alice.token)).body).toEqual({ data: { chats: { edges: [], pageInfo: { hasNextPage: false, endCursor: null } } } });
    const chat = await createGroup(server, alice, { name: 'Costs' });
    expect(ok((await operation(MESSAGES, { chatId: chat.id, last: 100 }, alice.token)).body, 'messages').edges).toEqual([]);
  });

  it('refuses 100 chats of 100 messages with GRAPHQL_VALIDATION_FAILED, naming the cost, counting default page sizes too', async () => {
    // The default page of messages is 50: 100 chats of them cost too much as well.
    for (const variables of [{ chats: 100, messages: 100 }, { chats: 100 }]) {
      const result = await operation(INBOX, variables, alice.token);
      expect(result.status).toBe(400);
      expect(errorsOf(result.body)).toEqual([['GRAPHQL_VALIDATION_FAILED', expect.stringMatching(/^Query complexity of \d+ exceeds max complexity of 25000$/)]]);
    }
  });

  it('refuses page sizes whose cost a request with an unusable variable left uncomputed', async () => {
    const query = `query Named($name: String!, $chats: Int, $messages: Int) { user(username: $name) { username } ${INBOX.slice(INBOX.indexOf('chats(first'), INBOX.lastIndexOf('}'))} }`;
    const sizes = { chats: 100, messages: 100 };
    // Without $name the rule cannot compute the cost; execution refuses the variable.
    expect(errorsOf((await operation(query, sizes, alice.token)).body).map(([code]) => code)).toEqual(['BAD_USER_INPUT']);
    const result = await operation(query, { ...sizes, name: 'nobody' }, alice.token);
    expect(errorsOf(result.body)).toEqual([['GRAPHQL_VALIDATION_FAILED', expect.stringMatching(/^Query complexity of \d+ exceeds max complexity of 25000$/)]]);
  });

  it('refuses the same over WebSocket, with the same codes', async () => {
    const client = (await connect(server, alice)).client;
    const tooCostly = await run(client, INBOX, { chats: 100, messages: 100 });
    expect(errorsOf(tooCostly).map(([code]) => code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    const feed = live(client, '{ nope }');
    expect((await feed.failure()).map((error) => error.extensions?.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    const broken = live(client, 'subscription { messageAdded { ');
    expect((await broken.failure()).map((error) => error.extensions?.code)).toEqual(['GRAPHQL_PARSE_FAILED']);
  });
});

describe('text the API cannot store faithfully', () => {
  let alice: SignedUp;
  let chatId: string;
  beforeAll(async () => {
    [alice] = await newUsers(server, 'texts');
    chatId = (await createGroup(server, alice, { name: 'Texts' })).id;
  });

  it.each([
    ['a NUL in the text', { text: 'nul \u0000 inside' }],
    ['a NUL in the clientId', { text: 'fine', clientId: 'key\u0000' }],
    ['an unpaired surrogate in the text', { text: 'half \ud83d of an emoji' }],
    ['only zero-width and invisible characters', { text: '\u200b\u200c\u200d\u2060\ufeff \u3164' }],
  ])('a message with %s is BAD_USER_INPUT and nothing is stored', async (_what, input) => {
    const result = await operation(SEND, { input: { chatId, ...input } }, alice.token);
    expect(errorsOf(result.body).map(([code]) => code)).toEqual(['BAD_USER_INPUT']);
    expect((await history(server, alice, chatId)).edges).toEqual([]);
  });

  it('a NUL in a device name or a search is BAD_USER_INPUT', async () => {
    const login = await operation(`mutation($input: LoginInput!) { login(input: $input) { token } }`, {
      input: { login: alice.user.username, password: PASSWORD, device: 'phone\u0000' },
    });
    expect(errorsOf(login.body).map(([code]) => code)).toEqual(['BAD_USER_INPUT']);
    const search = await operation(`{ publicChats(search: "a\\u0000") { edges { cursor } } }`, undefined, alice.token);
    expect(errorsOf(search.body).map(([code]) => code)).toEqual(['BAD_USER_INPUT']);
  });

  it.each([
    ['a seq beyond what an Int column holds', 'c1:9007199254740993'],
    ['a negative seq', 'c1:-1'],
    ['a NUL inside a key', 'c1:"\u0000"'],
  ])('a cursor with %s is BAD_USER_INPUT', async (_what, key) => {
    const result = await operation(MESSAGES, { chatId, before: cursorOf(key) }, alice.token);
    expect(errorsOf(result.body).map(([code]) => code)).toEqual(['BAD_USER_INPUT']);
  });

  it('a chat-list cursor with a date no database holds is BAD_USER_INPUT', async () => {
    const after = cursorOf(`c1:["-100000-01-01T00:00:00.000Z","x"]`);
    const result = await operation(`query($after: String) { chats(after: $after) { edges { cursor } } }`, { after }, alice.token);
    expect(codes({ status: result.status, ...result.body })).toEqual(['BAD_USER_INPUT']);
  });
});
