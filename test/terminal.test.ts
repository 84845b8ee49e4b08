import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DELETE, EDIT, createDirect, createGroup, history, newUsers, ok, range, react, send, sendMany, texts, uniqueName } from './helpers/chats.ts';
import { freePort } from './helpers/ports.ts';
import { startServer, testConfig, type TestServer } from './helpers/server.ts';
import { TerminalChat } from './helpers/terminal.ts';
import { PASSWORD, type SignedUp } from './helpers/users.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

const running: TerminalChat[] = [];
afterEach(() => {
  for (const terminal of running.splice(0)) terminal.kill();
});

function terminal(url = server.url, options?: { configHome?: string }) {
  const started = new TerminalChat(url, options);
  running.push(started);
  return started;
}

/** A terminal signed in as `user` (typing /login and the password). */
async function signedIn(user: SignedUp, url = server.url) {
  const chat = terminal(url);
  await chat.expect('Not signed in');
  chat.type(`/login ${user.user.username}`);
  await chat.expect('Password:');
  chat.type(PASSWORD);
  await chat.expect(`Signed in as ${user.user.username}.`);
  return chat;
}

const name = (user: SignedUp) => user.user.username;
const SET_TYPING = /* GraphQL */ `mutation($chatId: ID!, $typing: Boolean!) { setTyping(chatId: $chatId, typing: $typing) }`;

