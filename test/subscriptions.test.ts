import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  DELETE,
  EDIT,
  MESSAGE_FIELDS,
  addMember,
  createGroup,
  goneChatId,
  join,
  leave,
  newUsers,
  ok,
  removeMember,
  send,
  sleep,
} from './helpers/chats.ts';
import {
  PROBE,
  QUIET_MS,
  WAIT_MS,
  connect,
  errorCodes,
  live,
  liveGauges,
  messageProbe,
  prime,
  run,
  settledGauges,
  type Live,
} from './helpers/live.ts';
import { startServer, testConfig, type TestServer } from './helpers/server.ts';
import type { SignedUp } from './helpers/users.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

const MESSAGE_ADDED = /* GraphQL */ `
  subscription MessageAdded($chatId: ID, $afterSeq: Int) {
    messageAdded(chatId: $chatId, afterSeq: $afterSeq) { ...MessageFields }
  }
  ${MESSAGE_FIELDS}
`;
const MESSAGE_EDITED = /* GraphQL */ `
  subscription MessageEdited($chatId: ID) { messageEdited(chatId: $chatId) { ...MessageFields } }
  ${MESSAGE_FIELDS}
`;
const MESSAGE_DELETED = /* GraphQL */ `
  subscription MessageDeleted($chatId: ID) { messageDeleted(chatId: $chatId) { id chatId seq } }
`;
const TYPING = /* GraphQL */ `
  subscription Typing($chatId: ID!) { typing(chatId: $chatId) { chat { id } user { username } typing } }
`;
const USER_STATUS = /* GraphQL */ `
  subscription UserStatus($userIds: [ID!]) { userStatus(userIds: $userIds) { user { id username } online lastSeenAt } }
`;

