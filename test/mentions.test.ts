import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MARK_READ, createDirect, createGroup, newUsers, ok, send } from './helpers/chats.ts';
import { startServer, type TestServer } from './helpers/server.ts';
import type { SignedUp } from './helpers/users.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

const name = (user: SignedUp) => user.user.username;

const MENTIONS = /* GraphQL */ `
  query Mentions($id: ID!) { node(id: $id) { ... on Message { mentions { username } mentionsMe } } }
`;
const MENTION_COUNTS = /* GraphQL */ `
  query MentionCounts { chats(first: 20) { edges { node { name unreadCount unreadMentionCount } } } }
`;

async function mentionsAs(viewer: SignedUp, messageId: string) {
  return ok(await server.gql(MENTIONS, { id: messageId }, viewer.token), 'node');
}

async function counts(viewer: SignedUp) {
  return ok(await server.gql(MENTION_COUNTS, {}, viewer.token), 'chats').edges.map((edge: any) => edge.node);
}

describe('mentions', () => {
  it('mentions the members named as @username, in the order named; others, unknown names and addresses stay plain text', async () => {
    const [alice, bob, carol, outsider] = await newUsers(server, 'alice', 'bob', 'carol', 'outsider');
    const chat = await createGroup(server, alice, { name: 'Team', members: [name(bob), name(carol)] });
    const text = `@${name(carol).toUpperCase()} and @${name(bob)}, ask @${name(outsider)} or @nobody-here via ${name(bob)}@example.com`;
    const message = await send(server, alice, chat.id, text);
    const mentioned = [{ username: name(carol) }, { username: name(bob) }];
    expect(await mentionsAs(bob, message.id)).toEqual({ mentions: mentioned, mentionsMe: true });
    expect(await mentionsAs(carol, message.id)).toEqual({ mentions: mentioned, mentionsMe: true });
    expect(await mentionsAs(alice, message.id)).toEqual({ mentions: mentioned, mentionsMe: false });
  });

  it('takes a name followed by punctuation as the name', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await createDirect(server, alice, name(bob));
    const message = await send(server, alice, chat.id, `thanks @${name(bob)}.`);
    expect(await mentionsAs(bob, message.id)).toEqual({ mentions: [{ username: name(bob) }], mentionsMe: true });
  });

  it('computes mentions again when the text is edited', async () => {
    const [alice, bob, carol] = await newUsers(server, 'alice', 'bob', 'carol');
    const chat = await createGroup(server, alice, { name: 'Edits', members: [name(bob), name(carol)] });
    const message = await send(server, alice, chat.id, `hi @${name(bob)}`);
    const byAuthor = ok(
      await server.gql(
        `mutation($input: EditMessageInput!) { editMessage(input: $input) { text mentions { username } } }`,
        { input: { id: message.id, text: `sorry, I meant @${name(carol)}` } },
        alice.token,
      ),
      'editMessage',
    );
    expect(byAuthor.mentions).toEqual([{ username: name(carol) }]);
    expect(await mentionsAs(bob, message.id)).toEqual({ mentions: [{ username: name(carol) }], mentionsMe: false });
    expect(await mentionsAs(carol, message.id)).toEqual({ mentions: [{ username: name(carol) }], mentionsMe: true });
  });

  it('counts unread messages by others that mention the caller, until markChatRead', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await createGroup(server, alice, { name: 'Counted', members: [name(bob)] });
    await send(server, alice, chat.id, `@${name(bob)} one`);
    await send(server, alice, chat.id, 'not you');
    const third = await send(server, alice, chat.id, `@${name(bob)} three`);
    await send(server, bob, chat.id, `@${name(bob)} talking to myself`);
    // Bob's own send marks everything before it read.
    expect(await counts(bob)).toEqual([{ name: 'Counted', unreadCount: 0, unreadMentionCount: 0 }]);
    await send(server, alice, chat.id, `@${name(bob)} five`);
    await send(server, alice, chat.id, 'six');
    await send(server, alice, chat.id, `@${name(bob)} seven`);
    expect(await counts(bob)).toEqual([{ name: 'Counted', unreadCount: 3, unreadMentionCount: 2 }]);
    // Alice's own sends came last: she has read everything, mentions of her are none.
    expect(await counts(alice)).toEqual([{ name: 'Counted', unreadCount: 0, unreadMentionCount: 0 }]);

    const partly = ok(await server.gql(MARK_READ, { chatId: chat.id, seq: third.seq + 2 }, bob.token), 'markChatRead');
    expect(partly.unreadCount).toBe(2);
    expect(await counts(bob)).toEqual([{ name: 'Counted', unreadCount: 2, unreadMentionCount: 1 }]);
    ok(await server.gql(MARK_READ, { chatId: chat.id }, bob.token), 'markChatRead');
    expect(await counts(bob)).toEqual([{ name: 'Counted', unreadCount: 0, unreadMentionCount: 0 }]);
  });

  it('shows outsiders of a public group 0 mentions', async () => {
    const [alice, bob, outsider] = await newUsers(server, 'alice', 'bob', 'outsider');
    const chat = await createGroup(server, alice, { name: 'Open', isPublic: true, members: [name(bob)] });
    await send(server, alice, chat.id, `@${name(bob)} @${name(outsider)}`);
    const seen = ok(await server.gql(`query($id: ID!) { chat(id: $id) { unreadMentionCount } }`, { id: chat.id }, outsider.token), 'chat');
    expect(seen).toEqual({ unreadMentionCount: 0 });
  });
});
