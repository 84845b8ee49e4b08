import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, createGroup, goneChatId, newUsers, sleep } from './helpers/chats.ts';
import { QUIET_MS, connect, errorCodes, live, prime, type Live } from './helpers/live.ts';
import { startServer, testConfig, type TestServer } from './helpers/server.ts';
import type { SignedUp } from './helpers/users.ts';

// Typing states last 0.5 s without a refresh or a stop.
const TIMEOUT_MS = 500;
let server: TestServer;
beforeAll(async () => {
  server = await startServer(testConfig({ TYPING_TIMEOUT_SECONDS: String(TIMEOUT_MS / 1000) }));
});
afterAll(() => server.stop());

const SET_TYPING = /* GraphQL */ `
  mutation SetTyping($chatId: ID!, $typing: Boolean!) { setTyping(chatId: $chatId, typing: $typing) }
`;
const TYPING = /* GraphQL */ `
  subscription Typing($chatId: ID!) { typing(chatId: $chatId) { chat { id } user { username } typing } }
`;

const name = (user: SignedUp) => user.user.username;

function setTyping(user: SignedUp | null, chatId: string, typing: boolean) {
  return server.gql(SET_TYPING, { chatId, typing }, user?.token);
}

/** setTyping that must succeed (it answers true). */
async function typing(user: SignedUp, chatId: string, state: boolean) {
  expect(await setTyping(user, chatId, state)).toEqual({ status: 200, data: { setTyping: true } });
}

const event = (chatId: string, user: SignedUp, state: boolean) => ({
  chat: { id: chatId },
  user: { username: name(user) },
  typing: state,
});

/**
 * A group of `users` (the first owns it) plus a primer member, and each
 * `watcher`'s live typing(chatId) subscription, which leaves the primer's
 * events out. Priming starts and stops the primer's typing, so no one else's
 * throttling state is touched.
 */
async function setup(users: SignedUp[], watchers: SignedUp[]) {
  const [primer] = await newUsers(server, 'primer');
  const [owner, ...others] = users;
  const chat = await createGroup(server, owner!, { name: 'Typing', members: [...others, primer!].map(name) });
  const subs = await Promise.all(
    watchers.map(async (user) =>
      live((await connect(server, user)).client, TYPING, { chatId: chat.id }, {
        ignore: (e) => e.user.username === name(primer!),
      }),
    ),
  );
  await prime(subs, async () => {
    await typing(primer!, chat.id, true);
    await typing(primer!, chat.id, false);
  });
  return { chat, subs, primer: primer! };
}

