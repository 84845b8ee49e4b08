import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DELETE,
  EDIT,
  MESSAGES,
  SEND,
  codes,
  createDirect,
  createGroup,
  databaseId,
  goneChatId,
  goneMessageId,
  history,
  newUsers,
  ok,
  react,
  send,
  sendMany,
  sleep,
  texts,
} from './helpers/chats.ts';
import { openDatabase } from '../src/db/client.ts';
import { startServer, testConfig, type TestServer } from './helpers/server.ts';
import type { SignedUp } from './helpers/users.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

const ISO = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
const name = (user: SignedUp) => user.user.username;
const seqsOf = (page: any): number[] => page.edges.map((edge: any) => edge.node.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

const LAST_MESSAGE = /* GraphQL */ `query($id: ID!) { chat(id: $id) { lastMessage { id seq text } } }`;

/** A fresh group of `owner` with `others` as members. */
async function group(owner: SignedUp, ...others: SignedUp[]) {
  return createGroup(server, owner, { name: 'Messages', members: others.map(name) });
}

describe('sendMessage', () => {
  it('stores the text trimmed but otherwise byte-exact, numbering messages 1, 2, 3 per chat', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await group(alice, bob);
    const first = await send(server, alice, chat.id, '  héllo 👋🏽\n world  ');
    expect(first).toEqual({
      id: expect.any(String),
      seq: 1,
      text: 'héllo 👋🏽\n world',
      clientId: null,
      isEdited: false,
      editedAt: null,
      createdAt: ISO,
      author: { username: name(alice) },
      chat: { id: chat.id },
    });
    // Decomposed accents, a zero-width joiner sequence and inner spacing stay as sent.
    const exotic = 'Cafe\u0301  👨‍👩‍👧 \t tab\r\nline';
    expect((await send(server, bob, chat.id, `\n${exotic}\t `)).text).toBe(exotic);
    expect((await send(server, alice, chat.id, 'three')).seq).toBe(3);
    expect((await send(server, alice, (await group(alice)).id, 'elsewhere')).seq).toBe(1);

    const page = await history(server, bob, chat.id);
    expect(page.edges.map((edge: any) => edge.node)).toEqual([
      { id: first.id, seq: 1, text: 'héllo 👋🏽\n world', author: { username: name(alice) } },
      { id: expect.any(String), seq: 2, text: exotic, author: { username: name(bob) } },
      { id: expect.any(String), seq: 3, text: 'three', author: { username: name(alice) } },
    ]);
    expect(Buffer.from(page.edges[1].node.text)).toEqual(Buffer.from(exotic));
  });

  it('counts length in Unicode code points: 4000 emoji are accepted, 4001 are not', async () => {
    const [alice] = await newUsers(server, 'alice');
    const chat = await group(alice);
    expect((await send(server, alice, chat.id, '😀'.repeat(4000))).text).toBe('😀'.repeat(4000));
    expect((await send(server, alice, chat.id, `  ${'x'.repeat(4000)}  `)).text).toBe('x'.repeat(4000));
    const tooLong = await server.gql(SEND, { input: { chatId: chat.id, text: '😀'.repeat(4001) } }, alice.token);
    expect(tooLong.data).toBeNull();
    expect(codes(tooLong)).toEqual(['BAD_USER_INPUT']);
    expect(await texts(server, alice, chat.id)).toEqual(['😀'.repeat(4000), 'x'.repeat(4000)]);
  });

  it.each([
    ['an empty text', ''],
    ['a whitespace-only text', ' \n\t  '],
    ['a text over 4000 characters', 'x'.repeat(4001)],
  ])('refuses %s with BAD_USER_INPUT and stores nothing', async (_case, text) => {
    const [alice] = await newUsers(server, 'alice');
    const chat = await group(alice);
    await send(server, alice, chat.id, 'before');
    const result = await server.gql(SEND, { input: { chatId: chat.id, text } }, alice.token);
    expect(result.data).toBeNull();
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
    expect(await texts(server, alice, chat.id)).toEqual(['before']);
    expect((await send(server, alice, chat.id, 'after')).seq).toBe(2);
  });

  it('refuses both or neither of chatId and toUsername with BAD_USER_INPUT and sends nothing', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await createDirect(server, alice, name(bob));
    const both = await server.gql(SEND, { input: { chatId: chat.id, toUsername: name(bob), text: 'hi' } }, alice.token);
    expect(both.data).toBeNull();
    expect(codes(both)).toEqual(['BAD_USER_INPUT']);
    const neither = await server.gql(SEND, { input: { text: 'hi' } }, alice.token);
    expect(neither.data).toBeNull();
    expect(codes(neither)).toEqual(['BAD_USER_INPUT']);
    expect(await texts(server, alice, chat.id)).toEqual([]);
  });

  it('refuses a garbage chatId or an id of another type with BAD_USER_INPUT, and a gone chat with NOT_FOUND', async () => {
    const [alice] = await newUsers(server, 'alice');
    for (const chatId of ['garbage', alice.user.id]) {
      expect(codes(await server.gql(SEND, { input: { chatId, text: 'hi' } }, alice.token))).toEqual(['BAD_USER_INPUT']);
    }
    const gone = await goneChatId(server, alice);
    expect(codes(await server.gql(SEND, { input: { chatId: gone, text: 'hi' } }, alice.token))).toEqual(['NOT_FOUND']);
  });

  it('answers toUsername of an unknown user with NOT_FOUND', async () => {
    const [alice] = await newUsers(server, 'alice');
    const result = await server.gql(SEND, { input: { toUsername: 'no-such-user', text: 'hi' } }, alice.token);
    expect(result.data).toBeNull();
    expect(codes(result)).toEqual(['NOT_FOUND']);
  });

  it('never reuses the seq of a deleted message', async () => {
    const [alice] = await newUsers(server, 'alice');
    const chat = await group(alice);
    const sent = await sendMany(server, alice, chat.id, 3);
    ok(await server.gql(DELETE, { id: sent[2].id }, alice.token), 'deleteMessage');
    expect((await send(server, alice, chat.id, 'next')).seq).toBe(4);
    expect(seqsOf(await history(server, alice, chat.id))).toEqual([1, 2, 4]);
  });

  it('gives 20 concurrent senders distinct seqs exactly 1..20', async () => {
    const senders = await newUsers(server, ...Array.from({ length: 20 }, (_, i) => `sender${i}x`));
    const chat = await group(senders[0]!, ...senders.slice(1));
    const sent = await Promise.all(senders.map((sender) => send(server, sender, chat.id, `from ${name(sender)}`)));
    expect(sent.map((message) => message.seq).sort((a, b) => a - b)).toEqual(range(1, 20));

    const page = await history(server, senders[0]!, chat.id, { first: 100 });
    expect(page.edges.map((edge: any) => edge.node)).toEqual(
      [...sent]
        .sort((a, b) => a.seq - b.seq)
        .map((message) => ({ id: message.id, seq: message.seq, text: message.text, author: message.author })),
    );
  });
});

