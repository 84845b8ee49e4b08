import SwaggerParser from '@apidevtools/swagger-parser';
import type { OpenAPIV3 } from 'openapi-types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restErrorResponse } from '../src/server/rest.ts';
import { PASSWORD } from './helpers/users.ts';
import { startServer, testConfig, type TestServer } from './helpers/server.ts';
import { uniqueName } from './helpers/chats.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

interface RestResponse {
  status: number;
  body: any;
  retryAfter: string | null;
}

/** One REST call as a curl user makes it: JSON body, Bearer token, query string. */
async function rest(
  method: string,
  path: string,
  { token, body, query }: { token?: string; body?: unknown; query?: Record<string, string | number> } = {},
  target: TestServer = server,
): Promise<RestResponse> {
  const url = new URL(`/api${path}`, target.url);
  for (const [name, value] of Object.entries(query ?? {})) url.searchParams.set(name, String(value));
  const response = await fetch(url, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null, retryAfter: response.headers.get('retry-after') };
}

/** Registers over REST; returns the token and the user. */
async function registered(prefix: string) {
  const username = uniqueName(prefix);
  const { status, body } = await rest('POST', '/register', {
    body: { input: { username, email: `${username}@example.com`, password: PASSWORD, device: 'curl' } },
  });
  expect(status).toBe(200);
  return { token: body.token as string, user: body.user as { id: string; username: string } };
}

const error = (code: string, message: string, extensions: Record<string, unknown> = {}) => ({
  errors: [{ message, extensions: { ...extensions, code } }],
});

