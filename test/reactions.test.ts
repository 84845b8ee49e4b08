import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADD_REACTION,
  DELETE,
  REACTION_FIELDS,
  REMOVE_REACTION,
  codes,
  createGroup,
  goneMessageId,
  newUsers,
  ok,
  react,
  send,
  tick,
} from './helpers/chats.ts';
import { startServer, type TestServer } from './helpers/server.ts';
import type { SignedUp } from './helpers/users.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

const name = (user: SignedUp) => user.user.username;

async function reactionsAs(viewer: SignedUp, messageId: string) {
  const result = await server.gql(`query($id: ID!) { node(id: $id) { ...ReactionFields } } ${REACTION_FIELDS}`, { id: messageId }, viewer.token);
  expect(result.errors).toBeUndefined();
  return result.data.node.reactions;
}

/** A group of the given users (the first owns it) with one message by the first. */
async function messageAmong(...users: SignedUp[]) {
  const chat = await createGroup(server, users[0]!, { name: 'Reactions', members: users.slice(1).map(name) });
  return { chat, message: await send(server, users[0]!, chat.id, 'react to me') };
}

describe('addReaction and removeReaction', () => {
  it('groups reactions by emoji in the order each was first used, with counts, users earliest first and reactedByMe per viewer', async () => {
    const [alice, bob, carol] = await newUsers(server, 'alice', 'bob', 'carol');
    const { message } = await messageAmong(alice, bob, carol);
    await react(server, bob, message.id, '🎉');
    await tick();
    await react(server, alice, message.id, '👍');
    await tick();
    await react(server, carol, message.id, '🎉');
    await tick();
    const returned = await react(server, alice, message.id, '🎉');

    const groups = (viewer: SignedUp) => [
      { emoji: '🎉', count: 3, reactedByMe: true, users: [bob, carol, alice].map((user) => ({ username: name(user) })) },
      { emoji: '👍', count: 1, reactedByMe: viewer === alice, users: [{ username: name(alice) }] },
    ];
    expect(returned).toEqual({ id: message.id, reactions: groups(alice) });
    for (const viewer of [alice, bob, carol]) expect(await reactionsAs(viewer, message.id)).toEqual(groups(viewer));
  });

  it('changes nothing when the same user adds the same emoji twice, and removes only the caller’s own reaction', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const { message } = await messageAmong(alice, bob);
    await react(server, alice, message.id, '👍');
    await react(server, bob, message.id, '👍');
    expect(await react(server, alice, message.id, '👍')).toEqual({
      id: message.id,
      reactions: [{ emoji: '👍', count: 2, reactedByMe: true, users: [{ username: name(alice) }, { username: name(bob) }] }],
    });
    const removed = ok(await server.gql(REMOVE_REACTION, { messageId: message.id, emoji: '👍' }, alice.token), 'removeReaction');
    expect(removed.reactions).toEqual([{ emoji: '👍', count: 1, reactedByMe: false, users: [{ username: name(bob) }] }]);
    const again = ok(await server.gql(REMOVE_REACTION, { messageId: message.id, emoji: '👍' }, alice.token), 'removeReaction');
    expect(again.reactions).toEqual(removed.reactions);
    const never = ok(await server.gql(REMOVE_REACTION, { messageId: message.id, emoji: '🔥' }, alice.token), 'removeReaction');
    expect(never.reactions).toEqual(removed.reactions);
  });

  it('accepts any single emoji, taking a symbol without its emoji selector as the emoji', async () => {
    const [alice] = await newUsers(server, 'alice');
    const { message } = await messageAmong(alice);
    for (const emoji of ['👍', '❤️', '👨‍👩‍👧', '🇫🇷', '1️⃣', '👍🏽', '🏳️‍🌈']) await react(server, alice, message.id, emoji);
    const plainHeart = await react(server, alice, message.id, '❤');
    expect(plainHeart.reactions.map((group: any) => [group.emoji, group.count])).toEqual([
      ['👍', 1],
      ['❤️', 1],
      ['👨‍👩‍👧', 1],
      ['🇫🇷', 1],
      ['1️⃣', 1],
      ['👍🏽', 1],
      ['🏳️‍🌈', 1],
    ]);
  });

  it.each([
    ['a letter', 'a'],
    ['nothing', ''],
    ['two emoji', '👍👍'],
    ['an emoji with a space', ' 👍'],
    ['a shortcode', ':smile:'],
    ['a digit', '1'],
    ['a hash sign', '#'],
    ['an unpaired regional indicator', '🇫'],
  ])('refuses %s with BAD_USER_INPUT and stores nothing', async (_case, emoji) => {
    const [alice] = await newUsers(server, 'alice');
    const { message } = await messageAmong(alice);
    const result = await server.gql(ADD_REACTION, { messageId: message.id, emoji }, alice.token);
    expect([result.data, codes(result)]).toEqual([null, ['BAD_USER_INPUT']]);
    expect(await reactionsAs(alice, message.id)).toEqual([]);
  });

  it('allows at most 20 different emoji per message; more users may still join one already there', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const { message } = await messageAmong(alice, bob);
    const emoji = [...'😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🥰😗😙😚🙂🤗'];
    for (const each of emoji) await react(server, alice, message.id, each);
    const over = await server.gql(ADD_REACTION, { messageId: message.id, emoji: '🤩' }, bob.token);
    expect([over.data, codes(over)]).toEqual([null, ['BAD_USER_INPUT']]);
    const joined = await react(server, bob, message.id, '😀');
    expect(joined.reactions.map((group: any) => [group.emoji, group.count])).toEqual(emoji.map((each, i) => [each, i === 0 ? 2 : 1]));
  });

  it('shows the first 25 users of an emoji and counts them all', async () => {
    const users = await newUsers(server, ...Array.from({ length: 30 }, (_, i) => `fan${i}x`));
    const { message } = await messageAmong(...users);
    for (const user of users) {
      await react(server, user, message.id, '🔥');
      await tick();
    }
    expect(await reactionsAs(users[29]!, message.id)).toEqual([
      { emoji: '🔥', count: 30, reactedByMe: true, users: users.slice(0, 25).map((user) => ({ username: name(user) })) },
    ]);
  });

  it('answers a gone message with NOT_FOUND, exactly as an id that never existed', async () => {
    const [alice] = await newUsers(server, 'alice');
    const { message } = await messageAmong(alice);
    ok(await server.gql(DELETE, { id: message.id }, alice.token), 'deleteMessage');
    const deleted = await server.gql(ADD_REACTION, { messageId: message.id, emoji: '👍' }, alice.token);
    const never = await server.gql(ADD_REACTION, { messageId: await goneMessageId(server, alice), emoji: '👍' }, alice.token);
    expect([deleted.data, codes(deleted)]).toEqual([null, ['NOT_FOUND']]);
    expect(deleted.errors).toEqual(never.errors);
  });

  it('deletes a message with its reactions, leaving those of other messages', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const { chat, message } = await messageAmong(alice, bob);
    const other = await send(server, alice, chat.id, 'another');
    await react(server, bob, message.id, '👍');
    await react(server, bob, other.id, '👍');
    ok(await server.gql(DELETE, { id: message.id }, alice.token), 'deleteMessage');
    expect(await reactionsAs(alice, other.id)).toEqual([{ emoji: '👍', count: 1, reactedByMe: false, users: [{ username: name(bob) }] }]);
  });
});