describe('idempotent sends with clientId', () => {
  it('returns the first message when the same clientId and text are sent again, storing one', async () => {
    const [alice] = await newUsers(server, 'alice');
    const chat = await group(alice);
    const first = await send(server, alice, chat.id, 'only once', 'client-1');
    expect(first).toEqual(expect.objectContaining({ seq: 1, text: 'only once', clientId: 'client-1' }));
    expect(await send(server, alice, chat.id, 'only once', 'client-1')).toEqual(first);
    expect(await texts(server, alice, chat.id)).toEqual(['only once']);
    expect((await send(server, alice, chat.id, 'a new one', 'client-2')).seq).toBe(2);
  });

  it('refuses the same clientId with other text or in another chat with CONFLICT, storing nothing', async () => {
    const [alice] = await newUsers(server, 'alice');
    const chat = await group(alice);
    const other = await group(alice);
    await send(server, alice, chat.id, 'original', 'client-1');

    const otherText = await server.gql(SEND, { input: { chatId: chat.id, text: 'changed', clientId: 'client-1' } }, alice.token);
    expect(otherText.data).toBeNull();
    expect(codes(otherText)).toEqual(['CONFLICT']);
    const otherChat = await server.gql(SEND, { input: { chatId: other.id, text: 'original', clientId: 'client-1' } }, alice.token);
    expect(otherChat.data).toBeNull();
    expect(codes(otherChat)).toEqual(['CONFLICT']);

    expect(await texts(server, alice, chat.id)).toEqual(['original']);
    expect(await texts(server, alice, other.id)).toEqual([]);
  });

  it('keeps clientIds per sender: another member may use the same one', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await group(alice, bob);
    const mine = await send(server, alice, chat.id, 'same words', 'shared-key');
    const theirs = await send(server, bob, chat.id, 'same words', 'shared-key');
    expect([mine.seq, theirs.seq, theirs.author]).toEqual([1, 2, { username: name(bob) }]);
    expect(await texts(server, alice, chat.id)).toEqual(['same words', 'same words']);
  });

  it('returns one and the same message to 10 concurrent retries with one clientId', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await group(alice, bob);
    const results = await Promise.all(
      Array.from({ length: 10 }, () => send(server, alice, chat.id, 'flaky network', 'retry-me')),
    );
    for (const result of results) expect(result).toEqual(results[0]);
    expect(results[0]).toEqual(expect.objectContaining({ seq: 1, clientId: 'retry-me' }));
    expect(seqsOf(await history(server, bob, chat.id))).toEqual([1]);
    expect((await send(server, bob, chat.id, 'next')).seq).toBe(2);
  });

  it('accepts a clientId of 64 characters and refuses an empty one or one of 65 with BAD_USER_INPUT', async () => {
    const [alice] = await newUsers(server, 'alice');
    const chat = await group(alice);
    expect((await send(server, alice, chat.id, 'long key', 'k'.repeat(64))).clientId).toBe('k'.repeat(64));
    for (const clientId of ['', 'k'.repeat(65)]) {
      const result = await server.gql(SEND, { input: { chatId: chat.id, text: 'bad key', clientId } }, alice.token);
      expect(codes(result)).toEqual(['BAD_USER_INPUT']);
    }
    expect(await texts(server, alice, chat.id)).toEqual(['long key']);
  });
});

