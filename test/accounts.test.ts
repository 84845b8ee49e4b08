import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, testConfig, type TestServer } from './helpers/server.ts';
import { PASSWORD, signUp } from './helpers/users.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

const ME = /* GraphQL */ `query { me { id username email } }`;
const LOGIN = /* GraphQL */ `
  mutation Login($input: LoginInput!) {
    login(input: $input) { token user { username } session { device current } }
  }
`;
const REGISTER = /* GraphQL */ `
  mutation Register($input: RegisterInput!) { register(input: $input) { user { id } } }
`;
const SESSIONS = /* GraphQL */ `query { sessions { id device current } }`;

const codes = (result: { errors?: { extensions?: { code?: string } }[] }) =>
  result.errors?.map((error) => error.extensions?.code);


describe('register', () => {
  it('creates the account, opens a named session and returns a working token', async () => {
    const alice = await signUp(server, 'Alice', 'alice-phone');
    expect(alice.user).toEqual({ id: expect.any(String), username: 'Alice', email: 'alice@example.com' });
    expect(alice.session).toEqual({ id: expect.any(String), device: 'alice-phone' });
    expect(await server.gql(ME, {}, alice.token)).toEqual({
      status: 200,
      data: { me: { id: alice.user.id, username: 'Alice', email: 'alice@example.com' } },
    });
  });

  it('names the session after the User-Agent when no device is given', async () => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'ChatApp/2.1 (iPhone)' },
      body: JSON.stringify({
        query: `mutation { register(input: { username: "uagent", email: "ua@example.com", password: "${PASSWORD}" }) { session { device } } }`,
      }),
    });
    expect(await response.json()).toEqual({ data: { register: { session: { device: 'ChatApp/2.1 (iPhone)' } } } });
  });

  it('refuses a username taken in any letter case with CONFLICT and adds no user', async () => {
    const bob = await signUp(server, 'bob');
    const result = await server.gql(REGISTER, {
      input: { username: 'BOB', email: 'other-bob@example.com', password: PASSWORD },
    });
    expect(result.data).toBeNull();
    expect(result.errors).toEqual([
      expect.objectContaining({ message: 'That username is taken.', extensions: { code: 'CONFLICT', field: 'username' } }),
    ]);
    const bobs = await server.gql(`query { users(search: "bob") { edges { node { id } } } }`, {}, bob.token);
    expect(bobs.data.users.edges).toEqual([{ node: { id: bob.user.id } }]);
  });

  it('refuses an email already registered (in any case) with CONFLICT', async () => {
    await signUp(server, 'carol');
    const result = await server.gql(REGISTER, {
      input: { username: 'carol2', email: 'CAROL@example.com', password: PASSWORD },
    });
    expect(codes(result)).toEqual(['CONFLICT']);
    expect(result.errors?.[0]?.extensions?.field).toBe('email');
  });

  it.each([
    ['a username shorter than 3', { username: 'ab' }, 'username'],
    ['a username longer than 32', { username: 'x'.repeat(33) }, 'username'],
    ['a username with a space', { username: 'bad name' }, 'username'],
    ['a username with other symbols', { username: 'bad!name' }, 'username'],
    ['an invalid email', { email: 'not-an-email' }, 'email'],
    ['a password shorter than 8', { password: 'short12' }, 'password'],
    ['a password over 72 UTF-8 bytes', { password: 'é'.repeat(37) }, 'password'],
    ['a device name over 64 characters', { device: 'd'.repeat(65) }, 'device'],
  ])('refuses %s with BAD_USER_INPUT naming the field', async (_name, override, field) => {
    const input = { username: 'valid_name', email: 'valid@example.com', password: PASSWORD, ...override };
    const result = await server.gql(REGISTER, { input });
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
    expect(result.errors?.[0]?.extensions?.field).toBe(field);
  });

  it('accepts usernames with letters, digits, "_", "." and "-" and a password of exactly 72 bytes', async () => {
    const result = await server.gql(REGISTER, {
      input: { username: 'a.b-c_9', email: 'abc9@example.com', password: 'é'.repeat(36) },
    });
    expect(result.errors).toBeUndefined();
    const login = await server.gql(LOGIN, { input: { login: 'a.b-c_9', password: 'é'.repeat(36) } });
    expect(login.data.login.user.username).toBe('a.b-c_9');
  });
});