describe('OpenAPI document', () => {
  it('is served at /api/openapi.json and passes an OpenAPI validator', async () => {
    const response = await fetch(new URL('/api/openapi.json', server.url));
    expect(response.status).toBe(200);
    const document = (await response.json()) as OpenAPIV3.Document;
    const validated = (await SwaggerParser.validate(structuredClone(document))) as OpenAPIV3.Document;
    expect(validated.openapi).toMatch(/^3\./);
    expect(document.servers).toEqual([{ url: '/api' }]);
  });

  it('describes every REST route, generated from the GraphQL schema', async () => {
    const document = (await (await fetch(new URL('/api/openapi.json', server.url))).json()) as OpenAPIV3.Document;
    const routes = Object.entries(document.paths)
      .flatMap(([path, item]) => Object.keys(item ?? {}).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    expect(routes).toEqual(
      [
        'POST /register',
        'POST /login',
        'POST /logout',
        'GET /me',
        'GET /sessions',
        'DELETE /sessions/{id}',
        'GET /users',
        'GET /users/{username}',
        'GET /online-users',
        'GET /node',
        'GET /chats',
        'GET /public-chats',
        'GET /chats/{id}',
        'POST /chats/direct',
        'POST /chats/group',
        'POST /chats/{chatId}/join',
        'POST /chats/{chatId}/leave',
        'POST /chats/{chatId}/members',
        'DELETE /chats/{chatId}/members/{username}',
        'POST /chats/{chatId}/read',
        'PUT /chats/{chatId}/ttl',
        'POST /chats/{chatId}/typing',
        'GET /chats/{chatId}/messages',
        'POST /messages',
        'PATCH /messages',
        'DELETE /messages/{id}',
        'GET /messages/search',
        'PUT /messages/{messageId}/reactions/{emoji}',
        'DELETE /messages/{messageId}/reactions/{emoji}',
        'PUT /messages/{id}/pin',
        'DELETE /messages/{id}/pin',
        'GET /blocked-users',
        'PUT /blocked-users/{username}',
        'DELETE /blocked-users/{username}',
      ].sort(),
    );
    // A chat comes without its history (which has its own paged route), a message without its thread.
    expect(Object.keys((document.components!.schemas!.Chat as OpenAPIV3.SchemaObject).properties!)).not.toContain('messages');
    expect(Object.keys((document.components!.schemas!.Message as OpenAPIV3.SchemaObject).properties!)).not.toContain('replies');
  });

  it('does not offer SOFA’s subscription webhooks, which would make the server call any URL', async () => {
    const { token } = await registered('hooker');
    expect(await rest('POST', '/webhook', { token, body: { subscription: 'messageAdded', url: 'http://127.0.0.1:9/' } })).toEqual({
      status: 404,
      body: error('NOT_FOUND', 'No such endpoint.'),
      retryAfter: null,
    });
  });
});

describe('accounts over REST', () => {
  it('registers, signs in with a Bearer token, reads me, and logs out so the token stops working', async () => {
    const username = uniqueName('restie');
    const registeredAs = await rest('POST', '/register', {
      body: { input: { username, email: `${username}@example.com`, password: PASSWORD, device: 'curl' } },
    });
    expect(registeredAs.status).toBe(200);
    expect(registeredAs.body.user).toMatchObject({ username, email: `${username}@example.com` });

    const login = await rest('POST', '/login', { body: { input: { login: username, password: PASSWORD, device: 'curl-2' } } });
    expect(login.status).toBe(200);
    const { token } = login.body;
    const me = await rest('GET', '/me', { token });
    expect(me).toEqual({ status: 200, body: { ...registeredAs.body.user, online: false }, retryAfter: null });

    expect(await rest('POST', '/logout', { token })).toEqual({ status: 200, body: true, retryAfter: null });
    expect(await rest('GET', '/me', { token })).toEqual({ status: 200, body: null, retryAfter: null });
    expect((await rest('GET', '/chats', { token })).status).toBe(401);
  });

  it('lists users by prefix', async () => {
    const { token, user } = await registered('zorro');
    const { status, body } = await rest('GET', '/users', { token, query: { search: user.username, first: 5 } });
    expect(status).toBe(200);
    expect(body.edges.map((edge: any) => edge.node.username)).toEqual([user.username]);
  });
});

describe('a conversation over REST', () => {
  it('opens a direct chat and a group, sends, pages history back, edits, deletes and marks read', async () => {
    const alice = await registered('alice');
    const bob = await registered('bob');
    const direct = await rest('POST', '/chats/direct', { token: alice.token, body: { username: bob.user.username } });
    expect(direct.status).toBe(200);
    expect(direct.body).toMatchObject({ kind: 'DIRECT', name: bob.user.username, unreadCount: 0 });
    const chatId = direct.body.id;

    const sent = [];
    for (const text of ['one', 'two', 'three']) {
      const response = await rest('POST', '/messages', { token: alice.token, body: { input: { chatId, text } } });
      expect(response.status).toBe(200);
      sent.push(response.body);
    }
    expect(sent.map((message) => [message.seq, message.text, message.author.username])).toEqual([
      [1, 'one', alice.user.username],
      [2, 'two', alice.user.username],
      [3, 'three', alice.user.username],
    ]);

    const newest = await rest('GET', `/chats/${chatId}/messages`, { token: bob.token, query: { last: 2 } });
    expect(newest.status).toBe(200);
    expect(newest.body.edges.map((edge: any) => edge.node.text)).toEqual(['two', 'three']);
    expect(newest.body.pageInfo.hasPreviousPage).toBe(true);
    const older = await rest('GET', `/chats/${chatId}/messages`, {
      token: bob.token,
      query: { last: 2, before: newest.body.pageInfo.startCursor },
    });
    expect(older.body.edges.map((edge: any) => edge.node.text)).toEqual(['one']);
    expect(older.body.pageInfo.hasPreviousPage).toBe(false);

    const edited = await rest('PATCH', '/messages', { token: alice.token, body: { input: { id: sent[1].id, text: 'two!' } } });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ id: sent[1].id, text: 'two!', isEdited: true });
    const deleted = await rest('DELETE', `/messages/${sent[0].id}`, { token: alice.token });
    expect(deleted).toEqual({ status: 200, body: { id: sent[0].id, chatId, seq: 1 }, retryAfter: null });
    const history = await rest('GET', `/chats/${chatId}/messages`, { token: bob.token, query: { first: 10 } });
    expect(history.body.edges.map((edge: any) => edge.node.text)).toEqual(['two!', 'three']);

    const before = await rest('GET', '/chats', { token: bob.token });
    expect(before.body.edges.map((edge: any) => [edge.node.id, edge.node.unreadCount])).toEqual([[chatId, 2]]);
    const read = await rest('POST', `/chats/${chatId}/read`, { token: bob.token });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id: chatId, unreadCount: 0 });

    const group = await rest('POST', '/chats/group', {
      token: alice.token,
      body: { input: { name: 'Rest group', members: [bob.user.username], isPublic: true } },
    });
    expect(group.status).toBe(200);
    expect(group.body).toMatchObject({ kind: 'GROUP', name: 'Rest group', myRole: 'OWNER' });
    const chats = await rest('GET', '/chats', { token: bob.token });
    expect(chats.body.edges.map((edge: any) => edge.node.name)).toEqual(['Rest group', alice.user.username]);
  });

  it('joins a public group and leaves it', async () => {
    const owner = await registered('owner');
    const walker = await registered('walker');
    const group = await rest('POST', '/chats/group', { token: owner.token, body: { input: { name: 'Open door', isPublic: true } } });
    const joined = await rest('POST', `/chats/${group.body.id}/join`, { token: walker.token });
    expect(joined.status).toBe(200);
    expect(joined.body).toMatchObject({ id: group.body.id, myRole: 'MEMBER' });
    expect(joined.body.members.map((member: any) => member.user.username)).toEqual([owner.user.username, walker.user.username]);
    expect(await rest('POST', `/chats/${group.body.id}/leave`, { token: walker.token })).toEqual({ status: 200, body: true, retryAfter: null });
    const after = await rest('GET', `/chats/${group.body.id}`, { token: owner.token });
    expect(after.body.members.map((member: any) => member.user.username)).toEqual([owner.user.username]);
  });
  it('answers the largest pages a route allows, which a GraphQL document selecting the same fields would exceed the cost limit with', async () => {
    const alice = await registered('alice');
    const bob = await registered('bob');
    const chat = await rest('POST', '/chats/direct', { token: alice.token, body: { username: bob.user.username } });
    await rest('POST', '/messages', { token: alice.token, body: { input: { chatId: chat.body.id, text: 'hi' } } });

    const chats = await rest('GET', '/chats', { token: bob.token, query: { first: 100 } });
    const history = await rest('GET', `/chats/${chat.body.id}/messages`, { token: bob.token, query: { last: 100 } });
    expect([chats.status, chats.body.edges.length, history.status, history.body.edges.map((edge: any) => edge.node.text)]).toEqual([
      200,
      1,
      200,
      ['hi'],
    ]);
  });
});

