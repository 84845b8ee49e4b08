import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendMessage, type NewMessage } from '../src/db/append-message.ts';
import { openDatabase, type Db } from '../src/db/client.ts';
import { sweepExpired } from '../src/domain/retention.ts';
import type { EventBus } from '../src/events.ts';
import {
  ADD_REACTION,
  CREATE_DIRECT,
  LEAVE,
  SEND,
  addMember,
  codes,
  createGroup,
  databaseId,
  history,
  newUsers,
  ok,
  readChat,
  send,
  sleep,
  texts,
  tick,
  uniqueName,
} from './helpers/chats.ts';
import { freshDatabaseUrl, startServer, testConfig, testProvider, type TestServer } from './helpers/server.ts';
import { signUp, type SignedUp } from './helpers/users.ts';

// SQLite has one writer, so these races are Postgres' (READ COMMITTED, a pool
// of connections, several instances on one database). On Postgres the
// requests go through two app instances sharing the database, as behind a
// load balancer. SQLite is one instance per database file: there both names
// are the same server, and the requests still run concurrently.
const postgres = testProvider() === 'postgresql';
let a: TestServer;
let b: TestServer;

beforeAll(async () => {
  if (!postgres) {
    a = b = await startServer();
    return;
  }
  // Both instances start at once on an empty database: one applies the
  // migrations, the other waits for it (the engine's advisory lock).
  const url = freshDatabaseUrl();
  [a, b] = await Promise.all([1, 2].map(() => startServer(testConfig({ DATABASE_URL: url })))) as [TestServer, TestServer];
});

afterAll(async () => {
  await Promise.all([a?.stop(), b !== a ? b?.stop() : undefined]);
});

/** Alternates between the two instances. */
const via = (i: number) => (i % 2 === 0 ? a : b);

/** A send as appendMessage takes it: no reply, no mentions, no words to index. */
const plain = (message: Pick<NewMessage, 'chatId' | 'authorId' | 'text' | 'clientId' | 'now'>): NewMessage => ({
  replyToId: null,
  searchText: '',
  mentionKeys: [],
  createdAfter: null,
  ...message,
});

describe('concurrent sends', () => {
  it('gives parallel senders on both instances the seqs 1..n without gaps or repeats', async () => {
    const users = await newUsers(a, 'seqa', 'seqb', 'seqc', 'seqd');
    const chat = await createGroup(a, users[0], { name: 'busy', members: users.slice(1).map((u) => u.user.username) });
    const count = 40;
    const sent = await Promise.all(
      Array.from({ length: count }, (_, i) => send(via(i), users[i % users.length]!, chat.id, `parallel ${i}`)),
    );
    const seqs = sent.map((message) => message.seq).sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    const page = await history(b, users[0], chat.id, { first: 100 });
    expect(page.edges.map((edge: any) => edge.node.seq)).toEqual(seqs);
  });

  it('stores one message for parallel retries of one clientId, and the next send takes the next seq', async () => {
    const [alice, bob] = await newUsers(a, 'retrya', 'retryb');
    const chat = await createGroup(a, alice, { name: 'retries', members: [bob.user.username] });
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        via(i).gql(SEND, { input: { chatId: chat.id, text: 'only once', clientId: 'c-1' } }, alice.token),
      ),
    );
    expect(results.map((result) => result.errors)).toEqual(results.map(() => undefined));
    const ids = new Set(results.map((result) => result.data.sendMessage.id));
    expect(ids.size).toBe(1);
    expect(results[0]!.data.sendMessage).toMatchObject({ seq: 1, text: 'only once', clientId: 'c-1' });
    // The retries that lost the insert gave their seq back.
    expect((await send(b, bob, chat.id, 'next')).seq).toBe(2);
    const page = await history(a, bob, chat.id);
    expect(page.edges.map((edge: any) => [edge.node.seq, edge.node.text])).toEqual([
      [1, 'only once'],
      [2, 'next'],
    ]);
  });
});