describe('login', () => {
  beforeAll(() => signUp(server, 'dave'));

  it('works with the username in any case and opens a new session, current for the returned token', async () => {
    const result = await server.gql(LOGIN, { input: { login: 'DAVE', password: PASSWORD, device: 'dave-tablet' } });
    expect(result.data.login).toEqual({
      token: expect.any(String),
      user: { username: 'dave' },
      session: { device: 'dave-tablet', current: true },
    });
  });

  it('works with the email', async () => {
    const result = await server.gql(LOGIN, { input: { login: 'Dave@Example.com', password: PASSWORD } });
    expect(result.data.login.user).toEqual({ username: 'dave' });
  });

  it('gives the same answer for a wrong password and an unknown login', async () => {
    const wrong = await server.gql(LOGIN, { input: { login: 'dave', password: 'wrong password' } });
    const unknown = await server.gql(LOGIN, { input: { login: 'nobody-here', password: 'wrong password' } });
    expect(wrong.errors).toEqual([
      expect.objectContaining({ message: 'Wrong login or password.', extensions: { code: 'UNAUTHENTICATED' } }),
    ]);
    expect(unknown.errors).toEqual(wrong.errors);
  });
});

describe('me and tokens', () => {
  it('is null without a token and with a garbage or foreign-signed token', async () => {
    expect((await server.gql(ME)).data).toEqual({ me: null });
    expect((await server.gql(ME, {}, 'garbage')).data).toEqual({ me: null });
    const [header, payload] = (await signUp(server, 'eve')).token.split('.');
    expect((await server.gql(ME, {}, `${header}.${payload}.forged-signature`)).data).toEqual({ me: null });
  });

  it('refuses fields that need a signed-in user with UNAUTHENTICATED', async () => {
    const result = await server.gql(SESSIONS);
    expect(result.data).toBeNull();
    expect(codes(result)).toEqual(['UNAUTHENTICATED']);
  });

  it('stops accepting a token once it expires', async () => {
    const shortLived = await startServer(testConfig({ JWT_TTL: '2s' }));
    try {
      const { token } = await signUp(shortLived, 'brief');
      expect((await shortLived.gql(ME, {}, token)).data.me.username).toBe('brief');
      await new Promise((resolve) => setTimeout(resolve, 3_100));
      expect((await shortLived.gql(ME, {}, token)).data).toEqual({ me: null });
    } finally {
      await shortLived.stop();
    }
  });
});