describe('editMessage', () => {
  it('lets the author change the text: trimmed, isEdited and editedAt set, id and seq kept', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await group(alice, bob);
    const original = await send(server, alice, chat.id, 'helo', 'c-1');
    await send(server, bob, chat.id, 'hi');
    const edited = ok(await server.gql(EDIT, { input: { id: original.id, text: '  hello 👋  ' } }, alice.token), 'editMessage');
    expect(edited).toEqual({ ...original, text: 'hello 👋', isEdited: true, editedAt: ISO });
    expect(edited.editedAt >= original.createdAt).toBe(true);
    expect((await history(server, bob, chat.id)).edges.map((edge: any) => [edge.node.seq, edge.node.text])).toEqual([
      [1, 'hello 👋'],
      [2, 'hi'],
    ]);
  });

  it.each([
    ['an empty text', ''],
    ['a whitespace-only text', '   '],
    ['a text over 4000 code points', '😀'.repeat(4001)],
  ])('refuses %s with BAD_USER_INPUT, leaving the message as it was', async (_case, text) => {
    const [alice] = await newUsers(server, 'alice');
    const chat = await group(alice);
    const original = await send(server, alice, chat.id, 'keep me');
    const result = await server.gql(EDIT, { input: { id: original.id, text } }, alice.token);
    expect(result.data).toBeNull();
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
    const MESSAGE = /* GraphQL */ `query($id: ID!) { messages(chatId: $id) { edges { node { text isEdited editedAt } } } }`;
    expect(ok(await server.gql(MESSAGE, { id: chat.id }, alice.token), 'messages').edges).toEqual([
      { node: { text: 'keep me', isEdited: false, editedAt: null } },
    ]);
  });

  it('answers a garbage id or an id of another type with BAD_USER_INPUT and a gone message with NOT_FOUND', async () => {
    const [alice] = await newUsers(server, 'alice');
    const chat = await group(alice);
    for (const id of ['garbage', chat.id]) {
      expect(codes(await server.gql(EDIT, { input: { id, text: 'x' } }, alice.token))).toEqual(['BAD_USER_INPUT']);
    }
    const gone = await goneMessageId(server, alice);
    expect(codes(await server.gql(EDIT, { input: { id: gone, text: 'x' } }, alice.token))).toEqual(['NOT_FOUND']);
  });
});