describe('concurrent reactions', () => {
  const REACTIONS = /* GraphQL */ `query($id: ID!) { node(id: $id) { ... on Message { reactions { emoji count } } } }`;
  const reactionsOf = async (viewer: SignedUp, id: string) => ok(await b.gql(REACTIONS, { id }, viewer.token), 'node').reactions;

  it('stores one reaction for 50 parallel adds of one emoji by one user', async () => {
    const [alice] = await newUsers(a, 'reacta');
    const chat = await createGroup(a, alice, { name: 'reactions' });
    const message = await send(a, alice, chat.id, 'once');
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => via(i).gql(ADD_REACTION, { messageId: message.id, emoji: '👍' }, alice.token)),
    );
    expect(results.map((result) => result.errors)).toEqual(results.map(() => undefined));
    expect(await reactionsOf(alice, message.id)).toEqual([{ emoji: '👍', count: 1 }]);
  });

  it('counts 50 parallel adds of one emoji by 50 users', async () => {
    const users = await newUsers(a, ...Array.from({ length: 50 }, (_, i) => `fan${i}r`));
    const chat = await createGroup(a, users[0]!, { name: 'fans', members: users.slice(1).map((user) => user.user.username) });
    const message = await send(a, users[0]!, chat.id, 'popular');
    const results = await Promise.all(
      users.map((user, i) => via(i).gql(ADD_REACTION, { messageId: message.id, emoji: '🔥' }, user.token)),
    );
    expect(results.map((result) => result.errors)).toEqual(results.map(() => undefined));
    expect(await reactionsOf(users[0]!, message.id)).toEqual([{ emoji: '🔥', count: 50 }]);
  });

  it('keeps to 20 different emoji when 30 are added at once', async () => {
    const [alice] = await newUsers(a, 'manyemoji');
    const chat = await createGroup(a, alice, { name: 'crowded' });
    const message = await send(a, alice, chat.id, 'crowded');
    const emoji = [...'😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🥰😗😙😚🙂🤗🤩🤔🤨😐😑😶🙄😏😣😥'];
    const results = await Promise.all(emoji.map((each, i) => via(i).gql(ADD_REACTION, { messageId: message.id, emoji: each }, alice.token)));
    const accepted = results.filter((result) => !result.errors).length;
    expect(results.flatMap((result) => codes(result) ?? [])).toEqual(Array.from({ length: 10 }, () => 'BAD_USER_INPUT'));
    expect(accepted).toBe(20);
    expect(await reactionsOf(alice, message.id)).toHaveLength(20);
  });
});

describe('concurrent direct chats', () => {
  it('opens one direct chat when both users create it at once, many times over', async () => {
    const [alice, bob] = await newUsers(a, 'pairA', 'pairB');
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => {
        const [caller, other] = i % 3 === 0 ? [bob, alice] : [alice, bob];
        return via(i).gql(CREATE_DIRECT, { username: other.user.username }, caller.token);
      }),
    );
    expect(results.map((result) => result.errors)).toEqual(results.map(() => undefined));
    expect(new Set(results.map((result) => result.data.createDirectChat.id)).size).toBe(1);
  });

  it('opens one direct chat when the first messages to a user are sent at once', async () => {
    const [alice, bob] = await newUsers(a, 'firstA', 'firstB');
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => {
        const [sender, to] = i % 2 === 0 ? [alice, bob] : [bob, alice];
        return via(i).gql(SEND, { input: { toUsername: to.user.username, text: `hi ${i}` } }, sender.token);
      }),
    );
    expect(results.map((result) => result.errors)).toEqual(results.map(() => undefined));
    expect(new Set(results.map((result) => result.data.sendMessage.chat.id)).size).toBe(1);
    expect(results.map((result) => result.data.sendMessage.seq).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 10 }, (_, i) => i + 1),
    );
  });
});

describe('concurrent departures from a group', () => {
  /** A group of owner, first (the longest-standing member) and rest, in that joining order. */
  async function group(owner: SignedUp, first: SignedUp, rest: SignedUp[]) {
    const chat = await createGroup(a, owner, { name: uniqueName('departures') });
    for (const member of [first, ...rest]) {
      await addMember(a, owner, chat.id, member.user.username);
      await tick();
    }
    return chat.id;
  }

  const leave = (server: TestServer, who: SignedUp, chatId: string) => server.gql(LEAVE, { chatId }, who.token);

  it('hands ownership on when the owner and the next in line leave at once', async () => {
    const rounds = 8;
    const cases = await Promise.all(
      Array.from({ length: rounds }, async () => {
        const [owner, first, last] = await Promise.all(
          ['own', 'next', 'last'].map((prefix) => signUp(a, uniqueName(prefix))),
        );
        return { owner: owner!, first: first!, last: last!, chatId: await group(owner!, first!, [last!]) };
      }),
    );
    const left = await Promise.all(
      cases.flatMap(({ owner, first, chatId }) => [leave(a, owner, chatId), leave(b, first, chatId)]),
    );
    expect(left.map((result) => result.errors ?? result.data.leaveChat)).toEqual(left.map(() => true));
    for (const { last, chatId } of cases) {
      const { chat } = await readChat(a, last, chatId);
      expect(chat.members).toEqual([{ user: { username: last.user.username }, role: 'OWNER', lastReadSeq: 0 }]);
    }
  });

  it('deletes the group when its last two members leave at once', async () => {
    const cases = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const [owner, other] = await Promise.all(['solo', 'duo'].map((prefix) => signUp(a, uniqueName(prefix))));
        return { owner: owner!, other: other!, chatId: await group(owner!, other!, []) };
      }),
    );
    const left = await Promise.all(
      cases.flatMap(({ owner, other, chatId }) => [leave(a, owner, chatId), leave(b, other, chatId)]),
    );
    expect(left.map((result) => result.errors ?? result.data.leaveChat)).toEqual(left.map(() => true));
    for (const { owner, chatId } of cases) {
      expect((await readChat(a, owner, chatId)).result.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    }
  });
});

