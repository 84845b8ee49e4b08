import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DELETE,
  EDIT,
  PIN,
  REMOVE_REACTION,
  UNPIN,
  createGroup,
  newUsers,
  ok,
  react,
  removeMember,
  reply,
  send,
  sleep,
} from './helpers/chats.ts';
import { QUIET_MS, connect, errorCodes, live, messageProbe, prime } from './helpers/live.ts';
import { startServer, type TestServer } from './helpers/server.ts';
import type { SignedUp } from './helpers/users.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

const name = (user: SignedUp) => user.user.username;

const UPDATED = /* GraphQL */ `
  subscription Updated($chatId: ID) {
    messageUpdated(chatId: $chatId) {
      id text isEdited replyCount pinnedAt
      reactions { emoji count reactedByMe users { username } }
      mentionsMe
    }
  }
`;

/** `users[0]`'s group of `users` and each watcher's primed messageUpdated subscription (one-chat unless `allChats`). */
async function watching(users: SignedUp[], watchers: SignedUp[], { allChats = false } = {}) {
  const chat = await createGroup(server, users[0]!, { name: 'Updates', members: users.slice(1).map(name) });
  const probe = messageProbe(server, users[0]!, chat.id);
  const subs = await Promise.all(
    watchers.map(async (watcher) =>
      live((await connect(server, watcher)).client, UPDATED, allChats ? {} : { chatId: chat.id }, { ignore: probe.ignore }),
    ),
  );
  await prime(subs, probe.poke);
  return { chat, subs };
}

const ISO = expect.stringMatching(/^\d{4}-\d\d-\d\dT/);

describe('messageUpdated', () => {
  it.each([['one-chat'], ['all-chats']])(
    'delivers the whole message after an edit, a reaction change, a pin change and a new reply (%s form)',
    async (form) => {
      const [alice, bob] = await newUsers(server, 'alice', 'bob');
      const {
        chat,
        subs: [sub],
      } = await watching([alice, bob], [bob], { allChats: form === 'all-chats' });
      const message = await send(server, alice, chat.id, 'original');
      const base = { id: message.id, text: 'edited', isEdited: true, mentionsMe: false };
      const thumbs = [{ emoji: '👍', count: 1, reactedByMe: false, users: [{ username: name(alice) }] }];
      // Each event carries the message as it is when delivered, so each
      // change waits for its event before the next one is made.
      const after = async (change: Promise<unknown>) => {
        await change;
        return sub!.next();
      };
      expect([
        await after(server.gql(EDIT, { input: { id: message.id, text: 'edited' } }, alice.token).then((r) => ok(r, 'editMessage'))),
        await after(react(server, alice, message.id, '👍')),
        await after(server.gql(PIN, { id: message.id }, alice.token).then((r) => ok(r, 'pinMessage'))),
        await after(reply(server, bob, chat.id, message.id, 'a reply')),
        await after(server.gql(UNPIN, { id: message.id }, alice.token).then((r) => ok(r, 'unpinMessage'))),
        await after(server.gql(REMOVE_REACTION, { messageId: message.id, emoji: '👍' }, alice.token).then((r) => ok(r, 'removeReaction'))),
      ]).toEqual([
        { ...base, replyCount: 0, pinnedAt: null, reactions: [] },
        { ...base, replyCount: 0, pinnedAt: null, reactions: thumbs },
        { ...base, replyCount: 0, pinnedAt: ISO, reactions: thumbs },
        { ...base, replyCount: 1, pinnedAt: ISO, reactions: thumbs },
        { ...base, replyCount: 1, pinnedAt: null, reactions: thumbs },
        { ...base, replyCount: 1, pinnedAt: null, reactions: [] },
      ]);
      await sleep(QUIET_MS);
      expect(sub!.fresh).toEqual([]);
    },
  );

  it('announces the message replied to, with its new replyCount, when a reply is deleted', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const {
      chat,
      subs: [sub],
    } = await watching([alice, bob], [alice]);
    const question = await send(server, alice, chat.id, 'question');
    const answer = await reply(server, bob, chat.id, question.id, 'answer');
    ok(await server.gql(DELETE, { id: answer.id }, bob.token), 'deleteMessage');
    expect((await sub!.take(2)).map(({ id, replyCount }) => ({ id, replyCount }))).toEqual([
      { id: question.id, replyCount: 1 },
      { id: question.id, replyCount: 0 },
    ]);
  });

  // Each on its own: one viewer-dependent field makes the whole operation run per viewer.
  it.each([
    ['reactedByMe', `subscription($chatId: ID) { messageUpdated(chatId: $chatId) { text reactions { emoji reactedByMe } } }`],
    ['mentionsMe', `subscription($chatId: ID) { messageUpdated(chatId: $chatId) { text mentionsMe } }`],
  ])('computes %s for each subscriber, though they share one operation', async (field, query) => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await createGroup(server, alice, { name: 'Per viewer', members: [name(bob)] });
    const probe = messageProbe(server, alice, chat.id);
    const subs = await Promise.all(
      [alice, bob].map(async (watcher) => live((await connect(server, watcher)).client, query, { chatId: chat.id }, { ignore: probe.ignore })),
    );
    await prime(subs, probe.poke);
    const message = await send(server, alice, chat.id, 'hello');
    if (field === 'reactedByMe') await react(server, alice, message.id, '🎉');
    else ok(await server.gql(EDIT, { input: { id: message.id, text: `hello @${name(bob)}` } }, alice.token), 'editMessage');
    const [forAlice] = await subs[0]!.take(1);
    const [forBob] = await subs[1]!.take(1);
    if (field === 'reactedByMe') {
      expect([forAlice, forBob]).toEqual([
        { text: 'hello', reactions: [{ emoji: '🎉', reactedByMe: true }] },
        { text: 'hello', reactions: [{ emoji: '🎉', reactedByMe: false }] },
      ]);
    } else {
      expect([forAlice, forBob]).toEqual([
        { text: `hello @${name(bob)}`, mentionsMe: false },
        { text: `hello @${name(bob)}`, mentionsMe: true },
      ]);
    }
  });

  it('refuses a non-member with NOT_FOUND and sends outsiders and removed members nothing', async () => {
    const [alice, bob, eve] = await newUsers(server, 'alice', 'bob', 'eve');
    const {
      chat,
      subs: [aliceSub, bobSub],
    } = await watching([alice, bob], [alice, bob], { allChats: true });
    const refused = live((await connect(server, eve)).client, UPDATED, { chatId: chat.id });
    expect(errorCodes(await refused.failure())).toEqual(['NOT_FOUND']);
    const eveAll = live((await connect(server, eve)).client, UPDATED, {});
    const evesChat = await createGroup(server, eve, { name: 'Eve only' });
    await prime([eveAll], async () => {
      const own = await send(server, eve, evesChat.id, 'mine');
      await react(server, eve, own.id, '👍');
    });

    await removeMember(server, alice, chat.id, name(bob));
    const message = await send(server, alice, chat.id, 'after bob left');
    await react(server, alice, message.id, '👍');
    expect((await aliceSub!.take(1)).map((event) => event.id)).toEqual([message.id]);
    await sleep(QUIET_MS);
    expect(bobSub!.fresh).toEqual([]);
    expect(eveAll.fresh).toEqual([]);
  });
});
