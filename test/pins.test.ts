import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DELETE, PIN, SET_TTL, UNPIN, createDirect, createGroup, newUsers, ok, send, sleep, tick } from './helpers/chats.ts';
import { startServer, type TestServer } from './helpers/server.ts';
import type { SignedUp } from './helpers/users.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

const name = (user: SignedUp) => user.user.username;
const ISO = expect.stringMatching(/^\d{4}-\d\d-\d\dT/);

const PINNED = /* GraphQL */ `
  query Pinned($id: ID!) { chat(id: $id) { pinnedMessages { text pinnedBy { username } } } }
`;

async function pinnedTexts(viewer: SignedUp, chatId: string) {
  return ok(await server.gql(PINNED, { id: chatId }, viewer.token), 'chat').pinnedMessages;
}

async function pin(viewer: SignedUp, id: string) {
  return ok(await server.gql(PIN, { id }, viewer.token), 'pinMessage');
}

describe('pins', () => {
  it('lists what a group owner pinned, most recently pinned first, to every member; unpinning takes it off', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await createGroup(server, alice, { name: 'Pinned', members: [name(bob)] });
    const [rules, plan, chatter] = [
      await send(server, bob, chat.id, 'rules'),
      await send(server, alice, chat.id, 'plan'),
      await send(server, bob, chat.id, 'chatter'),
    ];
    expect(await pin(alice, plan.id)).toEqual({ id: plan.id, pinnedAt: ISO, pinnedBy: { username: name(alice) } });
    await tick();
    await pin(alice, rules.id);
    const pinned = [
      { text: 'rules', pinnedBy: { username: name(alice) } },
      { text: 'plan', pinnedBy: { username: name(alice) } },
    ];
    expect(await pinnedTexts(bob, chat.id)).toEqual(pinned);
    expect(ok(await server.gql(`query($id: ID!) { node(id: $id) { ... on Message { pinnedAt pinnedBy { username } } } }`, { id: chatter.id }, bob.token), 'node')).toEqual({
      pinnedAt: null,
      pinnedBy: null,
    });

    expect(ok(await server.gql(UNPIN, { id: rules.id }, alice.token), 'unpinMessage')).toEqual({ id: rules.id, pinnedAt: null, pinnedBy: null });
    expect(await pinnedTexts(bob, chat.id)).toEqual(pinned.slice(1));
  });

  it('changes nothing when a pinned message is pinned again or an unpinned one unpinned', async () => {
    const [alice] = await newUsers(server, 'alice');
    const chat = await createGroup(server, alice, { name: 'Twice' });
    const message = await send(server, alice, chat.id, 'once');
    const first = await pin(alice, message.id);
    await tick();
    expect(await pin(alice, message.id)).toEqual(first);
    ok(await server.gql(UNPIN, { id: message.id }, alice.token), 'unpinMessage');
    expect(ok(await server.gql(UNPIN, { id: message.id }, alice.token), 'unpinMessage')).toEqual({ id: message.id, pinnedAt: null, pinnedBy: null });
  });

  it('lets either member of a direct chat pin', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await createDirect(server, alice, name(bob));
    const message = await send(server, alice, chat.id, 'address: 12 Main St');
    await pin(bob, message.id);
    expect(await pinnedTexts(alice, chat.id)).toEqual([{ text: 'address: 12 Main St', pinnedBy: { username: name(bob) } }]);
  });

  it('drops deleted and expired messages from the list', async () => {
    const [alice] = await newUsers(server, 'alice');
    const chat = await createGroup(server, alice, { name: 'Leaving' });
    const kept = await send(server, alice, chat.id, 'kept');
    const deleted = await send(server, alice, chat.id, 'deleted');
    ok(await server.gql(SET_TTL, { chatId: chat.id, seconds: 1 }, alice.token), 'setChatMessageTtl');
    const expiring = await send(server, alice, chat.id, 'expiring');
    for (const message of [kept, deleted, expiring]) await pin(alice, message.id);
    ok(await server.gql(DELETE, { id: deleted.id }, alice.token), 'deleteMessage');
    expect((await pinnedTexts(alice, chat.id)).map((message: any) => message.text)).toEqual(['expiring', 'kept']);
    await sleep(1_100);
    expect((await pinnedTexts(alice, chat.id)).map((message: any) => message.text)).toEqual(['kept']);
  });

  it('shows outsiders of a public group no pinned messages', async () => {
    const [alice, outsider] = await newUsers(server, 'alice', 'outsider');
    const chat = await createGroup(server, alice, { name: 'Open pins', isPublic: true });
    await pin(alice, (await send(server, alice, chat.id, 'members only')).id);
    expect(await pinnedTexts(outsider, chat.id)).toEqual([]);
  });
});