// SQLite has one connection, shared by Prisma's interactive transactions and
// the sends that bypass Prisma (src/db/append-message.ts).
describe.skipIf(postgres)('a send while a Prisma transaction holds the SQLite connection', () => {
  it('waits for the transaction to end and is kept when that transaction rolls back', async () => {
    const [alice] = await newUsers(a, 'txwait');
    const chat = await createGroup(a, alice, { name: 'Before' });
    const chatId = databaseId(chat.id);
    const db = await openDatabase(a.config.databaseUrl);
    try {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const transaction = db
        .$transaction(async (tx) => {
          await tx.chat.update({ where: { id: chatId }, data: { name: 'Renamed' } });
          await held;
          throw new Error('rolled back');
        })
        .catch((error: Error) => error.message);
      await tick();
      let settled = false;
      const sending = appendMessage(db, plain({ chatId, authorId: databaseId(alice.user.id), text: 'kept', clientId: null, now: new Date() }));
      void sending.finally(() => (settled = true));
      await sleep(50);
      expect(settled).toBe(false);
      release();
      expect(await transaction).toBe('rolled back');
      expect((await sending).kind).toBe('appended');
    } finally {
      await db.$disconnect();
    }
    expect(await texts(a, alice, chat.id)).toEqual(['kept']);
    expect((await readChat(a, alice, chat.id)).chat.name).toBe('Before');
  });
});

describe('sends started in the same turn', () => {
  it('keeps the others when one clashes on clientId and one comes from a non-member, with consecutive seqs', async () => {
    const [alice, eve] = await newUsers(a, 'batcher', 'outsider');
    const chat = await createGroup(a, alice, { name: 'Batch' });
    await send(a, alice, chat.id, 'first', 'key-1');
    const [chatId, authorId] = [databaseId(chat.id), databaseId(alice.user.id)];
    let statements = 0;
    const db = await openDatabase(a.config.databaseUrl, () => (statements += 1));
    try {
      statements = 0; // not the connection's own set-up
      const now = new Date();
      const results = await Promise.all([
        appendMessage(db, plain({ chatId, authorId, text: 'second', clientId: null, now })),
        appendMessage(db, plain({ chatId, authorId, text: 'retry', clientId: 'key-1', now })),
        appendMessage(db, plain({ chatId, authorId: databaseId(eve.user.id), text: 'intruder', clientId: null, now })),
        appendMessage(db, plain({ chatId, authorId, text: 'third', clientId: 'key-2', now })),
      ]);
      expect(results.map((result) => result.kind)).toEqual(['appended', 'clientIdTaken', 'rejected', 'appended']);
      const seqs = results.flatMap((result) => (result.kind === 'appended' ? [result.message.seq] : []));
      // Either way they are stored together, in the order they were started.
      expect(seqs).toEqual([2, 3]);
      if (postgres) {
        // One statement for the whole batch.
        expect(statements).toBe(1);
      } else {
        // One BEGIN and COMMIT, a SAVEPOINT and RELEASE (or ROLLBACK TO)
        // around each message's 4, 2, 1 and 4 statements.
        expect(statements).toBe(2 + 4 * 2 + 4 + 2 + 1 + 4);
      }
    } finally {
      await db.$disconnect();
    }
    expect((await texts(a, alice, chat.id)).sort()).toEqual(['first', 'second', 'third']);
  });
});