describe('terminal chat: accounts', () => {
  it('registers, keeps the token in a private file under the config dir, and is signed in on the next start', async () => {
    const username = uniqueName('tilda');
    const first = terminal();
    await first.expect('Not signed in');
    first.type(`/register ${username} ${username}@example.com`);
    await first.expect('Password:');
    first.type(PASSWORD);
    await first.expect(`Signed in as ${username}.`);
    await first.expect('No chats yet');
    expect(await first.quit()).toBe(0);

    const file = join(first.configHome, 'messenger', 'session.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    expect(Object.keys(saved)).toEqual([server.url]);
    expect(saved[server.url].user).toMatchObject({ username });
    const me = await server.gql('{ me { username } }', {}, saved[server.url].token);
    expect(me.data).toEqual({ me: { username } });

    const again = terminal(server.url, { configHome: first.configHome });
    await again.expect(`Signed in as ${username}.`);
    again.type('/logout');
    await again.expect('Signed out.');
    expect(await again.quit()).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({});
    expect((await server.gql('{ me { username } }', {}, saved[server.url].token)).data).toEqual({ me: null });
  });
});

describe('terminal chat: chatting', () => {
  it('lists chats with unread counts, opens one by name, pages back through history and marks it read', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const direct = await createDirect(server, bob, name(alice));
    await sendMany(server, bob, direct.id, 25);
    await createGroup(server, bob, { name: 'Quiet team', members: [name(alice)] });

    const chat = await signedIn(alice);
    await chat.expect('Your chats:');
    await chat.expect(`  Quiet team · (group of 2) · no unread\n`);
    await chat.expect(`  ${name(bob)} · (direct) · 25 unread · last: ${name(bob)}: m25\n`);

    chat.type(`/open ${name(bob).toUpperCase()}`);
    const page = await chat.expect(`#25 ${name(bob)}: m25\n`);
    expect(page).toContain(`— ${name(bob)} (/more for older messages) —`);
    expect([...page.matchAll(/#(\d+) /g)].map((match) => Number(match[1]))).toEqual(range(6, 25));

    chat.type('/more');
    const older = await chat.expect(`#5 ${name(bob)}: m5\n`);
    expect(older).toContain('— 5 older —');
    expect([...older.matchAll(/#(\d+) /g)].map((match) => Number(match[1]))).toEqual(range(1, 5));
    chat.type('/more');
    await chat.expect('That is the start of the conversation.');

    const unread = async () =>
      ok(await server.gql('{ chats(first: 5) { edges { node { name unreadCount } } } }', {}, alice.token), 'chats').edges.map(
        (edge: any) => edge.node,
      );
    await expect.poll(unread, { timeout: 10_000 }).toEqual([
      { name: 'Quiet team', unreadCount: 0 },
      { name: name(bob), unreadCount: 0 },
    ]);
  });

  it('sends with :shortcodes: as emoji and shows others’ messages, edits, deletions and typing as they happen', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const team = await createGroup(server, bob, { name: 'Team', members: [name(alice)] });
    const chat = await signedIn(alice);

    chat.type(`/dm ${name(bob)}`);
    await chat.expect('No messages yet');
    chat.type('hello :smile: :tada:');
    await chat.expect(`#1 ${name(alice)}: hello 😄 🎉\n`);
    const direct = ok(await server.gql(`{ chats(first: 1) { edges { node { id } } } }`, {}, bob.token), 'chats').edges[0].node;
    expect(await texts(server, bob, direct.id)).toEqual(['hello 😄 🎉']);

    const reply = await send(server, bob, direct.id, 'hi alice');
    await chat.expect(`#2 ${name(bob)}: hi alice\n`);
    // The chat's typing subscription was sent before its history was read, so it is live by now.
    ok(await server.gql(SET_TYPING, { chatId: direct.id, typing: true }, bob.token), 'setTyping');
    await chat.expect(`${name(bob)} is typing…`);
    ok(await server.gql(EDIT, { input: { id: reply.id, text: 'hi Alice!' } }, bob.token), 'editMessage');
    await chat.expect(`#2 edited: ${name(bob)}: hi Alice!\n`);
    ok(await server.gql(DELETE, { id: reply.id }, bob.token), 'deleteMessage');
    await chat.expect('#2 deleted\n');
    await send(server, bob, team.id, 'meanwhile in the team');
    await chat.expect(`[Team] ${name(bob)}: meanwhile in the team (1 unread)\n`);

    chat.type('/edit #1 hello again :wave:');
    await chat.expect(`#1 edited: ${name(alice)}: hello again 👋\n`);
    chat.type('/delete #1');
    await chat.expect('#1 deleted\n');
    expect(await texts(server, bob, direct.id)).toEqual([]);
  });
});

describe('terminal chat: replies, reactions and mentions', () => {
  it('replies with /reply, reacts and takes it back with /react, and shows others’ reactions and mentions as they happen', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const team = await createGroup(server, bob, { name: 'Crew', members: [name(alice)] });
    await send(server, bob, team.id, `@${name(alice)} can you check the tent?`);
    const chat = await signedIn(alice);
    await chat.expect(`  Crew · (group of 2) · 1 unread · 1 mentioning you · last: ${name(bob)}: @${name(alice)} can you check the tent?\n`);

    chat.type('/open crew');
    await chat.expect(`#1 ${name(bob)}: @${name(alice)} can you check the tent? (mentions you)\n`);
    chat.type('/reply #1 on it :wave:');
    await chat.expect(`#2 ${name(alice)} ↪ #1 ${name(bob)}: on it 👋\n`);
    const page = await history(server, bob, team.id);
    expect(page.edges.map((edge: any) => edge.node.text)).toEqual([`@${name(alice)} can you check the tent?`, 'on it 👋']);

    chat.type('/react #1 :tada:');
    await chat.expect('#1 reactions: 🎉 1\n');
    const message = page.edges[0].node;
    await react(server, bob, message.id, '🎉');
    await chat.expect('#1 reactions: 🎉 2\n');
    chat.type('/react #1 🎉');
    await chat.expect('#1 reactions: 🎉 1\n');
    chat.type('/react #1 hello');
    await chat.expect('! Check your input: emoji: must be exactly one emoji, e.g. "👍". [BAD_USER_INPUT]');
    chat.type('/react #7 👍');
    await chat.expect('Usage: /react <#seq> <emoji>, e.g. /react #4 :tada:');

    await send(server, bob, team.id, `thanks @${name(alice)}`);
    await chat.expect(`#3 ${name(bob)}: thanks @${name(alice)} (mentions you)\n`);
  });
});

describe('terminal chat: errors', () => {
  it('says what went wrong, with the error code, and goes on', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const group = await createGroup(server, bob, { name: 'Bobs room', members: [name(alice)] });
    await send(server, bob, group.id, 'owned by bob');

    const chat = terminal();
    await chat.expect('Not signed in');
    chat.type(`/login ${name(alice)}`);
    await chat.expect('Password:');
    chat.type('not the password');
    await chat.expect('! Not signed in: Wrong login or password. [UNAUTHENTICATED]');
    chat.type(`/register ${name(alice)} someone@example.com`);
    await chat.expect('Password:');
    chat.type(PASSWORD);
    await chat.expect('! Already exists: That username is taken. [CONFLICT]');
    chat.type(`/register ${uniqueName('newbie')} not-an-email`);
    await chat.expect('Password:');
    chat.type(PASSWORD);
    await chat.expect(/! Check your input: .*email.* \[BAD_USER_INPUT\]/);
    chat.type('hello?');
    await chat.expect('Not signed in: /register <username> <email> or /login <username>.');

    chat.type(`/login ${name(alice)}`);
    await chat.expect('Password:');
    chat.type(PASSWORD);
    await chat.expect(`Signed in as ${name(alice)}.`);
    chat.type('/dm nobody-here');
    await chat.expect('! Not found: User "nobody-here" not found. [NOT_FOUND]');
    chat.type('/open Bobs room');
    await chat.expect(`#1 ${name(bob)}: owned by bob\n`);
    chat.type('/edit #1 mine now');
    await chat.expect('! Not allowed: Only the author can edit a message. [FORBIDDEN]');
    chat.type('/delete #1');
    await chat.expect('! Not allowed: Only the author or a group owner can delete a message. [FORBIDDEN]');
    chat.type(`/delete #99`);
    await chat.expect('Usage: /delete <#seq>, with a #seq shown in this chat.');
    expect(await texts(server, bob, group.id)).toEqual(['owned by bob']);
  });

  it('shows RATE_LIMITED with how long to wait', async () => {
    // Following the inbox takes four subscriptions; a chat four more.
    const limited = await startServer(testConfig({ WS_MAX_SUBSCRIPTIONS: '5' }));
    try {
      const [alice, bob] = await newUsers(limited, 'alice', 'bob');
      await createDirect(limited, alice, name(bob));
      const chat = await signedIn(alice, limited.url);
      chat.type(`/open ${name(bob)}`);
      await chat.expect('! Too many requests: At most 5 operations at once on one socket. Try again in 1 s. [RATE_LIMITED]');
    } finally {
      await limited.stop();
    }
  });

  it('says so when the server cannot be reached', async () => {
    const chat = terminal(`http://127.0.0.1:${await freePort()}/graphql`);
    await chat.expect('Not signed in');
    chat.type('/login someone');
    await chat.expect('Password:');
    chat.type(PASSWORD);
    await chat.expect(/! Cannot reach the server: .* \[NETWORK\]/);
  });

  it('signs out, forgetting the token, when the server ends the session', async () => {
    const [alice] = await newUsers(server, 'alice');
    const chat = await signedIn(alice);
    const sessions = ok(await server.gql('{ sessions { id device } }', {}, alice.token), 'sessions');
    const terminalSession = sessions.find((session: any) => session.device.startsWith('terminal@'));
    ok(await server.gql('mutation($id: ID!) { revokeSession(id: $id) }', { id: terminalSession.id }, alice.token), 'revokeSession');
    await chat.expect('! Not signed in: Signed out by the server: Session revoked. [UNAUTHENTICATED]');
    await chat.expect('Signed out. /login to sign in again.');
    expect(JSON.parse(readFileSync(join(chat.configHome, 'messenger', 'session.json'), 'utf8'))).toEqual({});
  });
});