const name = (user: SignedUp) => user.user.username;
const seqs = (events: { seq: number }[]) => events.map((event) => event.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function group(owner: SignedUp, ...others: SignedUp[]) {
  return createGroup(server, owner, { name: 'Live', members: others.map(name) });
}

async function edit(user: SignedUp, id: string, text: string) {
  return ok(await server.gql(EDIT, { input: { id, text } }, user.token), 'editMessage');
}

async function remove(user: SignedUp, id: string) {
  return ok(await server.gql(DELETE, { id }, user.token), 'deleteMessage');
}

/** Sends a message, edits it and deletes it: one event of each kind. */
async function activity(user: SignedUp, chatId: string, text: string) {
  const added = await send(server, user, chatId, text);
  const edited = await edit(user, added.id, `${text} (edited)`);
  const deleted = await remove(user, added.id);
  return { added, edited, deleted };
}

describe('messageAdded', () => {
  it('delivers each new message of a chat to every subscribed member, the sender included, in seq order', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await group(alice, bob);
    const probe = messageProbe(server, alice, chat.id);
    const subs = await Promise.all(
      [alice, bob].map(async (user) =>
        live((await connect(server, user)).client, MESSAGE_ADDED, { chatId: chat.id }, { ignore: probe.ignore }),
      ),
    );
    await prime(subs, probe.poke);

    const sent = [
      await send(server, alice, chat.id, 'one'),
      await send(server, bob, chat.id, 'two'),
      await send(server, alice, chat.id, 'three'),
    ];
    for (const sub of subs) expect(await sub.take(3)).toEqual(sent);
    expect(seqs(sent)).toEqual([sent[0].seq, sent[0].seq + 1, sent[0].seq + 2]);
    await sleep(QUIET_MS);
    for (const sub of subs) expect(sub.fresh).toEqual([]);
  });

  it('resolves payload fields as the subscriber, through the same resolvers as queries', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await group(alice, bob);
    const probe = messageProbe(server, alice, chat.id);
    const query = /* GraphQL */ `
      subscription($chatId: ID) {
        messageAdded(chatId: $chatId) { text author { username email } chat { id myRole unreadCount } }
      }
    `;
    const [forAlice, forBob] = await Promise.all(
      [alice, bob].map(async (user) => live((await connect(server, user)).client, query, { chatId: chat.id }, probe)),
    );
    await prime([forAlice!, forBob!], probe.poke);

    await send(server, alice, chat.id, 'whose view?');
    expect(await forAlice!.next()).toEqual({
      text: 'whose view?',
      author: { username: name(alice), email: alice.user.email },
      chat: { id: chat.id, myRole: 'OWNER', unreadCount: 0 },
    });
    expect(await forBob!.next()).toEqual({
      text: 'whose view?',
      author: { username: name(alice), email: null },
      chat: { id: chat.id, myRole: 'MEMBER', unreadCount: 1 },
    });
  });

  it('in the all-chats form delivers the messages of every chat of the caller and none of other chats', async () => {
    const [sam, olga, nina] = await newUsers(server, 'sam', 'olga', 'nina');
    const first = await group(olga, sam);
    const second = await createGroup(server, nina, { name: 'Second', members: [name(sam), name(olga)] });
    const elsewhere = await group(olga, nina);
    const probe = messageProbe(server, olga, first.id);
    const sub = live((await connect(server, sam)).client, MESSAGE_ADDED, {}, probe);
    await prime([sub], probe.poke);

    await send(server, olga, elsewhere.id, 'not for sam');
    const inSecond = await send(server, nina, second.id, 'in second');
    const inFirst = await send(server, olga, first.id, 'in first');
    expect(await sub.take(2)).toEqual([inSecond, inFirst]);
    await sleep(QUIET_MS);
    expect(sub.fresh).toEqual([]);
  });

  it('in the all-chats form starts delivering chats the caller joins after subscribing', async () => {
    const [sam, olga] = await newUsers(server, 'sam', 'olga');
    const home = await group(olga, sam);
    const probe = messageProbe(server, olga, home.id);
    const client = (await connect(server, sam)).client;
    const added = live(client, MESSAGE_ADDED, {}, probe);
    const edited = live(client, MESSAGE_EDITED, {}, probe);
    const deleted = live(client, MESSAGE_DELETED, {}, probe);
    await prime([added, edited, deleted], probe.poke);

    // Created with sam as a member.
    const created = await group(olga, sam);
    const inCreated = await activity(olga, created.id, 'in created');
    expect(await added.next()).toEqual(inCreated.added);
    expect(await edited.next()).toEqual(inCreated.edited);
    expect(await deleted.next()).toEqual(inCreated.deleted);

    // Added by the owner.
    const later = await group(olga);
    await send(server, olga, later.id, 'before sam was added');
    await addMember(server, olga, later.id, name(sam));
    const inLater = await activity(olga, later.id, 'after sam was added');
    expect(await added.next()).toEqual(inLater.added);
    expect(await edited.next()).toEqual(inLater.edited);
    expect(await deleted.next()).toEqual(inLater.deleted);

    // Joined by sam.
    const open = await createGroup(server, olga, { name: 'Open', isPublic: true });
    await send(server, olga, open.id, 'before sam joined');
    await join(server, sam, open.id);
    const inOpen = await activity(olga, open.id, 'after sam joined');
    expect(await added.next()).toEqual(inOpen.added);
    expect(await edited.next()).toEqual(inOpen.edited);
    expect(await deleted.next()).toEqual(inOpen.deleted);

    await sleep(QUIET_MS);
    expect([added.fresh, edited.fresh, deleted.fresh]).toEqual([[], [], []]);
  });
});