describe('users', () => {
  it('shows email only to its owner', async () => {
    const frank = await signUp(server, 'frank');
    const grace = await signUp(server, 'grace');
    const query = `query { user(username: "FRANK") { username email } }`;
    expect((await server.gql(query, {}, frank.token)).data).toEqual({
      user: { username: 'frank', email: 'frank@example.com' },
    });
    expect((await server.gql(query, {}, grace.token)).data).toEqual({ user: { username: 'frank', email: null } });
  });

  it('is null for an unknown username', async () => {
    const { token } = await signUp(server, 'heidi');
    expect((await server.gql(`query { user(username: "no-such-user") { id } }`, {}, token)).data).toEqual({ user: null });
  });

  it('pages through a username prefix search without gaps or repeats, treating "_" literally', async () => {
    const names = ['pg_a1', 'pg_a2', 'PG_A3', 'pg_b1', 'pg_b2', 'pgxa1'];
    let token = '';
    for (const name of names) token = (await signUp(server, name)).token;
    const seen: string[] = [];
    let after: string | null = null;
    const query = /* GraphQL */ `
      query Users($after: String) {
        users(search: "PG_", first: 2, after: $after) {
          edges { cursor node { username } }
          pageInfo { hasNextPage endCursor }
        }
      }
    `;
    for (;;) {
      const page: any = (await server.gql(query, { after }, token)).data.users;
      seen.push(...page.edges.map((edge: any) => edge.node.username));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(['pg_a1', 'pg_a2', 'PG_A3', 'pg_b1', 'pg_b2']);
  });

  it.each([0, -1, 101])('refuses a page size of %i with BAD_USER_INPUT', async (first) => {
    const { token } = await signUp(server, `size${first + 10}`);
    const result = await server.gql(`query($first: Int) { users(first: $first) { edges { cursor } } }`, { first }, token);
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
  });

  it('refuses a malformed cursor with BAD_USER_INPUT', async () => {
    const { token } = await signUp(server, 'cursorist');
    const result = await server.gql(`query { users(after: "bm90IGEgY3Vyc29y") { edges { cursor } } }`, {}, token);
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('sessions', () => {
  it('lists every device and marks the one making the request', async () => {
    const ivan = await signUp(server, 'ivan', 'ivan-laptop');
    await server.gql(LOGIN, { input: { login: 'ivan', password: PASSWORD, device: 'ivan-phone' } });
    const result = await server.gql(SESSIONS, {}, ivan.token);
    expect(result.data.sessions).toEqual([
      { id: expect.any(String), device: 'ivan-phone', current: false },
      { id: ivan.session.id, device: 'ivan-laptop', current: true },
    ]);
  });

  it('logout stops that token at once while the other device keeps working', async () => {
    const judy = await signUp(server, 'judy', 'judy-laptop');
    const phone = (await server.gql(LOGIN, { input: { login: 'judy', password: PASSWORD, device: 'judy-phone' } })).data
      .login;
    expect((await server.gql(`mutation { logout }`, {}, judy.token)).data).toEqual({ logout: true });
    expect((await server.gql(ME, {}, judy.token)).data).toEqual({ me: null });
    expect((await server.gql(ME, {}, phone.token)).data.me.username).toBe('judy');
    expect((await server.gql(SESSIONS, {}, phone.token)).data.sessions).toEqual([
      { id: expect.any(String), device: 'judy-phone', current: true },
    ]);
  });

  it("revokeSession ends another device's session but not someone else's", async () => {
    const kim = await signUp(server, 'kim', 'kim-laptop');
    const phone = (await server.gql(LOGIN, { input: { login: 'kim', password: PASSWORD, device: 'kim-phone' } })).data
      .login;
    const phoneSessionId = (await server.gql(SESSIONS, {}, phone.token)).data.sessions.find((s: any) => s.current).id;
    const mallory = await signUp(server, 'mallory');
    const revoke = `mutation($id: ID!) { revokeSession(id: $id) }`;

    expect((await server.gql(revoke, { id: phoneSessionId }, mallory.token)).data).toEqual({ revokeSession: false });
    expect((await server.gql(ME, {}, phone.token)).data.me.username).toBe('kim');

    expect((await server.gql(revoke, { id: phoneSessionId }, kim.token)).data).toEqual({ revokeSession: true });
    expect((await server.gql(ME, {}, phone.token)).data).toEqual({ me: null });
    expect((await server.gql(ME, {}, kim.token)).data.me.username).toBe('kim');
  });

  it('refuses the token after a logout that raced other requests made with it', async () => {
    await signUp(server, 'racer');
    // The race is narrow (a request reads the session just before the logout
    // deletes it, and caches it just after): run it many times.
    for (let round = 0; round < 50; round += 1) {
      const { token } = (await server.gql(LOGIN, { input: { login: 'racer', password: PASSWORD, device: `round ${round}` } })).data.login;
      const [logout] = await Promise.all([
        server.gql(`mutation { logout }`, {}, token),
        ...Array.from({ length: 8 }, () => server.gql(ME, {}, token)),
      ]);
      expect(logout.data).toEqual({ logout: true });
      expect((await server.gql(ME, {}, token)).data).toEqual({ me: null });
    }
  });

  it('refuses an id that is not a session id with BAD_USER_INPUT', async () => {
    const leo = await signUp(server, 'leo');
    const revoke = `mutation($id: ID!) { revokeSession(id: $id) }`;
    expect(codes(await server.gql(revoke, { id: 'garbage' }, leo.token))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await server.gql(revoke, { id: leo.user.id }, leo.token))).toEqual(['BAD_USER_INPUT']);
  });
});