describe('deleteMessage', () => {
  it("returns the message's id, chat id and seq, and removes it from history and lastMessage", async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await group(alice, bob);
    const [first, second] = await sendMany(server, alice, chat.id, 2);
    expect(ok(await server.gql(LAST_MESSAGE, { id: chat.id }, bob.token), 'chat')).toEqual({
      lastMessage: { id: second.id, seq: 2, text: 'm2' },
    });

    expect(await server.gql(DELETE, { id: second.id }, alice.token)).toEqual({
      status: 200,
      data: { deleteMessage: { id: second.id, chatId: chat.id, seq: 2 } },
    });
    expect(seqsOf(await history(server, bob, chat.id))).toEqual([1]);
    expect(ok(await server.gql(LAST_MESSAGE, { id: chat.id }, bob.token), 'chat')).toEqual({
      lastMessage: { id: first.id, seq: 1, text: 'm1' },
    });

    ok(await server.gql(DELETE, { id: first.id }, alice.token), 'deleteMessage');
    expect(ok(await server.gql(LAST_MESSAGE, { id: chat.id }, bob.token), 'chat')).toEqual({ lastMessage: null });
  });

  it('answers a second delete of the same message with NOT_FOUND', async () => {
    const [alice] = await newUsers(server, 'alice');
    const chat = await group(alice);
    const message = await send(server, alice, chat.id, 'once');
    ok(await server.gql(DELETE, { id: message.id }, alice.token), 'deleteMessage');
    const again = await server.gql(DELETE, { id: message.id }, alice.token);
    expect(again.data).toBeNull();
    expect(codes(again)).toEqual(['NOT_FOUND']);
  });

  it('answers a garbage id or an id of another type with BAD_USER_INPUT', async () => {
    const [alice] = await newUsers(server, 'alice');
    const chat = await group(alice);
    for (const id of ['garbage', chat.id, alice.user.id]) {
      expect(codes(await server.gql(DELETE, { id }, alice.token))).toEqual(['BAD_USER_INPUT']);
    }
  });

  it('answers concurrent deletes of one message with one success and NOT_FOUND for the others', async () => {
    const [alice] = await newUsers(server, 'alice');
    const chat = await group(alice);
    for (let round = 0; round < 10; round += 1) {
      const message = await send(server, alice, chat.id, `deleted five times at once, round ${round}`);
      const results = await Promise.all(Array.from({ length: 5 }, () => server.gql(DELETE, { id: message.id }, alice.token)));
      expect(results.map((result) => codes(result)?.[0] ?? 'deleted').sort()).toEqual([
        'NOT_FOUND',
        'NOT_FOUND',
        'NOT_FOUND',
        'NOT_FOUND',
        'deleted',
      ]);
    }
  });

  it('answers an edit racing a delete of its message with NOT_FOUND or the edit, never an internal error', async () => {
    const [alice] = await newUsers(server, 'alice');
    const chat = await group(alice);
    for (let round = 0; round < 15; round += 1) {
      const message = await send(server, alice, chat.id, `round ${round}`);
      const [edited, deleted] = await Promise.all([
        server.gql(EDIT, { input: { id: message.id, text: 'edited' } }, alice.token),
        server.gql(DELETE, { id: message.id }, alice.token),
      ]);
      expect(codes(deleted)).toBeUndefined();
      expect([undefined, 'NOT_FOUND']).toContainEqual(codes(edited)?.[0]);
      expect(edited.errors?.length ?? 0).toBeLessThanOrEqual(1);
    }
  });
});