describe('shared execution', () => {
  it("gives each subscriber its own view of a direct chat's name and of clientId, even for one shared operation", async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = ok(await server.gql(/* GraphQL */ `mutation($u: String!) { createDirectChat(username: $u) { id } }`, { u: name(bob) }, alice.token), 'createDirectChat');
    const probe = messageProbe(server, alice, chat.id);
    const query = /* GraphQL */ `
      subscription Direct($chatId: ID) { messageAdded(chatId: $chatId) { text clientId chat { name kind } } }
    `;
    const [forAlice, forBob] = await Promise.all(
      [alice, bob].map(async (user) => live((await connect(server, user)).client, query, { chatId: chat.id }, probe)),
    );
    await prime([forAlice!, forBob!], probe.poke);

    await send(server, alice, chat.id, 'hi bob', 'alice-key-1');
    expect(await forAlice!.next()).toEqual({ text: 'hi bob', clientId: 'alice-key-1', chat: { name: name(bob), kind: 'DIRECT' } });
    expect(await forBob!.next()).toEqual({ text: 'hi bob', clientId: null, chat: { name: name(alice), kind: 'DIRECT' } });
  });

  it('shows the author\'s email only to the author, even for one shared operation', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await group(alice, bob);
    const probe = messageProbe(server, alice, chat.id);
    const query = /* GraphQL */ `
      subscription WithEmail($chatId: ID) { messageAdded(chatId: $chatId) { text author { username email } } }
    `;
    const [forAlice, forBob] = await Promise.all(
      [alice, bob].map(async (user) => live((await connect(server, user)).client, query, { chatId: chat.id }, probe)),
    );
    await prime([forAlice!, forBob!], probe.poke);

    await send(server, alice, chat.id, 'from alice');
    await send(server, bob, chat.id, 'from bob');
    const author = (user: SignedUp, email: string | null) => ({ username: name(user), email });
    expect(await forAlice!.take(2)).toEqual([
      { text: 'from alice', author: author(alice, alice.user.email) },
      { text: 'from bob', author: author(bob, null) },
    ]);
    expect(await forBob!.take(2)).toEqual([
      { text: 'from alice', author: author(alice, null) },
      { text: 'from bob', author: author(bob, bob.user.email) },
    ]);
  });

  it("gives subscribers of one shared operation only their own chats' messages, and one unsubscribing ends only its own", async () => {
    const [ann, ben, cat] = await newUsers(server, 'ann', 'ben', 'cat');
    const shared = await group(ann, ben);
    const annAndCat = await group(cat, ann);
    const probe = messageProbe(server, ann, shared.id);
    // The same document and variables: one execution per event serves both.
    const [forAnn, forBen] = await Promise.all(
      [ann, ben].map(async (user) => live((await connect(server, user)).client, MESSAGE_ADDED, {}, probe)),
    );
    await prime([forAnn!, forBen!], probe.poke);

    const notForBen = await send(server, cat, annAndCat.id, 'not for ben');
    const forBoth = await send(server, ben, shared.id, 'for both');
    expect(await forAnn!.take(2)).toEqual([notForBen, forBoth]);
    expect(await forBen!.take(1)).toEqual([forBoth]);

    forBen!.unsubscribe();
    const afterBen = await send(server, ann, shared.id, 'after ben unsubscribed');
    expect(await forAnn!.next()).toEqual(afterBen);
    await sleep(QUIET_MS);
    expect([forAnn!.fresh, forBen!.fresh]).toEqual([[], []]);
  });
});

describe('event errors', () => {
  it('delivers an event whose execution fails as a result with the contract error code, and keeps the subscription', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await group(alice, bob);
    const probe = messageProbe(server, alice, chat.id);
    // A page size over the maximum fails in every event's execution.
    const query = /* GraphQL */ `
      subscription($chatId: ID) { messageAdded(chatId: $chatId) { text chat { messages(first: 1000) { edges { cursor } } } } }
    `;
    const sub = live((await connect(server, bob)).client, query, { chatId: chat.id });
    await prime([sub], probe.poke);
    const before = sub.results.length;

    await send(server, alice, chat.id, 'one');
    await send(server, alice, chat.id, 'two');
    await sub.until(() => sub.results.length >= before + 2);
    const failed = sub.results.slice(before);
    expect(failed.map((result) => errorCodes((result.errors ?? []) as never))).toEqual([['BAD_USER_INPUT'], ['BAD_USER_INPUT']]);
    expect(sub.ended).toBe(false);
  });
});

