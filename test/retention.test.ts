import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EDIT,
  SET_TTL,
  codes,
  createDirect,
  createGroup,
  newUsers,
  ok,
  reply,
  send,
  sleep,
  texts,
} from './helpers/chats.ts';
import { connect, live, prime } from './helpers/live.ts';
import { startServer, testConfig, type TestServer } from './helpers/server.ts';
import type { SignedUp } from './helpers/users.ts';

// Timing is asserted loosely on purpose: a TTL of 1 s must be gone after 2.5 s.
// The checks that a message is there before it expires read it right after
// sending, one request later, to stay far inside the 1 s on a busy machine.
const PAST_TTL_MS = 2_500;

/** Per-chat TTLs with a sweeper running five times a second; no global retention. */
let server: TestServer;
beforeAll(async () => {
  server = await startServer(testConfig({ RETENTION_SWEEP_SECONDS: '0.2' }));
});
afterAll(() => server.stop());

const name = (user: SignedUp) => user.user.username;

const LAST_MESSAGE = /* GraphQL */ `query($id: ID!) { chat(id: $id) { lastMessage { text } } }`;
const CHAT_MESSAGES = /* GraphQL */ `query($id: ID!) { chat(id: $id) { messages { edges { node { text } } } } }`;

async function setTtl(target: TestServer, caller: SignedUp, chatId: string, seconds: number | null) {
  return ok(await target.gql(SET_TTL, { chatId, seconds }, caller.token), 'setChatMessageTtl');
}

/** Everything a reader could be served a message through: history, Chat.messages and lastMessage. */
async function servedTexts(target: TestServer, reader: SignedUp, chatId: string) {
  const nested = ok(await target.gql(CHAT_MESSAGES, { id: chatId }, reader.token), 'chat');
  const last = ok(await target.gql(LAST_MESSAGE, { id: chatId }, reader.token), 'chat');
  return {
    history: await texts(target, reader, chatId),
    chatMessages: nested.messages.edges.map((edge: any) => edge.node.text),
    lastMessage: last.lastMessage?.text ?? null,
  };
}

const served = (list: string[]) => ({ history: list, chatMessages: list, lastMessage: list.at(-1) ?? null });

describe('per-chat message TTL', () => {
  it('announces the message an expired reply answered, with its new replyCount, when the sweeper removes the reply', async () => {
    const [alice] = await newUsers(server, 'alice');
    const chat = await createGroup(server, alice, { name: 'Fading threads' });
    const question = await send(server, alice, chat.id, 'question');
    const client = (await connect(server, alice)).client;
    const updated = live(client, `subscription($chatId: ID) { messageUpdated(chatId: $chatId) { id replyCount } }`, { chatId: chat.id });
    const probe = await send(server, alice, chat.id, 'probe');
    await prime([updated], () => server.gql(EDIT, { input: { id: probe.id, text: `probe ${Date.now()}` } }, alice.token));
    await setTtl(server, alice, chat.id, 1);
    await reply(server, alice, chat.id, question.id, 'short-lived answer');
    await updated.until(() => updated.fresh.some((event) => event.id === question.id && event.replyCount === 0), PAST_TTL_MS + 3_000);
    expect(updated.fresh.filter((event) => event.id === question.id)).toEqual([
      { id: question.id, replyCount: 1 },
      { id: question.id, replyCount: 0 },
    ]);
  });

  it('expires the messages sent while the TTL was set, only in that chat', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const shortLived = await createGroup(server, alice, { name: 'Disappearing', members: [name(bob)] });
    const other = await createGroup(server, alice, { name: 'Lasting', members: [name(bob)] });

    await send(server, alice, shortLived.id, 'sent before the TTL');
    expect((await setTtl(server, alice, shortLived.id, 1)).messageTtlSeconds).toBe(1);
    await send(server, bob, shortLived.id, 'sent with the TTL');
    expect((await setTtl(server, alice, shortLived.id, null)).messageTtlSeconds).toBeNull();
    await send(server, bob, shortLived.id, 'sent after clearing it');
    await send(server, bob, other.id, 'in another chat');

    expect(await texts(server, bob, shortLived.id)).toEqual([
      'sent before the TTL',
      'sent with the TTL',
      'sent after clearing it',
    ]);

    await sleep(PAST_TTL_MS);
    expect(await servedTexts(server, bob, shortLived.id)).toEqual(served(['sent before the TTL', 'sent after clearing it']));
    expect(await servedTexts(server, alice, other.id)).toEqual(served(['in another chat']));
  });

  it('expires messages in a direct chat whose TTL either member set', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await createDirect(server, alice, name(bob));
    await setTtl(server, bob, chat.id, 1);
    const message = await send(server, alice, chat.id, 'self-destructs');
    expect(message.seq).toBe(1);
    expect(await texts(server, bob, chat.id)).toEqual(['self-destructs']);

    await sleep(PAST_TTL_MS);
    expect(await servedTexts(server, bob, chat.id)).toEqual(served([]));
    // Expired messages keep their seq: the next one is 2.
    expect((await send(server, bob, chat.id, 'still here?')).seq).toBe(2);
  });

  it('accepts 1 to 31536000 seconds or null and refuses 0, -1 and 31536001 with BAD_USER_INPUT', async () => {
    const [alice] = await newUsers(server, 'alice');
    const chat = await createGroup(server, alice, { name: 'Limits' });
    expect((await setTtl(server, alice, chat.id, 31_536_000)).messageTtlSeconds).toBe(31_536_000);
    for (const seconds of [0, -1, 31_536_001]) {
      const result = await server.gql(SET_TTL, { chatId: chat.id, seconds }, alice.token);
      expect(result.data).toBeNull();
      expect(codes(result)).toEqual(['BAD_USER_INPUT']);
    }
    const CHAT_TTL = /* GraphQL */ `query($id: ID!) { chat(id: $id) { messageTtlSeconds } }`;
    expect(ok(await server.gql(CHAT_TTL, { id: chat.id }, alice.token), 'chat')).toEqual({ messageTtlSeconds: 31_536_000 });
    expect((await setTtl(server, alice, chat.id, 1)).messageTtlSeconds).toBe(1);
    expect((await setTtl(server, alice, chat.id, null)).messageTtlSeconds).toBeNull();
  });
});