describe('history', () => {
  const TOTAL = 120;
  let reader: SignedUp;
  let chatId: string;

  beforeAll(async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    reader = bob;
    chatId = (await group(alice, bob)).id;
    await sendMany(server, alice, chatId, TOTAL);
  });

  it('returns the oldest 50 messages, oldest first, without arguments', async () => {
    const page = await history(server, reader, chatId);
    expect(seqsOf(page)).toEqual(range(1, 50));
    expect(page.edges[0].node.text).toBe('m1');
    expect(page.pageInfo).toEqual({
      hasNextPage: true,
      hasPreviousPage: false,
      startCursor: page.edges[0].cursor,
      endCursor: page.edges[49].cursor,
    });
  });

  it('returns the newest N messages, oldest first, for last: N', async () => {
    const page = await history(server, reader, chatId, { last: 10 });
    expect(page.edges.map((edge: any) => edge.node.text)).toEqual(range(111, 120).map((i) => `m${i}`));
    expect(seqsOf(page)).toEqual(range(111, 120));
    expect(page.pageInfo).toEqual({
      hasNextPage: false,
      hasPreviousPage: true,
      startCursor: page.edges[0].cursor,
      endCursor: page.edges[9].cursor,
    });
  });

  it('pages forward through all messages with first/after without gaps or repeats', async () => {
    const seen: number[] = [];
    const more: boolean[] = [];
    let after: string | undefined;
    for (let pages = 0; pages < 20; pages += 1) {
      const page = await history(server, reader, chatId, { first: 25, after });
      seen.push(...seqsOf(page));
      more.push(page.pageInfo.hasNextPage);
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(range(1, TOTAL));
    expect(more).toEqual([true, true, true, true, false]);
  });

  it('pages backward through all messages with last/before without gaps or repeats', async () => {
    const pages: number[][] = [];
    const older: boolean[] = [];
    let before: string | undefined;
    for (let count = 0; count < 20; count += 1) {
      const page = await history(server, reader, chatId, { last: 25, before });
      pages.push(seqsOf(page));
      older.push(page.pageInfo.hasPreviousPage);
      if (!page.pageInfo.hasPreviousPage) break;
      before = page.pageInfo.startCursor;
    }
    expect(pages[0]).toEqual(range(96, 120));
    expect(pages.reverse().flat()).toEqual(range(1, TOTAL));
    expect(older).toEqual([true, true, true, true, false]);
  });

  it('serves Chat.messages exactly like messages(chatId)', async () => {
    const CHAT_MESSAGES = /* GraphQL */ `
      query($id: ID!, $last: Int, $before: String) {
        chat(id: $id) {
          messages(last: $last, before: $before) {
            edges { cursor node { id seq text author { username } } }
            pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
          }
        }
      }
    `;
    const newest = ok(await server.gql(CHAT_MESSAGES, { id: chatId, last: 7 }, reader.token), 'chat').messages;
    expect(newest).toEqual(await history(server, reader, chatId, { last: 7 }));
    const before = newest.pageInfo.startCursor;
    const older = ok(await server.gql(CHAT_MESSAGES, { id: chatId, last: 7, before }, reader.token), 'chat').messages;
    expect(older).toEqual(await history(server, reader, chatId, { last: 7, before }));
    expect(seqsOf(older)).toEqual(range(107, 113));
  });

  it('accepts page sizes of 1 and 100', async () => {
    expect(seqsOf(await history(server, reader, chatId, { first: 1 }))).toEqual([1]);
    expect(seqsOf(await history(server, reader, chatId, { first: 100 }))).toEqual(range(1, 100));
    expect(seqsOf(await history(server, reader, chatId, { last: 1 }))).toEqual([TOTAL]);
    expect(seqsOf(await history(server, reader, chatId, { last: 100 }))).toEqual(range(21, TOTAL));
  });

  it.each([
    { first: 0 },
    { first: -1 },
    { first: 101 },
    { last: 0 },
    { last: -1 },
    { last: 101 },
  ])('refuses the page size %o with BAD_USER_INPUT', async (args) => {
    const result = await server.gql(MESSAGES, { chatId, ...args }, reader.token);
    expect(result.data).toBeNull();
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
  });

  it('refuses mixing first/after with last/before with BAD_USER_INPUT', async () => {
    const { startCursor, endCursor } = (await history(server, reader, chatId, { first: 10, after: undefined })).pageInfo;
    for (const args of [
      { first: 5, last: 5 },
      { first: 5, before: endCursor },
      { after: startCursor, last: 5 },
      { after: startCursor, before: endCursor },
    ]) {
      const result = await server.gql(MESSAGES, { chatId, ...args }, reader.token);
      expect(codes(result)).toEqual(['BAD_USER_INPUT']);
    }
  });

  it.each(['garbage', 'bm90IGEgY3Vyc29y', '%%%'])('refuses the malformed cursor %j with BAD_USER_INPUT', async (cursor) => {
    for (const args of [{ after: cursor }, { before: cursor }]) {
      const result = await server.gql(MESSAGES, { chatId, ...args }, reader.token);
      expect(codes(result)).toEqual(['BAD_USER_INPUT']);
    }
  });

  it('refuses a garbage chatId or an id of another type with BAD_USER_INPUT, and a gone chat with NOT_FOUND', async () => {
    for (const id of ['garbage', reader.user.id]) {
      expect(codes(await server.gql(MESSAGES, { chatId: id }, reader.token))).toEqual(['BAD_USER_INPUT']);
    }
    const gone = await goneChatId(server, reader);
    expect(codes(await server.gql(MESSAGES, { chatId: gone }, reader.token))).toEqual(['NOT_FOUND']);
  });

  it('catches up with after: the end cursor later returns the messages sent since', async () => {
    const [alice] = await newUsers(server, 'alice');
    const chat = await group(alice);
    await sendMany(server, alice, chat.id, 3);
    const { endCursor } = (await history(server, alice, chat.id)).pageInfo;
    const nothingYet = await history(server, alice, chat.id, { after: endCursor });
    expect([nothingYet.edges, nothingYet.pageInfo.hasNextPage]).toEqual([[], false]);

    await sendMany(server, alice, chat.id, 2, 'late');
    const caughtUp = await history(server, alice, chat.id, { after: endCursor });
    expect(caughtUp.edges.map((edge: any) => [edge.node.seq, edge.node.text])).toEqual([
      [4, 'late1'],
      [5, 'late2'],
    ]);
    expect(caughtUp.pageInfo.hasNextPage).toBe(false);
  });

  it('skips deleted messages without breaking paging in either direction', async () => {
    const [alice] = await newUsers(server, 'alice');
    const chat = await group(alice);
    const sent = await sendMany(server, alice, chat.id, 6);
    for (const index of [2, 3]) ok(await server.gql(DELETE, { id: sent[index].id }, alice.token), 'deleteMessage');

    const forward: number[][] = [];
    let after: string | undefined;
    for (;;) {
      const page = await history(server, alice, chat.id, { first: 2, after });
      forward.push(seqsOf(page));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(forward.flat()).toEqual([1, 2, 5, 6]);
    expect(forward[0]).toEqual([1, 2]);

    const backward: number[][] = [];
    let before: string | undefined;
    for (;;) {
      const page = await history(server, alice, chat.id, { last: 2, before });
      backward.push(seqsOf(page));
      if (!page.pageInfo.hasPreviousPage) break;
      before = page.pageInfo.startCursor;
    }
    expect(backward.reverse().flat()).toEqual([1, 2, 5, 6]);
  });
});

describe('history read paths', () => {
  const PAGE_FIELDS = /* GraphQL */ `
    edges { cursor node { id seq text clientId isEdited editedAt createdAt author { id username } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  `;
  // At most the author: on SQLite, one prepared statement (src/db/history-page.ts).
  const NARROW = /* GraphQL */ `
    query Narrow($chatId: ID!, $first: Int, $after: String, $last: Int, $before: String) {
      messages(chatId: $chatId, first: $first, after: $after, last: $last, before: $before) { ${PAGE_FIELDS} }
    }
  `;
  // The chat too: through Prisma on every provider.
  const WIDE = /* GraphQL */ `
    query Wide($chatId: ID!, $first: Int, $after: String, $last: Int, $before: String) {
      messages(chatId: $chatId, first: $first, after: $after, last: $last, before: $before) {
        ${PAGE_FIELDS}
        edges { node { chat { id } } }
      }
    }
  `;

  it('give the same pages whichever path reads them, with deleted, edited and expired messages in the chat', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await group(alice, bob);
    const sent = [];
    for (let i = 1; i <= 24; i += 1) sent.push(await send(server, i % 3 ? alice : bob, chat.id, `m${i}`, i % 4 ? undefined : `key-${i}`));
    // Deleted by alice, the group's owner: seqs 3, 12 and 18.
    for (const i of [2, 11, 17]) ok(await server.gql(DELETE, { id: sent[i]!.id }, alice.token), 'deleteMessage');
    ok(await server.gql(EDIT, { input: { id: sent[5]!.id, text: 'm6, edited' } }, bob.token), 'editMessage');
    ok(await server.gql(`mutation($id: ID!) { setChatMessageTtl(chatId: $id, seconds: 1) { id } }`, { id: chat.id }, alice.token), 'setChatMessageTtl');
    for (let i = 25; i <= 27; i += 1) await send(server, alice, chat.id, `expiring ${i}`);
    ok(await server.gql(`mutation($id: ID!) { setChatMessageTtl(chatId: $id, seconds: null) { id } }`, { id: chat.id }, alice.token), 'setChatMessageTtl');
    await send(server, bob, chat.id, 'm28');
    await sleep(1_100);

    const first = ok(await server.gql(NARROW, { chatId: chat.id, first: 5 }, bob.token), 'messages');
    const last = ok(await server.gql(NARROW, { chatId: chat.id, last: 5 }, bob.token), 'messages');
    const pages = [
      {},
      { first: 5 },
      { first: 7, after: first.pageInfo.endCursor },
      { first: 100, after: first.pageInfo.startCursor },
      { last: 5 },
      { last: 4, before: last.pageInfo.startCursor },
      { last: 100, before: last.pageInfo.endCursor },
    ];
    for (const args of pages) {
      for (const viewer of [alice, bob]) {
        const narrow = ok(await server.gql(NARROW, { chatId: chat.id, ...args }, viewer.token), 'messages');
        const wide = ok(await server.gql(WIDE, { chatId: chat.id, ...args }, viewer.token), 'messages');
        expect(wide.edges.map((edge: any) => edge.node.chat)).toEqual(wide.edges.map(() => ({ id: chat.id })));
        for (const edge of wide.edges) delete edge.node.chat;
        expect(wide).toEqual(narrow);
      }
    }
    const all = ok(await server.gql(NARROW, { chatId: chat.id, first: 100 }, bob.token), 'messages');
    expect(seqsOf(all)).toEqual([...range(1, 24).filter((seq) => ![3, 12, 18].includes(seq)), 28]);
    expect(all.edges.find((edge: any) => edge.node.seq === 6).node).toMatchObject({ text: 'm6, edited', isEdited: true });
  });
});