describe('rich messaging over REST', () => {
  it('replies, reacts with an emoji in the path, pins, searches and blocks', async () => {
    const alice = await registered('alice');
    const bob = await registered('bob');
    const chat = await rest('POST', '/chats/direct', { token: alice.token, body: { username: bob.user.username } });
    const question = await rest('POST', '/messages', { token: alice.token, body: { input: { chatId: chat.body.id, text: 'Lunch at noon?' } } });
    const answer = await rest('POST', '/messages', {
      token: bob.token,
      body: { input: { chatId: chat.body.id, text: 'Noon works', replyToId: question.body.id } },
    });
    expect([answer.status, answer.body.replyTo]).toEqual([200, expect.objectContaining({ id: question.body.id, text: 'Lunch at noon?' })]);

    const reacted = await rest('PUT', `/messages/${question.body.id}/reactions/${encodeURIComponent('👍')}`, { token: bob.token });
    expect([reacted.status, reacted.body.reactions.map((group: any) => [group.emoji, group.count, group.reactedByMe])]).toEqual([
      200,
      [['👍', 1, true]],
    ]);
    const unreacted = await rest('DELETE', `/messages/${question.body.id}/reactions/${encodeURIComponent('👍')}`, { token: bob.token });
    expect([unreacted.status, unreacted.body.reactions]).toEqual([200, []]);
    const pinned = await rest('PUT', `/messages/${question.body.id}/pin`, { token: bob.token });
    expect([pinned.status, pinned.body.pinnedBy.username]).toEqual([200, bob.user.username]);
    expect((await rest('DELETE', `/messages/${question.body.id}/pin`, { token: bob.token })).body.pinnedAt).toBeNull();

    const found = await rest('GET', '/messages/search', { token: alice.token, query: { query: 'noon', chatId: chat.body.id } });
    expect([found.status, found.body.edges.map((edge: any) => edge.node.snippet)]).toEqual([200, ['«Noon» works', 'Lunch at «noon»?']]);

    expect(await rest('PUT', `/blocked-users/${bob.user.username}`, { token: alice.token })).toEqual({ status: 200, body: true, retryAfter: null });
    expect((await rest('GET', '/blocked-users', { token: alice.token })).body.map((user: any) => user.username)).toEqual([bob.user.username]);
    expect(await rest('POST', '/messages', { token: bob.token, body: { input: { chatId: chat.body.id, text: 'hello?' } } })).toEqual({
      status: 403,
      body: error('FORBIDDEN', 'This user does not accept messages from you.'),
      retryAfter: null,
    });
    expect(await rest('DELETE', `/blocked-users/${bob.user.username}`, { token: alice.token })).toEqual({ status: 200, body: true, retryAfter: null });
    expect((await rest('GET', '/blocked-users', { token: alice.token })).body).toEqual([]);
  });
});

