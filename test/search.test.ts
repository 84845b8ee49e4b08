import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DELETE,
  EDIT,
  SET_TTL,
  codes,
  createDirect,
  createGroup,
  goneChatId,
  newUsers,
  ok,
  removeMember,
  search,
  send,
  sleep,
} from './helpers/chats.ts';
import { startServer, testConfig, type TestServer } from './helpers/server.ts';
import type { SignedUp } from './helpers/users.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

const name = (user: SignedUp) => user.user.username;

/** A group of `owner` (and `others`) with `texts` sent in order by the owner; returns the chat and the messages. */
async function chatWith(owner: SignedUp, texts: string[], others: SignedUp[] = []) {
  const chat = await createGroup(server, owner, { name: 'Searchable', members: others.map(name) });
  const messages = [];
  for (const text of texts) messages.push(await send(server, owner, chat.id, text));
  return { chat, messages };
}

describe('searchMessages', () => {
  it('finds the messages holding every word of the query as a whole word, newest first, with the matches marked in a snippet', async () => {
    const [alice] = await newUsers(server, 'alice');
    const { chat } = await chatWith(alice, [
      'Who brings the tent?',
      'The tent is in the car',
      'Tents are sold out',
      'bring snacks',
      'I bring the TENT and the stove',
    ]);
    expect((await search(server, alice, 'tent', { chatId: chat.id })).hits).toEqual([
      [5, 'I bring the TENT and the stove', 'I bring the «TENT» and the stove'],
      [2, 'The tent is in the car', 'The «tent» is in the car'],
      [1, 'Who brings the tent?', 'Who brings the «tent»?'],
    ]);
    expect((await search(server, alice, 'bring tent', { chatId: chat.id })).hits.map(([seq]: any) => seq)).toEqual([5]);
    expect((await search(server, alice, 'tents', { chatId: chat.id })).hits.map(([seq]: any) => seq)).toEqual([3]);
    expect((await search(server, alice, 'tents stove', { chatId: chat.id })).hits).toEqual([]);
  });

  it('cuts a long text around the first match', async () => {
    const [alice] = await newUsers(server, 'alice');
    const text = `${'Lorem ipsum dolor sit amet. '.repeat(8)}Meet at the station at eight. ${'Consectetur adipiscing elit. '.repeat(8)}`;
    await chatWith(alice, [text]);
    const [[, , snippet]] = (await search(server, alice, 'station')).hits as any;
    expect(snippet).toMatch(/^….* Meet at the «station» at eight\. .*…$/);
    expect(snippet.length).toBeLessThan(200);
  });

  it('finds words in any script: Cyrillic and Greek by case, accents folded, Chinese and Japanese inside words, and emoji with any skin tone', async () => {
    const [alice] = await newUsers(server, 'alice');
    const { chat } = await chatWith(alice, [
      'Привет, мир! Встречаемся в ПЯТНИЦУ',
      'Καλημέρα κόσμε',
      'Un café crème, s’il vous plaît',
      '我们今天去北京吃烤鸭',
      '東京タワーに行きました',
      'party tonight 🎉🎉',
      'CAFE AU LAIT',
      'nice 👍🏽',
    ]);
    const seqs = async (query: string) => (await search(server, alice, query, { chatId: chat.id })).hits.map(([seq]: any) => seq);
    expect(await seqs('пятницу')).toEqual([1]);
    expect(await seqs('МИР')).toEqual([1]);
    expect(await seqs('ΚΌΣΜΕ')).toEqual([2]);
    expect(await seqs('cafe')).toEqual([7, 3]);
    expect(await seqs('CRÈME')).toEqual([3]);
    expect(await seqs('北京')).toEqual([4]);
    expect(await seqs('烤鸭')).toEqual([4]);
    expect(await seqs('タワー')).toEqual([5]);
    expect(await seqs('東京')).toEqual([5]);
    expect(await seqs('🎉')).toEqual([6]);
    expect(await seqs('京タ')).toEqual([5]);
    expect(await seqs('👍')).toEqual([8]);
    expect(await seqs('👍🏽')).toEqual([8]);
    expect(await seqs('👍🏻')).toEqual([]);
    expect((await search(server, alice, '北京', { chatId: chat.id })).hits[0]).toEqual([4, '我们今天去北京吃烤鸭', '我们今天去«北京»吃烤鸭']);
  });

  it.each([
    ['"*" OR', 'this OR that'],
    ['NEAR(tent snack)', 'near the tent, a snack'],
    ["'; DROP TABLE \"Message\"; --", 'drop table message'],
    ['tent:* & !car', 'tent in the car'],
    ['text:tent', 'a text about a tent'],
    ['-tent', 'the tent'],
    ['"tent', 'the tent'],
    ['\\ tent', 'the tent'],
    ["it's", "it's mine"],
  ])('takes %j as plain words: finds %j, never fails', async (query, text) => {
    const [alice] = await newUsers(server, 'alice');
    const { chat } = await chatWith(alice, [text, 'nothing else']);
    const { result, hits } = await search(server, alice, query, { chatId: chat.id });
    expect(result.errors).toBeUndefined();
    expect(hits.map(([seq]: any) => seq)).toEqual([1]);
  });

  it.each([
    ['only operators', '"*" * () : ^'],
    ['nothing', ''],
    ['too many characters', 'x'.repeat(257)],
    ['too many words', Array.from({ length: 17 }, (_, i) => `w${i}`).join(' ')],
    // Refused at the edge, like any text with a NUL (src/server/limits.ts).
    ['a NUL character', 'tent\u0000'],
  ])('answers a query of %s with BAD_USER_INPUT', async (_case, query) => {
    const [alice] = await newUsers(server, 'alice');
    const { result } = await search(server, alice, query);
    // No data: null from the resolver, absent when the edge refused the request.
    expect([result.data ?? null, codes(result)]).toEqual([null, ['BAD_USER_INPUT']]);
  });

  it("searches only the caller's chats, or the one chat asked for; any other chat is NOT_FOUND", async () => {
    const [alice, bob, eve] = await newUsers(server, 'alice', 'bob', 'eve');
    const ours = await createGroup(server, alice, { name: 'Ours', members: [name(bob)] });
    const direct = await createDirect(server, alice, name(bob));
    const theirs = await createGroup(server, eve, { name: 'Theirs' });
    await send(server, alice, ours.id, 'secret plan in the group');
    await send(server, bob, direct.id, 'secret plan in private');
    await send(server, eve, theirs.id, 'secret plan of eve');
    expect((await search(server, bob, 'secret plan')).hits.map(([, text]: any) => text)).toEqual([
      'secret plan in private',
      'secret plan in the group',
    ]);
    expect((await search(server, bob, 'secret', { chatId: direct.id })).hits.map(([, text]: any) => text)).toEqual(['secret plan in private']);
    expect((await search(server, eve, 'secret')).hits.map(([, text]: any) => text)).toEqual(['secret plan of eve']);
    for (const chatId of [ours.id, await goneChatId(server, eve)]) {
      const { result } = await search(server, eve, 'secret', { chatId });
      expect([result.data, codes(result)]).toEqual([null, ['NOT_FOUND']]);
    }
  });

  it('stops finding a chat’s messages at once when the caller is removed from it', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const { chat } = await chatWith(alice, ['farewell party'], [bob]);
    expect((await search(server, bob, 'farewell')).hits).toHaveLength(1);
    await removeMember(server, alice, chat.id, name(bob));
    expect((await search(server, bob, 'farewell')).hits).toEqual([]);
  });

  it('never finds deleted or expired messages, and finds edited ones by their new words only', async () => {
    const [alice] = await newUsers(server, 'alice');
    const { chat, messages } = await chatWith(alice, ['walrus one', 'walrus two', 'walrus three']);
    ok(await server.gql(DELETE, { id: messages[0].id }, alice.token), 'deleteMessage');
    ok(await server.gql(EDIT, { input: { id: messages[1].id, text: 'narwhal two' } }, alice.token), 'editMessage');
    ok(await server.gql(SET_TTL, { chatId: chat.id, seconds: 1 }, alice.token), 'setChatMessageTtl');
    await send(server, alice, chat.id, 'walrus fading');
    expect((await search(server, alice, 'walrus')).hits.map(([, text]: any) => text)).toEqual(['walrus fading', 'walrus three']);
    await sleep(1_100);
    expect((await search(server, alice, 'walrus')).hits.map(([, text]: any) => text)).toEqual(['walrus three']);
    expect((await search(server, alice, 'narwhal')).hits.map(([, text]: any) => text)).toEqual(['narwhal two']);
  });

  it('pages through the results with first/after without gaps or repeats', async () => {
    const [alice] = await newUsers(server, 'alice');
    await chatWith(alice, Array.from({ length: 7 }, (_, i) => `otter ${i + 1}`));
    const seen: string[] = [];
    let after: string | undefined;
    for (let pages = 0; pages < 10; pages += 1) {
      const { page } = await search(server, alice, 'otter', { first: 3, after });
      seen.push(...page.edges.map((edge: any) => edge.node.message.text));
      expect(page.pageInfo.hasPreviousPage).toBe(after !== undefined);
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(['otter 7', 'otter 6', 'otter 5', 'otter 4', 'otter 3', 'otter 2', 'otter 1']);
    const { result } = await search(server, alice, 'otter', { after: 'not-a-cursor' });
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('searchMessages with a global retention', () => {
  it('never finds messages older than MESSAGE_RETENTION_SECONDS', async () => {
    const retained = await startServer(testConfig({ MESSAGE_RETENTION_SECONDS: '1', RETENTION_SWEEP_SECONDS: '3600' }));
    try {
      const [alice] = await newUsers(retained, 'alice');
      const chat = await createGroup(retained, alice, { name: 'Short memory' });
      await send(retained, alice, chat.id, 'ephemeral heron');
      expect((await search(retained, alice, 'heron')).hits).toHaveLength(1);
      await sleep(1_100);
      expect((await search(retained, alice, 'heron')).hits).toEqual([]);
    } finally {
      await retained.stop();
    }
  });
});
