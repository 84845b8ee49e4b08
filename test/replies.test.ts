import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DELETE,
  SEND,
  SET_TTL,
  codes,
  createGroup,
  goneMessageId,
  history,
  newUsers,
  ok,
  reply,
  send,
  sleep,
  texts,
} from './helpers/chats.ts';
import { connect, live, prime } from './helpers/live.ts';
import { startServer, type TestServer } from './helpers/server.ts';
import type { SignedUp } from './helpers/users.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

const name = (user: SignedUp) => user.user.username;

const THREAD = /* GraphQL */ `
  query Thread($id: ID!, $first: Int, $after: String) {
    node(id: $id) {
      ... on Message {
        seq
        text
        replyCount
        replyTo { seq }
        replies(first: $first, after: $after) {
          edges { node { seq text replyTo { seq text author { username } } } }
          pageInfo { hasNextPage endCursor }
        }
      }
    }
  }
`;

async function thread(viewer: SignedUp, id: string, args: { first?: number; after?: string } = {}) {
  const result = await server.gql(THREAD, { id, ...args }, viewer.token);
  expect(result.errors).toBeUndefined();
  return result.data.node;
}

describe('replies', () => {
  it('a reply takes the next seq, arrives as messageAdded with replyTo, and the parent counts and lists its replies oldest first', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await createGroup(server, alice, { name: 'Threads', members: [name(bob)] });
    const socket = await connect(server, bob);
    const added = live(socket.client, `subscription($chatId: ID) { messageAdded(chatId: $chatId) { seq text replyTo { seq text } } }`, {
      chatId: chat.id,
    }, { ignore: (event) => event.text === 'ping' });
    await prime([added], () => send(server, alice, chat.id, 'ping'));
    const parent = await send(server, alice, chat.id, 'Who brings the tent?');
    await send(server, alice, chat.id, 'unrelated');
    const first = await reply(server, bob, chat.id, parent.id, 'I do');
    const second = await reply(server, alice, chat.id, parent.id, 'Thanks!');

    expect(await added.take(4)).toEqual([
      { seq: parent.seq, text: 'Who brings the tent?', replyTo: null },
      { seq: parent.seq + 1, text: 'unrelated', replyTo: null },
      { seq: parent.seq + 2, text: 'I do', replyTo: { seq: parent.seq, text: 'Who brings the tent?' } },
      { seq: parent.seq + 3, text: 'Thanks!', replyTo: { seq: parent.seq, text: 'Who brings the tent?' } },
    ]);
    expect([first.seq, second.seq]).toEqual([parent.seq + 2, parent.seq + 3]);
    const parentReply = { seq: parent.seq, text: 'Who brings the tent?', author: { username: name(alice) } };
    expect(await thread(bob, parent.id)).toEqual({
      seq: parent.seq,
      text: 'Who brings the tent?',
      replyCount: 2,
      replyTo: null,
      replies: {
        edges: [
          { node: { seq: first.seq, text: 'I do', replyTo: parentReply } },
          { node: { seq: second.seq, text: 'Thanks!', replyTo: parentReply } },
        ],
        pageInfo: { hasNextPage: false, endCursor: expect.any(String) },
      },
    });
  });

  it('pages through a thread with first/after without gaps or repeats', async () => {
    const [alice] = await newUsers(server, 'alice');
    const chat = await createGroup(server, alice, { name: 'Long thread' });
    const parent = await send(server, alice, chat.id, 'parent');
    for (let i = 1; i <= 5; i += 1) await reply(server, alice, chat.id, parent.id, `reply ${i}`);
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = (await thread(alice, parent.id, { first: 2, after })).replies;
      seen.push(...page.edges.map((edge: any) => edge.node.text));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(['reply 1', 'reply 2', 'reply 3', 'reply 4', 'reply 5']);
  });

  it('refuses a reply to another chat’s message or a gone one with NOT_FOUND, and a garbage id with BAD_USER_INPUT, storing nothing', async () => {
    const [alice] = await newUsers(server, 'alice');
    const chat = await createGroup(server, alice, { name: 'Here' });
    const elsewhere = await send(server, alice, (await createGroup(server, alice, { name: 'There' })).id, 'over there');
    await send(server, alice, chat.id, 'before');
    const gone = await goneMessageId(server, alice);
    for (const [replyToId, code] of [
      [elsewhere.id, 'NOT_FOUND'],
      [gone, 'NOT_FOUND'],
      ['garbage', 'BAD_USER_INPUT'],
      [chat.id, 'BAD_USER_INPUT'],
    ]) {
      const result = await server.gql(SEND, { input: { chatId: chat.id, text: 'reply', replyToId } }, alice.token);
      expect([result.data, codes(result)]).toEqual([null, [code]]);
    }
    expect(await texts(server, alice, chat.id)).toEqual(['before']);
    expect((await send(server, alice, chat.id, 'after')).seq).toBe(2);
  });

  it('keeps the replies of a deleted parent, with replyTo null', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await createGroup(server, alice, { name: 'Orphans', members: [name(bob)] });
    const parent = await send(server, alice, chat.id, 'soon gone');
    const child = await reply(server, bob, chat.id, parent.id, 'still here');
    ok(await server.gql(DELETE, { id: parent.id }, alice.token), 'deleteMessage');
    expect(await thread(bob, child.id)).toEqual({
      seq: child.seq,
      text: 'still here',
      replyCount: 0,
      replyTo: null,
      replies: { edges: [], pageInfo: { hasNextPage: false, endCursor: null } },
    });
    expect(await texts(server, bob, chat.id)).toEqual(['still here']);
  });

  it('shows replyTo null and does not count replies once they expire, while the other side lives on', async () => {
    const [alice] = await newUsers(server, 'alice');
    const chat = await createGroup(server, alice, { name: 'Fading' });
    ok(await server.gql(SET_TTL, { chatId: chat.id, seconds: 1 }, alice.token), 'setChatMessageTtl');
    const fading = await send(server, alice, chat.id, 'fading parent');
    ok(await server.gql(SET_TTL, { chatId: chat.id, seconds: null }, alice.token), 'setChatMessageTtl');
    const kept = await reply(server, alice, chat.id, fading.id, 'kept reply');
    const lasting = await send(server, alice, chat.id, 'lasting parent');
    ok(await server.gql(SET_TTL, { chatId: chat.id, seconds: 1 }, alice.token), 'setChatMessageTtl');
    await reply(server, alice, chat.id, lasting.id, 'fading reply');
    expect((await thread(alice, lasting.id)).replyCount).toBe(1);
    await sleep(1_100);
    expect((await thread(alice, kept.id)).replyTo).toBeNull();
    expect((await thread(alice, lasting.id)).replyCount).toBe(0);
    expect(codes(await server.gql(SEND, { input: { chatId: chat.id, text: 'late', replyToId: fading.id } }, alice.token))).toEqual([
      'NOT_FOUND',
    ]);
  });

  it('returns the first reply to a retry with the same clientId, text and replyToId, and CONFLICT for another replyToId', async () => {
    const [alice] = await newUsers(server, 'alice');
    const chat = await createGroup(server, alice, { name: 'Retries' });
    const [one, two] = [await send(server, alice, chat.id, 'one'), await send(server, alice, chat.id, 'two')];
    const first = await reply(server, alice, chat.id, one.id, 'me too', 'reply-key');
    expect(await reply(server, alice, chat.id, one.id, 'me too', 'reply-key')).toEqual(first);
    for (const replyToId of [two.id, null]) {
      const other = await server.gql(SEND, { input: { chatId: chat.id, text: 'me too', clientId: 'reply-key', replyToId } }, alice.token);
      expect([other.data, codes(other)]).toEqual([null, ['CONFLICT']]);
    }
    expect((await history(server, alice, chat.id)).edges.map((edge: any) => edge.node.text)).toEqual(['one', 'two', 'me too']);
  });
});