describe('errors over REST', () => {
  it('answers each error code with its HTTP status and the code in the body', async () => {
    const alice = await registered('alice');
    const bob = await registered('bob');
    const carol = await registered('carol');
    const chat = await rest('POST', '/chats/direct', { token: alice.token, body: { username: bob.user.username } });
    const message = await rest('POST', '/messages', { token: alice.token, body: { input: { chatId: chat.body.id, text: 'mine' } } });

    expect(await rest('GET', `/chats/${chat.body.id}/messages`, { token: alice.token, query: { last: 1000 } })).toEqual({
      status: 400,
      body: error('BAD_USER_INPUT', 'last: page size must be between 1 and 100.', { field: 'last' }),
      retryAfter: null,
    });
    expect(await rest('GET', '/chats')).toEqual({
      status: 401,
      body: error('UNAUTHENTICATED', 'Sign in first: send a valid token.'),
      retryAfter: null,
    });
    expect(await rest('PATCH', '/messages', { token: bob.token, body: { input: { id: message.body.id, text: 'not yours' } } })).toEqual({
      status: 403,
      body: error('FORBIDDEN', 'Only the author can edit a message.'),
      retryAfter: null,
    });
    expect(await rest('GET', `/chats/${chat.body.id}/messages`, { token: carol.token, query: { last: 5 } })).toEqual({
      status: 404,
      body: error('NOT_FOUND', 'Chat not found.'),
      retryAfter: null,
    });
    const taken = await rest('POST', '/register', {
      body: { input: { username: alice.user.username, email: 'other@example.com', password: PASSWORD } },
    });
    expect(taken.status).toBe(409);
    expect(taken.body.errors.map((entry: any) => entry.extensions.code)).toEqual(['CONFLICT']);

    // The refused edit changed nothing.
    const history = await rest('GET', `/chats/${chat.body.id}/messages`, { token: bob.token, query: { last: 5 } });
    expect(history.body.edges.map((edge: any) => edge.node.text)).toEqual(['mine']);
  });

  it('answers an unparsable body or argument with 400 BAD_USER_INPUT', async () => {
    const response = await fetch(new URL('/api/login', server.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"input": ',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(error('BAD_USER_INPUT', 'POST body sent invalid JSON.'));
    const { token } = await registered('typo');
    expect(await rest('GET', '/users', { token, query: { first: 'ten' } })).toEqual({
      status: 400,
      body: error('BAD_USER_INPUT', 'Int cannot represent non-integer value: "ten"'),
      retryAfter: null,
    });
  });

  it('answers RATE_LIMITED with 429 and a Retry-After header from retryAfterSeconds', async () => {
    const limited = await startServer(testConfig({ RATE_LIMIT_SENDS_PER_USER: '1', RATE_LIMIT_SEND_WINDOW_SECONDS: '60' }));
    try {
      const call = (method: string, path: string, options: Parameters<typeof rest>[2]) => rest(method, path, options, limited);
      const username = uniqueName('limited');
      const { body: alice } = await call('POST', '/register', {
        body: { input: { username, email: `${username}@example.com`, password: PASSWORD } },
      });
      const chat = await call('POST', '/chats/group', { token: alice.token, body: { input: { name: 'Limited' } } });
      const send = () => call('POST', '/messages', { token: alice.token, body: { input: { chatId: chat.body.id, text: 'hi' } } });
      expect((await send()).status).toBe(200);
      const refused = await send();
      expect(refused).toEqual({
        status: 429,
        body: error('RATE_LIMITED', expect.stringMatching(/^Too many messages sent; try again in \d+ s\.$/), {
          retryAfterSeconds: expect.any(Number),
        }),
        retryAfter: String(refused.body.errors[0].extensions.retryAfterSeconds),
      });
    } finally {
      await limited.stop();
    }
  });

  it('answers anything unexpected with 500 and no internals', async () => {
    const response = restErrorResponse([new Error('SQLITE_BUSY: database is locked')]);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual(error('INTERNAL_SERVER_ERROR', 'Unexpected error.'));
  });
});