describe('SQL statements per operation', () => {
  const PAGE = /* GraphQL */ `
    query Page($chatId: ID!, $first: Int) {
      messages(chatId: $chatId, first: $first) {
        edges { node { id text seq author { id username } chat { id name } } }
      }
    }
  `;

  /** messenger_sql_statements_total from GET /metrics (summed if the counter carries labels). */
  async function sqlStatements(target: TestServer): Promise<number> {
    const response = await fetch(new URL('/metrics', target.url));
    expect(response.status).toBe(200);
    const lines = (await response.text()).split('\n').filter((line) => /^messenger_sql_statements_total(\{.*\})?\s/.test(line));
    expect(lines.length).toBeGreaterThan(0);
    return lines.reduce((sum, line) => sum + Number(line.trim().split(/\s+/).at(-1)), 0);
  }

  /** What `run` returns, with the SQL statements the server ran meanwhile. */
  async function counted<T>(target: TestServer, run: () => Promise<T>) {
    const before = await sqlStatements(target);
    const value = await run();
    return { value, statements: (await sqlStatements(target)) - before };
  }

  // Its own server, so no other test's traffic (or a retention sweep) runs between the readings.
  const quietServer = () => startServer(testConfig({ RETENTION_SWEEP_SECONDS: '3600' }));

  it('answers a send with its author from the write alone, and reads more only for a selection that needs it', async () => {
    const quiet = await quietServer();
    try {
      const [alice] = await newUsers(quiet, 'alice');
      const chat = await createGroup(quiet, alice, { name: 'Counted' });
      const measure = async (selection: string) => {
        const { value, statements } = await counted(quiet, () =>
          quiet.gql(
            `mutation($input: SendMessageInput!) { sendMessage(input: $input) { ${selection} } }`,
            { input: { chatId: chat.id, text: 'counted' } },
            alice.token,
          ),
        );
        return { message: ok(value, 'sendMessage'), statements };
      };

      await measure('seq'); // warm-up: first-use costs (prepared statements, caches) are not what is measured
      const bare = await measure('seq text');
      const withAuthor = await measure('seq author { id username }');
      const withChat = await measure('seq author { username } chat { name }');

      expect(bare.message).toEqual({ seq: 2, text: 'counted' });
      expect(withAuthor.message).toEqual({ seq: 3, author: { id: alice.user.id, username: name(alice) } });
      expect(withChat.message).toEqual({ seq: 4, author: { username: name(alice) }, chat: { name: 'Counted' } });
      expect(withAuthor.statements).toBe(bare.statements);
      expect(withChat.statements).toBeGreaterThan(bare.statements);
    } finally {
      await quiet.stop();
    }
  });

  it('loads a page of 50 messages with their authors and chat in as few statements as a page of 5 (at most 5)', async () => {
    const quiet = await quietServer();
    try {
      const [alice, bob, carol] = await newUsers(quiet, 'alice', 'bob', 'carol');
      const chat = await createGroup(quiet, alice, { name: 'Counted', members: [name(bob), name(carol)] });
      const authors = [alice, bob, carol];
      for (let i = 0; i < 60; i += 1) await send(quiet, authors[i % 3]!, chat.id, `counted ${i + 1}`);

      const measure = async (first: number) => {
        const { value, statements } = await counted(quiet, () => quiet.gql(PAGE, { chatId: chat.id, first }, alice.token));
        expect(value.errors).toBeUndefined();
        return { edges: value.data.messages.edges, statements };
      };

      await measure(5); // warm-up: first-use costs (prepared statements, caches) are not what is measured
      const small = await measure(5);
      const large = await measure(50);

      expect(large.edges).toEqual(
        Array.from({ length: 50 }, (_, i) => ({
          node: {
            id: expect.any(String),
            text: `counted ${i + 1}`,
            seq: i + 1,
            author: { id: authors[i % 3]!.user.id, username: name(authors[i % 3]!) },
            chat: { id: chat.id, name: 'Counted' },
          },
        })),
      );
      expect(small.edges).toHaveLength(5);
      expect(large.statements).toBe(small.statements);
      expect(large.statements).toBeLessThanOrEqual(5);
    } finally {
      await quiet.stop();
    }
  });
  it('loads a page of 50 messages with reactions, mentions, replies and pins in as few statements as a page of 5', async () => {
    const quiet = await quietServer();
    try {
      const [alice, bob, carol] = await newUsers(quiet, 'alice', 'bob', 'carol');
      const chat = await createGroup(quiet, alice, { name: 'Counted', members: [name(bob), name(carol)] });
      const authors = [alice, bob, carol];
      const sent: { id: string }[] = [];
      for (let i = 0; i < 60; i += 1) {
        const author = authors[i % 3]!;
        const text = `counted ${i + 1} @${name(authors[(i + 1) % 3]!)}`;
        const replyToId = i > 0 ? sent[i - 1]!.id : undefined;
        sent.push(ok(await quiet.gql(SEND, { input: { chatId: chat.id, text, replyToId } }, author.token), 'sendMessage'));
      }
      for (const message of sent.slice(0, 55)) {
        for (const [i, user] of authors.entries()) await react(quiet, user, message.id, ['👍', '🎉', '👍'][i]!);
      }
      const RICH_PAGE = /* GraphQL */ `
        query RichPage($chatId: ID!, $first: Int) {
          messages(chatId: $chatId, first: $first) {
            edges {
              node {
                seq text author { username }
                replyTo { seq author { username } }
                replyCount
                reactions { emoji count reactedByMe users { username } }
                mentions { username }
                mentionsMe
                pinnedAt pinnedBy { username }
              }
            }
          }
        }
      `;
      const measure = async (first: number) => {
        const { value, statements } = await counted(quiet, () => quiet.gql(RICH_PAGE, { chatId: chat.id, first }, alice.token));
        expect(value.errors).toBeUndefined();
        return { edges: value.data.messages.edges, statements };
      };

      await measure(5); // warm-up
      const small = await measure(5);
      const large = await measure(50);

      const usernames = (...users: SignedUp[]) => users.map((user) => ({ username: name(user) }));
      expect(large.edges[10].node).toEqual({
        seq: 11,
        text: `counted 11 @${name(carol)}`,
        author: { username: name(bob) },
        replyTo: { seq: 10, author: { username: name(alice) } },
        replyCount: 1,
        reactions: [
          { emoji: '👍', count: 2, reactedByMe: true, users: usernames(alice, carol) },
          { emoji: '🎉', count: 1, reactedByMe: false, users: usernames(bob) },
        ],
        mentions: usernames(carol),
        mentionsMe: false,
        pinnedAt: null,
        pinnedBy: null,
      });
      expect(large.edges.map((edge: any) => edge.node.mentionsMe)).toEqual(Array.from({ length: 50 }, (_, i) => i % 3 === 2));
      expect(small.edges).toHaveLength(5);
      expect(large.statements).toBe(small.statements);
      // Membership, the page, and one per relation level (author, replyTo and its author, mentions and their users, pinnedBy), reactions and their users.
      expect(large.statements).toBeLessThanOrEqual(10);
    } finally {
      await quiet.stop();
    }
  });
});

describe('deleted users', () => {
  it("takes the user's messages, memberships and sessions with the account (an operator's delete; there is no API for it)", async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await group(alice, bob);
    const first = await send(server, alice, chat.id, 'from alice');
    await send(server, bob, chat.id, 'from bob');
    const last = await send(server, alice, chat.id, 'alice again');

    const db = await openDatabase(server.config.databaseUrl);
    try {
      await db.user.delete({ where: { id: databaseId(bob.user.id) } });
    } finally {
      await db.$disconnect();
    }

    const page = await history(server, alice, chat.id);
    expect(page.edges.map((edge: any) => [edge.node.seq, edge.node.text])).toEqual([
      [first.seq, 'from alice'],
      [last.seq, 'alice again'],
    ]);
    const members = ok(await server.gql(`query($id: ID!) { chat(id: $id) { members { user { username } } } }`, { id: chat.id }, alice.token), 'chat');
    expect(members.members).toEqual([{ user: { username: name(alice) } }]);
    expect((await server.gql(`{ me { id } }`, {}, bob.token)).data).toEqual({ me: null });
  });
});