describe('global retention (MESSAGE_RETENTION_SECONDS)', () => {
  it("removes every chat's messages once they are older than the retention, and seqs go on", async () => {
    const swept = await startServer(testConfig({ MESSAGE_RETENTION_SECONDS: '1', RETENTION_SWEEP_SECONDS: '0.2' }));
    try {
      const [alice, bob] = await newUsers(swept, 'alice', 'bob');
      const group = await createGroup(swept, alice, { name: 'Ephemeral', members: [name(bob)] });
      const direct = await createDirect(swept, alice, name(bob));
      await send(swept, alice, group.id, 'group message');
      expect(await texts(swept, bob, group.id)).toEqual(['group message']);
      await send(swept, bob, direct.id, 'direct message');

      await sleep(PAST_TTL_MS);
      expect(await servedTexts(swept, bob, group.id)).toEqual(served([]));
      expect(await servedTexts(swept, alice, direct.id)).toEqual(served([]));
      expect((await send(swept, alice, group.id, 'a new one')).seq).toBe(2);
      expect(await texts(swept, bob, group.id)).toEqual(['a new one']);
    } finally {
      await swept.stop();
    }
  });
});

describe('between sweeps', () => {
  it('does not serve messages past the global retention before the sweeper has run', async () => {
    const idle = await startServer(testConfig({ MESSAGE_RETENTION_SECONDS: '1', RETENTION_SWEEP_SECONDS: '3600' }));
    try {
      const [alice, bob] = await newUsers(idle, 'alice', 'bob');
      const chat = await createDirect(idle, alice, name(bob));
      await send(idle, alice, chat.id, 'stale soon');
      expect(await texts(idle, bob, chat.id)).toEqual(['stale soon']);
      await sleep(PAST_TTL_MS);
      expect(await servedTexts(idle, bob, chat.id)).toEqual(served([]));
    } finally {
      await idle.stop();
    }
  });

  it('does not serve messages past a chat TTL before the sweeper has run', async () => {
    const idle = await startServer(testConfig({ RETENTION_SWEEP_SECONDS: '3600' }));
    try {
      const [alice, bob] = await newUsers(idle, 'alice', 'bob');
      const shortLived = await createGroup(idle, alice, { name: 'Short', members: [name(bob)] });
      const lasting = await createGroup(idle, alice, { name: 'Long', members: [name(bob)] });
      await setTtl(idle, alice, shortLived.id, 1);
      await send(idle, alice, shortLived.id, 'stale soon');
      await send(idle, alice, lasting.id, 'kept');
      await sleep(PAST_TTL_MS);
      expect(await servedTexts(idle, bob, shortLived.id)).toEqual(served([]));
      expect(await servedTexts(idle, bob, lasting.id)).toEqual(served(['kept']));
    } finally {
      await idle.stop();
    }
  });
});