describe('server-sent events', () => {
  /** The `data` of each server-sent event of a streaming response, parsed, as it arrives. */
  async function* sseData(response: Response) {
    const decoder = new TextDecoder();
    let buffer = '';
    const reader = response.body!.getReader();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      buffer += decoder.decode(chunk.value, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const lines = buffer.slice(0, end).split('\n');
        buffer = buffer.slice(end + 2);
        const data = lines.filter((line) => line.startsWith('data:')).map((line) => line.slice(5));
        if (data.length > 0) yield JSON.parse(data.join('\n'));
      }
    }
  }

  it('delivers messageAdded over server-sent events (how GraphiQL subscribes), in order and only to members', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await group(alice, bob);
    const elsewhere = await group(alice);
    const aborted = new AbortController();
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${bob.token}` },
      body: JSON.stringify({ query: MESSAGE_ADDED, variables: {} }),
      signal: aborted.signal,
    });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const texts: string[] = [];
    const reading = (async () => {
      for await (const result of sseData(response)) texts.push(result.data?.messageAdded?.text ?? JSON.stringify(result));
    })().catch(() => undefined);
    try {
      // No acknowledgement here either: send probes until one arrives.
      for (let probe = 1; texts.length === 0; probe += 1) {
        if (probe > 30) throw new Error('the server-sent events subscription never became live');
        await send(server, alice, chat.id, `${PROBE}${probe}`);
        await sleep(100);
      }
      const probes = texts.length;
      await send(server, alice, elsewhere.id, 'not for bob');
      for (const text of ['one', 'two', 'three']) await send(server, alice, chat.id, text);
      const deadline = Date.now() + WAIT_MS;
      while (texts.length < probes + 3 && Date.now() < deadline) await sleep(20);
      await sleep(QUIET_MS);
      expect(texts.slice(probes).filter((text) => !text.startsWith(PROBE))).toEqual(['one', 'two', 'three']);
    } finally {
      aborted.abort();
      await reading;
    }
  });
});

describe('membership changes during a subscription', () => {
  /**
   * `member`, subscribed to `chat` in both forms and to `anchor` (another chat
   * of theirs) through the all-chats form; `end` takes them out of `chat`.
   * Afterwards the chat's activity must reach none of their subscriptions,
   * while the anchor chat's activity (which comes after) still does.
   */
  async function expectCutOff(owner: SignedUp, member: SignedUp, end: (chatId: string) => Promise<unknown>) {
    const chat = await group(owner, member);
    const anchor = await group(owner, member);
    const old = await send(server, owner, chat.id, 'old');
    const probe = messageProbe(server, owner, chat.id);
    const client = (await connect(server, member)).client;
    const oneChat = [MESSAGE_ADDED, MESSAGE_EDITED, MESSAGE_DELETED].map((query) =>
      live(client, query, { chatId: chat.id }, probe),
    );
    const allChats = [MESSAGE_ADDED, MESSAGE_EDITED, MESSAGE_DELETED].map((query) => live(client, query, {}, probe));
    await prime([...oneChat, ...allChats], probe.poke);

    await end(chat.id);
    await edit(owner, old.id, 'old, edited after they left');
    await remove(owner, old.id);
    await activity(owner, chat.id, 'after they left');
    const inAnchor = await activity(owner, anchor.id, 'anchor');

    const [added, edited, deleted] = allChats as [Live, Live, Live];
    expect(await added.next()).toEqual(inAnchor.added);
    expect(await edited.next()).toEqual(inAnchor.edited);
    expect(await deleted.next()).toEqual(inAnchor.deleted);
    await sleep(QUIET_MS);
    // The one-chat form may complete or stay silent: either way, no event.
    for (const sub of [...oneChat, ...allChats]) expect(sub.fresh).toEqual([]);
    // Not even as an error: nothing of the chat reached them.
    for (const sub of [...oneChat, ...allChats]) expect(sub.errors()).toEqual([]);
  }

  it('a member removed mid-subscription receives no further event of that chat', async () => {
    const [owner, member] = await newUsers(server, 'owner', 'removed');
    await expectCutOff(owner, member, (chatId) => removeMember(server, owner, chatId, name(member)));
  });

  it('a member who leaves receives no further event of that chat', async () => {
    const [owner, member] = await newUsers(server, 'owner', 'leaver');
    await expectCutOff(owner, member, (chatId) => leave(server, member, chatId));
  });
});

describe('refusals', () => {
  it.each([
    ['messageAdded', MESSAGE_ADDED],
    ['messageEdited', MESSAGE_EDITED],
    ['messageDeleted', MESSAGE_DELETED],
  ])("refuses %s for a chat the caller is not in, or that does not exist, with NOT_FOUND", async (_name, query) => {
    const [alice, bob, eve] = await newUsers(server, 'alice', 'bob', 'eve');
    const chat = await group(alice, bob);
    const socket = await connect(server, eve);
    expect(errorCodes(await live(socket.client, query, { chatId: chat.id }).failure())).toEqual(['NOT_FOUND']);
    const gone = await goneChatId(server, alice);
    expect(errorCodes(await live(socket.client, query, { chatId: gone }).failure())).toEqual(['NOT_FOUND']);
    // A refused subscription leaves the socket usable.
    expect(socket.isClosed()).toBe(false);
    expect(await run(socket.client, '{ me { username } }')).toEqual({ data: { me: { username: name(eve) } } });
  });

  it('a refused non-member receives nothing when the chat gets messages', async () => {
    const [alice, eve] = await newUsers(server, 'alice', 'eve');
    const chat = await group(alice);
    const own = await group(eve);
    const probe = messageProbe(server, eve, own.id);
    const client = (await connect(server, eve)).client;
    const refused = live(client, MESSAGE_ADDED, { chatId: chat.id });
    const mine = live(client, MESSAGE_ADDED, {}, probe);
    await refused.failure();
    await prime([mine], probe.poke);
    await send(server, alice, chat.id, 'secret');
    const visible = await send(server, eve, own.id, 'visible');
    expect(await mine.next()).toEqual(visible);
    await sleep(QUIET_MS);
    expect(refused.events).toEqual([]);
    expect(mine.fresh).toEqual([]);
  });

  it('refuses afterSeq without chatId with BAD_USER_INPUT', async () => {
    const [alice] = await newUsers(server, 'alice');
    const client = (await connect(server, alice)).client;
    expect(errorCodes(await live(client, MESSAGE_ADDED, { afterSeq: 3 }).failure())).toEqual(['BAD_USER_INPUT']);
  });
});

describe('messageEdited and messageDeleted', () => {
  it('messageEdited delivers the edited message in the one-chat and all-chats forms, to members only', async () => {
    const [alice, bob, eve] = await newUsers(server, 'alice', 'bob', 'eve');
    const chat = await group(alice, bob);
    const other = await group(alice, eve);
    const original = await send(server, alice, chat.id, 'typo');
    const otherMessage = await send(server, alice, other.id, 'not for bob');
    const probe = messageProbe(server, alice, chat.id);
    const client = (await connect(server, bob)).client;
    const subs = [live(client, MESSAGE_EDITED, { chatId: chat.id }, probe), live(client, MESSAGE_EDITED, {}, probe)];
    await prime(subs, probe.poke);

    await edit(alice, otherMessage.id, 'still not for bob');
    const edited = await edit(alice, original.id, 'fixed');
    expect(edited).toEqual({ ...original, text: 'fixed', isEdited: true, editedAt: expect.any(String) });
    for (const sub of subs) expect(await sub.next()).toEqual(edited);
    await sleep(QUIET_MS);
    for (const sub of subs) expect(sub.fresh).toEqual([]);
  });

  it('messageDeleted delivers { id, chatId, seq } with global ids in the one-chat and all-chats forms', async () => {
    const [alice, bob, eve] = await newUsers(server, 'alice', 'bob', 'eve');
    const chat = await group(alice, bob);
    const other = await group(alice, eve);
    const doomed = await send(server, bob, chat.id, 'doomed');
    const otherMessage = await send(server, alice, other.id, 'not for bob');
    const probe = messageProbe(server, alice, chat.id);
    const client = (await connect(server, bob)).client;
    const subs = [live(client, MESSAGE_DELETED, { chatId: chat.id }, probe), live(client, MESSAGE_DELETED, {}, probe)];
    await prime(subs, probe.poke);

    await remove(alice, otherMessage.id);
    expect(await remove(bob, doomed.id)).toEqual({ id: doomed.id, chatId: chat.id, seq: doomed.seq });
    for (const sub of subs) expect(await sub.next()).toEqual({ id: doomed.id, chatId: chat.id, seq: doomed.seq });
    await sleep(QUIET_MS);
    for (const sub of subs) expect(sub.fresh).toEqual([]);
  });

  it('announces a message deleted by several concurrent deletes once', async () => {
    const [owner, member] = await newUsers(server, 'owner', 'member');
    const chat = await group(owner, member);
    const probe = messageProbe(server, owner, chat.id);
    const deleted = live((await connect(server, member)).client, MESSAGE_DELETED, { chatId: chat.id }, probe);
    await prime([deleted], probe.poke);

    const message = await send(server, owner, chat.id, 'deleted six times at once');
    await Promise.all(Array.from({ length: 6 }, () => server.gql(DELETE, { id: message.id }, owner.token)));
    const later = await send(server, owner, chat.id, 'later');
    await remove(owner, later.id);
    expect(await deleted.take(2)).toEqual([
      { id: message.id, chatId: chat.id, seq: message.seq },
      { id: later.id, chatId: chat.id, seq: later.seq },
    ]);
  });

  it('retention deletions arrive as messageDeleted', async () => {
    const shortLived = await startServer(testConfig({ MESSAGE_RETENTION_SECONDS: '1', RETENTION_SWEEP_SECONDS: '0.2' }));
    try {
      const [alice, bob] = await Promise.all(
        ['alice', 'bob'].map(async (prefix) => (await newUsers(shortLived, prefix))[0]!),
      );
      const chat = await createGroup(shortLived, alice!, { name: 'Ephemeral', members: [name(bob!)] });
      const probe = messageProbe(shortLived, alice!, chat.id);
      const client = (await connect(shortLived, bob!)).client;
      const subs = [live(client, MESSAGE_DELETED, { chatId: chat.id }, probe), live(client, MESSAGE_DELETED, {}, probe)];
      await prime(subs, probe.poke);

      const sent = [
        await send(shortLived, alice!, chat.id, 'fades'),
        await send(shortLived, bob!, chat.id, 'fades too'),
      ];
      const expected = sent.map((message) => ({ id: message.id, chatId: chat.id, seq: message.seq }));
      for (const sub of subs) {
        const events = await sub.take(2, 5_000);
        expect([...events].sort((a, b) => a.seq - b.seq)).toEqual(expected);
      }
      await sleep(QUIET_MS);
      for (const sub of subs) expect(sub.fresh).toEqual([]);
    } finally {
      await shortLived.stop();
    }
  });
});

describe('afterSeq', () => {
  it('replays the stored messages after afterSeq in seq order, then continues live', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await group(alice, bob);
    const stored = [];
    for (const text of ['m1', 'm2', 'm3', 'm4', 'm5']) stored.push(await send(server, alice, chat.id, text));
    const sub = live((await connect(server, bob)).client, MESSAGE_ADDED, { chatId: chat.id, afterSeq: 2 });
    expect(await sub.take(3)).toEqual(stored.slice(2));
    const more = [await send(server, bob, chat.id, 'm6'), await send(server, alice, chat.id, 'm7')];
    expect(await sub.take(2)).toEqual(more);
    await sleep(QUIET_MS);
    expect(seqs(sub.events)).toEqual([3, 4, 5, 6, 7]);
  });

  it('replays everything with afterSeq 0 and nothing with afterSeq at the newest seq', async () => {
    const [alice] = await newUsers(server, 'alice');
    const chat = await group(alice);
    const stored = [await send(server, alice, chat.id, 'a'), await send(server, alice, chat.id, 'b')];
    const client = (await connect(server, alice)).client;
    const all = live(client, MESSAGE_ADDED, { chatId: chat.id, afterSeq: 0 });
    const none = live(client, MESSAGE_ADDED, { chatId: chat.id, afterSeq: 2 });
    expect(await all.take(2)).toEqual(stored);
    // A message sent after subscribing is either replayed or delivered live: no readiness race.
    const next = await send(server, alice, chat.id, 'c');
    expect(await none.next()).toEqual(next);
    expect(await all.next()).toEqual(next);
    await sleep(QUIET_MS);
    expect([seqs(all.events), seqs(none.events)]).toEqual([[1, 2, 3], [3]]);
  });

  it('delivers each seq exactly once when messages are sent during the replay', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await group(alice, bob);
    for (let batch = 0; batch < 10; batch += 1) {
      await Promise.all(range(1, 20).map((i) => send(server, alice, chat.id, `stored ${batch * 20 + i}`)));
    }
    const client = (await connect(server, bob)).client;
    const sub = live(client, MESSAGE_ADDED, { chatId: chat.id, afterSeq: 50 });
    const sendLive = (i: number) => send(server, i % 2 ? alice : bob, chat.id, `live ${i}`);
    // Half race the subscription's start, half are sent once the replay is under way.
    const firstWave = Promise.all(range(1, 10).map(sendLive));
    await sub.until(() => sub.events.length > 0, 5_000);
    const secondWave = Promise.all(range(11, 20).map(sendLive));
    const concurrent = [...(await firstWave), ...(await secondWave)];
    expect(seqs(concurrent).sort((a, b) => a - b)).toEqual(range(201, 220));

    const events = await sub.take(170, 10_000);
    await sleep(QUIET_MS);
    expect(sub.fresh).toEqual([]);
    expect(new Set(seqs(events)).size).toBe(170);
    expect(seqs(events).sort((a, b) => a - b)).toEqual(range(51, 220));
    // The stored part comes first, in order.
    expect(seqs(events.slice(0, 150))).toEqual(range(51, 200));
    for (const event of events.slice(0, 150)) expect(event.text).toMatch(/^stored /);
    // Each event is the message as stored.
    const bySeq = new Map(concurrent.map((message) => [message.seq, message]));
    for (const event of events.slice(150)) expect(event).toEqual(bySeq.get(event.seq));
  });
});

describe('cleanup', () => {
  it('subscription, socket and listener gauges return to their baseline after 50 subscribe/unsubscribe cycles', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await group(alice, bob);
    await send(server, alice, chat.id, 'replayed to every subscription');
    const baseline = await settledGauges(server);
    expect(baseline).toEqual({
      messenger_websockets: expect.any(Number),
      messenger_subscriptions: expect.any(Number),
      messenger_chat_subscribers: expect.any(Number),
      messenger_event_listeners: expect.any(Number),
    });

    const subscribeAll = (client: Parameters<typeof live>[0]) => [
      live(client, MESSAGE_ADDED, { chatId: chat.id, afterSeq: 0 }),
      live(client, MESSAGE_ADDED, {}),
      live(client, MESSAGE_EDITED, { chatId: chat.id }),
      live(client, MESSAGE_DELETED, {}),
      live(client, TYPING, { chatId: chat.id }),
      live(client, USER_STATUS, {}),
      live(client, USER_STATUS, { userIds: [bob.user.id] }),
    ];

    const socket = await connect(server, alice);
    for (let cycle = 0; cycle < 50; cycle += 1) {
      const subs = subscribeAll(socket.client);
      // Every other cycle waits for the replay (the subscription is running on
      // the server); the rest unsubscribe at once, racing the server's setup.
      if (cycle % 2 === 0) await subs[0]!.take(1);
      if (cycle === 0) {
        await vi.waitFor(
          async () => {
            const during = await liveGauges(server);
            expect(during.messenger_websockets).toBe(baseline.messenger_websockets + 1);
            expect(during.messenger_subscriptions).toBeGreaterThanOrEqual(baseline.messenger_subscriptions + subs.length);
            // The five chat feeds; the two userStatus feeds listen to the bus themselves.
            expect(during.messenger_chat_subscribers).toBe(baseline.messenger_chat_subscribers + 5);
            expect(during.messenger_event_listeners).toBeGreaterThan(baseline.messenger_event_listeners);
          },
          { timeout: 3_000, interval: 50 },
        );
      }
      for (const sub of subs) sub.unsubscribe();
    }
    // Sockets that close with subscriptions open.
    for (let cycle = 0; cycle < 10; cycle += 1) {
      const other = await connect(server, cycle % 2 ? alice : bob);
      const subs = subscribeAll(other.client);
      await subs[0]!.take(1);
      await other.client.dispose();
    }
    await socket.client.dispose();

    await vi.waitFor(async () => expect(await liveGauges(server)).toEqual(baseline), { timeout: 5_000, interval: 100 });
    // Events still flow to new subscribers afterwards.
    const client = (await connect(server, bob)).client;
    const after = live(client, MESSAGE_ADDED, { chatId: chat.id, afterSeq: 1 });
    const message = await send(server, alice, chat.id, 'after the cycles');
    expect(await after.next()).toEqual(message);
  });
});