// Each instance batches its own sends: two batches meet only on Postgres.
describe.runIf(postgres)('batches of two instances in one chat', () => {
  it('store one message per clientId, every other send of both batches, and seqs 1..n', async () => {
    const [alice] = await newUsers(a, 'twobatch');
    const chat = await createGroup(a, alice, { name: 'Two batches' });
    const [chatId, authorId] = [databaseId(chat.id), databaseId(alice.user.id)];
    const clients: Db[] = await Promise.all([1, 2].map(() => openDatabase(a.config.databaseUrl)));
    try {
      // Connected first, so the two batches run at the same time: the second meets the first's clientId.
      await Promise.all(clients.map((db) => db.$queryRawUnsafe('SELECT 1')));
      const now = new Date();
      const batches = await Promise.all(
        clients.map((db, i) =>
          Promise.all([
            appendMessage(db, plain({ chatId, authorId, text: 'same', clientId: 'shared-key', now })),
            appendMessage(db, plain({ chatId, authorId, text: `own ${i}`, clientId: null, now })),
          ]),
        ),
      );
      const kinds = batches.flat().map((result) => result.kind);
      expect(kinds.filter((kind) => kind === 'appended')).toHaveLength(3);
      expect(kinds.filter((kind) => kind === 'clientIdTaken')).toHaveLength(1);
      const seqs = batches.flat().flatMap((result) => (result.kind === 'appended' ? [result.message.seq] : []));
      expect(seqs.sort()).toEqual([1, 2, 3]);
    } finally {
      await Promise.all(clients.map((db) => db.$disconnect()));
    }
    expect((await texts(a, alice, chat.id)).sort()).toEqual(['own 0', 'own 1', 'same']);
  });
});

// Several sweepers on one database only happen with several instances, that is on Postgres.
describe.runIf(postgres)('retention sweepers on several instances', () => {
  it('delete each expired message once and announce it once', async () => {
    const clients: Db[] = await Promise.all([1, 2, 3].map(() => openDatabase(a.config.databaseUrl)));
    try {
      const count = 1_250; // several sweep batches
      const past = new Date(Date.now() - 60_000);
      const name = uniqueName('sweep');
      const author = await clients[0]!.user.create({
        data: { username: name, usernameKey: name, email: `${name}@example.com`, passwordHash: '-' },
      });
      const chat = await clients[0]!.chat.create({
        data: { kind: 'GROUP', name: 'expired', lastSeq: count, members: { create: { userId: author.id, role: 'OWNER' } } },
      });
      await clients[0]!.message.createMany({
        data: Array.from({ length: count }, (_, i) => ({
          chatId: chat.id,
          authorId: author.id,
          text: `expired ${i}`,
          seq: i + 1,
          expiresAt: past,
        })),
      });
      const announced: string[] = [];
      const bus = {
        publish: (topic: string, ref: { messageId: string }) => {
          if (topic === 'message:deleted') announced.push(ref.messageId);
        },
      } as unknown as EventBus;
      const deleted = await Promise.all(
        clients.map((db) => sweepExpired({ db, bus, retention: { messageRetentionSeconds: null } })),
      );
      expect(deleted.reduce((sum, n) => sum + n, 0)).toBe(count);
      expect(announced).toHaveLength(count);
      expect(new Set(announced).size).toBe(count);
      expect(await clients[0]!.message.count({ where: { chatId: chat.id } })).toBe(0);
    } finally {
      await Promise.all(clients.map((db) => db.$disconnect()));
    }
  });
});

describe.runIf(postgres)('the connection pool', () => {
  /** Connections the instance holds after `queries` concurrent requests, as Postgres counts them. */
  async function connectionsAfterBurst(poolSize: number, queries: number) {
    const url = freshDatabaseUrl();
    const server = await startServer(testConfig({ DATABASE_URL: url, DATABASE_POOL_SIZE: String(poolSize) }));
    try {
      // Sends to one chat queue on its row lock, each holding a connection in its transaction.
      const user = await signUp(server, uniqueName('pool'));
      const chat = await createGroup(server, user, { name: 'Pool' });
      await Promise.all(Array.from({ length: queries }, (_, i) => send(server, user, chat.id, `burst ${i}`)));
      const db = await openDatabase(url);
      try {
        const [row] = await db.$queryRawUnsafe<{ count: bigint }[]>(
          'SELECT count(*) AS count FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
        );
        return Number(row!.count);
      } finally {
        await db.$disconnect();
      }
    } finally {
      await server.stop();
    }
  }

  it('holds at most DATABASE_POOL_SIZE connections however many requests run at once', async () => {
    expect(await connectionsAfterBurst(2, 40)).toBeLessThanOrEqual(2);
    // The same burst with a larger pool does open more: the limit above is the setting's doing.
    expect(await connectionsAfterBurst(8, 40)).toBeGreaterThan(2);
  });
});