describe('setTyping', () => {
  it('delivers a typing start and stop to the other members, not to the typist', async () => {
    const [alice, bob, carol] = await newUsers(server, 'alice', 'bob', 'carol');
    const { chat, subs } = await setup([alice, bob, carol], [alice, bob, carol]);
    const [forAlice, forBob, forCarol] = subs as [Live, Live, Live];

    await typing(alice, chat.id, true);
    expect(await forBob.next()).toEqual(event(chat.id, alice, true));
    expect(await forCarol.next()).toEqual(event(chat.id, alice, true));
    await typing(alice, chat.id, false);
    expect(await forBob.next()).toEqual(event(chat.id, alice, false));
    expect(await forCarol.next()).toEqual(event(chat.id, alice, false));

    // Bob's typing reaches alice: her subscription works, it just leaves out her own.
    await typing(bob, chat.id, true);
    await typing(bob, chat.id, false);
    expect(await forAlice.take(2)).toEqual([event(chat.id, bob, true), event(chat.id, bob, false)]);
    expect(await forCarol.take(2)).toEqual([event(chat.id, bob, true), event(chat.id, bob, false)]);
    await sleep(QUIET_MS);
    expect(forAlice.events).toEqual([event(chat.id, bob, true), event(chat.id, bob, false)]);
    expect(forBob.fresh).toEqual([]);
    expect(forCarol.fresh).toEqual([]);
  });

  it('keeps typing per chat: a start in one chat reaches only that chat', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const first = await setup([alice, bob], [bob]);
    const second = await setup([alice, bob], [bob]);
    await typing(alice, first.chat.id, true);
    await typing(alice, second.chat.id, true);
    expect(await first.subs[0]!.next()).toEqual(event(first.chat.id, alice, true));
    expect(await second.subs[0]!.next()).toEqual(event(second.chat.id, alice, true));
    await typing(alice, first.chat.id, false);
    expect(await first.subs[0]!.next()).toEqual(event(first.chat.id, alice, false));
    await typing(alice, second.chat.id, false);
    expect(await second.subs[0]!.next()).toEqual(event(second.chat.id, alice, false));
  });

  it('expires a typing state by itself after the timeout', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const { chat, subs } = await setup([alice, bob], [bob]);
    const watch = subs[0]!;

    const started = Date.now();
    await typing(alice, chat.id, true);
    expect(await watch.next()).toEqual(event(chat.id, alice, true));
    expect(await watch.next(TIMEOUT_MS * 4)).toEqual(event(chat.id, alice, false));
    expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);

    // A stop after the expiry has nothing to stop; a new start is announced again.
    await typing(alice, chat.id, false);
    await typing(alice, chat.id, true);
    expect(await watch.next()).toEqual(event(chat.id, alice, true));
    await typing(alice, chat.id, false);
    expect(await watch.next()).toEqual(event(chat.id, alice, false));
    await sleep(QUIET_MS);
    expect(watch.fresh).toEqual([]);
  });

  it('throttles repeated starts to one event, each start extending the expiry', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const { chat, subs } = await setup([alice, bob], [bob]);
    const watch = subs[0]!;

    const started = Date.now();
    await typing(alice, chat.id, true);
    await typing(alice, chat.id, true);
    await typing(alice, chat.id, true);
    expect(await watch.next()).toEqual(event(chat.id, alice, true));
    // Refreshes 0.2 s apart keep the state alive past the 0.5 s timeout.
    await sleep(200);
    await typing(alice, chat.id, true);
    await sleep(200);
    const lastStart = Date.now();
    await typing(alice, chat.id, true);
    expect(watch.fresh).toEqual([]);

    expect(await watch.next(TIMEOUT_MS * 4)).toEqual(event(chat.id, alice, false));
    expect(Date.now() - lastStart).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400 + TIMEOUT_MS - 50);
    await sleep(QUIET_MS);
    expect(watch.fresh).toEqual([]);
  });

  it('announces a stop once, and only when the user was typing', async () => {
    const [alice, bob, carol] = await newUsers(server, 'alice', 'bob', 'carol');
    const { chat, subs } = await setup([alice, bob, carol], [bob]);
    const watch = subs[0]!;

    await typing(alice, chat.id, false);
    await typing(alice, chat.id, true);
    await typing(alice, chat.id, false);
    await typing(alice, chat.id, false);
    // Carol's start comes after everything alice did.
    await typing(carol, chat.id, true);
    expect(await watch.take(3)).toEqual([
      event(chat.id, alice, true),
      event(chat.id, alice, false),
      event(chat.id, carol, true),
    ]);
    await sleep(QUIET_MS);
    expect(watch.fresh).toEqual([]);
  });
});

describe('refusals', () => {
  it('refuses setTyping by a non-member, or in a chat that does not exist, with NOT_FOUND and announces nothing', async () => {
    const [alice, bob, eve] = await newUsers(server, 'alice', 'bob', 'eve');
    const { chat, subs } = await setup([alice, bob], [bob]);
    const watch = subs[0]!;

    const outsider = await setTyping(eve, chat.id, true);
    expect(outsider.data).toBeNull();
    expect(codes(outsider)).toEqual(['NOT_FOUND']);
    expect(codes(await setTyping(eve, await goneChatId(server, eve), true))).toEqual(['NOT_FOUND']);
    expect(codes(await setTyping(null, chat.id, true))).toEqual(['UNAUTHENTICATED']);

    await typing(alice, chat.id, true);
    expect(await watch.next()).toEqual(event(chat.id, alice, true));
    await sleep(QUIET_MS);
    expect(watch.fresh).toEqual([]);
  });

  it('refuses a typing subscription to a chat the caller is not in, or that does not exist, with NOT_FOUND', async () => {
    const [alice, eve] = await newUsers(server, 'alice', 'eve');
    const chat = await createGroup(server, alice, { name: 'Private' });
    const client = (await connect(server, eve)).client;
    expect(errorCodes(await live(client, TYPING, { chatId: chat.id }).failure())).toEqual(['NOT_FOUND']);
    const gone = await goneChatId(server, alice);
    expect(errorCodes(await live(client, TYPING, { chatId: gone }).failure())).toEqual(['NOT_FOUND']);
  });
});
