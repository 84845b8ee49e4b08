/**
 * Appending a message to a chat, the hottest write of a messenger, as plain
 * SQL per provider instead of through Prisma's query layer: a send through
 * Prisma's interactive transaction cost about 2.5 ms of CPU, twenty times
 * the same statements run here (README, "Performance"). The rules stay in
 * sendMessage (src/domain/messages.ts); this module only stores atomically:
 *
 * - the chat's lastSeq is incremented and the message takes it, so seqs are
 *   unique and gap-free per chat whatever the concurrency, and a failed
 *   insert takes its seq back with it;
 * - the increment only matches a chat the author may write to, and a
 *   replied-to message that is there to be replied to, so it doubles as those
 *   checks (sendMessage tells which failed, only when one did);
 * - the members the text mentions are stored with it;
 * - sending marks everything up to one's own message read.
 */
import cuid from '@bugsnag/cuid';
import type BetterSqlite3 from 'better-sqlite3';
import type { ChatRole, Message, User } from '../generated/prisma/client.ts';
import { postgresConnection, sqliteConnection, type Db, type PostgresConnection, type SqliteConnection } from './client.ts';
import { epochMs, sqliteTime, userColumns, userOf, type SqliteRow } from './sqlite-rows.ts';

export interface NewMessage {
  chatId: string;
  authorId: string;
  text: string;
  clientId: string | null;
  /** A message of the same chat, servable now (see visibleMessages). */
  replyToId: string | null;
  /** Message.searchText of the text. */
  searchText: string;
  /** Username keys the text names (mentionedKeys); those of members are mentions. */
  mentionKeys: string[];
  now: Date;
  /** The global retention's limit: older messages are not served, so not replied to (null: none). */
  createdAfter: Date | null;
}

/**
 * The stored message with its author's row, which every client shows beside
 * it: with the author included, GraphQL needs no second read to resolve it.
 */
export type AppendedMessage = Message & { author: User };

export type AppendResult =
  /** `role`: the author's in the chat, which the send proved. */
  | { kind: 'appended'; message: AppendedMessage; role: ChatRole }
  /**
   * No such chat, the author is not in it or may not write to it, or the
   * replied-to message is not one of it that may be served.
   */
  | { kind: 'rejected' }
  /** The author already used this clientId (for this or another message). */
  | { kind: 'clientIdTaken' };

export function appendMessage(db: Db, input: NewMessage): Promise<AppendResult> {
  const sqlite = sqliteConnection(db);
  // The same id generator as Prisma's @default(cuid()), so ids look alike whoever wrote the row.
  const id = cuid();
  return sqlite ? appendSqlite(sqlite, id, input) : appendPostgres(postgresConnection(db)!, id, input);
}

const expiry = (now: Date, ttlSeconds: number | null) =>
  ttlSeconds === null ? null : new Date(now.getTime() + ttlSeconds * 1000);

const message = (id: string, input: NewMessage, seq: number, expiresAt: Date | null, author: User): AppendedMessage => ({
  id,
  chatId: input.chatId,
  authorId: input.authorId,
  text: input.text,
  seq,
  clientId: input.clientId,
  createdAt: input.now,
  editedAt: null,
  expiresAt,
  replyToId: input.replyToId,
  pinnedAt: null,
  pinnedById: null,
  searchText: input.searchText,
  author,
});

// The conditions of a send beside membership, the same for both providers.
// may.write (src/domain/access.ts): in a direct chat, not when the other
// member blocks the author.
const notBlocked = (chat: string, author: string) => `
  NOT (${chat}."kind" = 'DIRECT' AND EXISTS (
    SELECT 1 FROM "Block" b JOIN "ChatMember" o ON o."chatId" = ${chat}."id" AND o."userId" = b."blockerId"
    WHERE b."blockedId" = ${author}))`;
// The replied-to message: of this chat and servable (visibleMessages in src/domain/messages.ts).
const parentServable = (chat: string, replyTo: string, now: string, createdAfter: string) => `
  (${replyTo} IS NULL OR EXISTS (
    SELECT 1 FROM "Message" p
    WHERE p."id" = ${replyTo} AND p."chatId" = ${chat}."id" AND (p."expiresAt" IS NULL OR p."expiresAt" > ${now})
      AND (${createdAfter} IS NULL OR p."createdAt" > ${createdAfter})))`;

// SQLite: four prepared statements per message (five with mentions), and one
// transaction for all the messages sent in the same turn of the event loop
// (a group commit).

interface PendingAppend {
  id: string;
  input: NewMessage;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

/** The result of one message in a batch, or why it failed (its savepoint rolled back). */
type Outcome = { appended: { message: AppendedMessage; role: ChatRole } | null } | { error: unknown };

function prepareAppend(database: BetterSqlite3.Database) {
  const bumpSeq = database
    .prepare<[Record<string, unknown>], { lastSeq: number; messageTtlSeconds: number | null }>(
      `UPDATE "Chat" SET "lastSeq" = "lastSeq" + 1, "lastActivityAt" = @now
       WHERE "id" = @chatId AND EXISTS (SELECT 1 FROM "ChatMember" WHERE "chatId" = "Chat"."id" AND "userId" = @authorId)
         AND ${notBlocked('"Chat"', '@authorId')}
         AND ${parentServable('"Chat"', '@replyToId', '@now', '@createdAfter')}
       RETURNING "lastSeq", "messageTtlSeconds"`,
    )
    // Prisma's adapter turns on BigInt results for the whole connection; these fit in a number.
    .safeIntegers(false);
  const insert = database.prepare(
    `INSERT INTO "Message" ("id", "chatId", "authorId", "text", "seq", "clientId", "createdAt", "expiresAt", "replyToId", "searchText")
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const mention = database.prepare(
    `INSERT INTO "Mention" ("messageId", "userId")
     SELECT ?, m."userId" FROM "ChatMember" m JOIN "User" u ON u."id" = m."userId"
     WHERE m."chatId" = ? AND u."usernameKey" IN (SELECT "value" FROM json_each(?))`,
  );
  // The author's membership row, which the send proved is there: its role comes back for the access checks of the answer.
  const markRead = database.prepare<[number, string, string], { role: ChatRole }>(
    `UPDATE "ChatMember" SET "lastReadSeq" = ? WHERE "chatId" = ? AND "userId" = ? RETURNING "role"`,
  );
  const readAuthor = database.prepare<[string], SqliteRow<User>>(`SELECT ${userColumns('"User"')} FROM "User" WHERE "id" = ?`);
  // On its own a transaction; inside appendAll a savepoint, so a failed
  // message (a clashing clientId) takes back only its own statements.
  const appendOne = database.transaction((id: string, input: NewMessage): { message: AppendedMessage; role: ChatRole } | null => {
    const now = sqliteTime(input.now);
    const chat = bumpSeq.get({
      now,
      chatId: input.chatId,
      authorId: input.authorId,
      replyToId: input.replyToId,
      createdAfter: input.createdAfter && sqliteTime(input.createdAfter),
    });
    if (!chat) return null;
    const expiresAt = expiry(input.now, chat.messageTtlSeconds);
    insert.run(
      id,
      input.chatId,
      input.authorId,
      input.text,
      chat.lastSeq,
      input.clientId,
      now,
      expiresAt && sqliteTime(expiresAt),
      input.replyToId,
      input.searchText,
    );
    if (input.mentionKeys.length > 0) mention.run(id, input.chatId, JSON.stringify(input.mentionKeys));
    const { role } = markRead.get(chat.lastSeq, input.chatId, input.authorId)!;
    return { message: message(id, input, chat.lastSeq, expiresAt, userOf(readAuthor.get(input.authorId)!)), role };
  });
  const attempt = (id: string, input: NewMessage): Outcome => {
    try {
      return { appended: appendOne(id, input) };
    } catch (error) {
      return { error };
    }
  };
  const appendAll = database.transaction((batch: PendingAppend[]) => batch.map((item) => attempt(item.id, item.input)));
  return (batch: PendingAppend[]): Outcome[] =>
    batch.length === 1 ? [attempt(batch[0]!.id, batch[0]!.input)] : appendAll(batch);
}

const prepared = new WeakMap<BetterSqlite3.Database, ReturnType<typeof prepareAppend>>();
const batches = new WeakMap<SqliteConnection, PendingAppend[]>();

/**
 * Queues the message for this turn's batch. A commit is most of a send's
 * cost in SQLite (the WAL write, and now and then a checkpoint), and under
 * load many sends arrive in one turn: one commit for all of them is what
 * keeps the single connection from being the bottleneck. Each send still
 * answers only after its message is committed.
 */
function appendSqlite(sqlite: SqliteConnection, id: string, input: NewMessage): Promise<AppendResult> {
  return new Promise((resolve, reject) => {
    let batch = batches.get(sqlite);
    if (!batch) {
      batches.set(sqlite, (batch = []));
      const queued = batch;
      setImmediate(() => {
        batches.delete(sqlite);
        commit(sqlite, queued).catch((error: unknown) => {
          for (const item of queued) item.reject(error);
        });
      });
    }
    batch.push({ id, input, resolve, reject });
  });
}

async function commit(sqlite: SqliteConnection, batch: PendingAppend[]) {
  const database = sqlite.database();
  // Prisma's interactive transactions hold this one connection across awaits,
  // and a statement run meanwhile would join them (and be rolled back with
  // them). This transaction runs synchronously, so once none is open nothing
  // can come between its statements. Prisma's are short and rare (nested
  // writes such as chat creation, group departures, retention sweeps), so
  // yielding to the event loop until they end is enough.
  while (database.inTransaction) await new Promise((resolve) => setImmediate(resolve));
  let append = prepared.get(database);
  if (!append) prepared.set(database, (append = prepareAppend(database)));
  const outcomes = append(batch);
  // BEGIN and COMMIT (or ROLLBACK), and per message its four statements and
  // one for mentions (one when the send is rejected, two when the insert
  // fails), inside a SAVEPOINT and RELEASE (or ROLLBACK TO) when batched.
  let statements = 2;
  outcomes.forEach((outcome, i) => {
    const mentions = batch[i]!.input.mentionKeys.length > 0 ? 1 : 0;
    statements += 'appended' in outcome ? (outcome.appended ? 4 + mentions : 1) : 2;
    if (batch.length > 1) statements += 2;
  });
  for (let i = 0; i < statements; i++) sqlite.onStatement();
  outcomes.forEach((outcome, i) => {
    const item = batch[i]!;
    if ('appended' in outcome) {
      item.resolve(outcome.appended ? { kind: 'appended', ...outcome.appended } : { kind: 'rejected' });
    } else if ((outcome.error as { code?: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
      item.resolve({ kind: 'clientIdTaken' });
    } else {
      item.reject(outcome.error);
    }
  });
}

// Postgres: one statement per batch of sends to one chat. Data-modifying
// CTEs run atomically with the inserts, and the UPDATE takes the chat's row
// lock, so concurrent sends to one chat (from any instance) queue for their
// seqs. The lock is held until the commit is flushed, so one statement (and
// one commit) per send would allow one send per flush per chat: a batch
// takes every send to the chat that arrived while the previous one ran.

// Every check of a send reads the statement's snapshot, as the single UPDATE did.
const APPEND_POSTGRES = `
  WITH input AS (
    SELECT * FROM json_to_recordset($2::json) AS i(
      "ord" int, "id" text, "authorId" text, "text" text, "clientId" text, "replyToId" text,
      "searchText" text, "mentionKeys" text[], "now" timestamptz, "createdAfter" timestamptz)
  ), checked AS (
    SELECT i.*, m."role"::text AS "role",
      (m."userId" IS NOT NULL
        AND ${notBlocked('c', 'i."authorId"')}
        AND ${parentServable('c', 'i."replyToId"', `i."now" AT TIME ZONE 'UTC'`, `i."createdAfter" AT TIME ZONE 'UTC'`)}) IS TRUE AS "mayWrite",
      (i."clientId" IS NOT NULL AND (
        EXISTS (SELECT 1 FROM "Message" e WHERE e."authorId" = i."authorId" AND e."clientId" = i."clientId")
        OR EXISTS (SELECT 1 FROM input d WHERE d."authorId" = i."authorId" AND d."clientId" = i."clientId" AND d."ord" < i."ord"))) AS "taken"
    FROM input i
    LEFT JOIN "ChatMember" m ON m."chatId" = $1 AND m."userId" = i."authorId"
    LEFT JOIN "Chat" c ON c."id" = m."chatId"
  ), allowed AS (
    SELECT *, row_number() OVER (ORDER BY "ord") AS "k", count(*) OVER () AS "n" FROM checked WHERE "mayWrite" AND NOT "taken"
  ), chat AS (
    UPDATE "Chat" SET "lastSeq" = "lastSeq" + (SELECT count(*) FROM allowed),
      "lastActivityAt" = (SELECT max("now") FROM allowed) AT TIME ZONE 'UTC'
    WHERE "id" = $1 AND EXISTS (SELECT 1 FROM allowed)
    RETURNING "lastSeq", "messageTtlSeconds"
  ), inserted AS (
    INSERT INTO "Message" ("id", "chatId", "authorId", "text", "seq", "clientId", "createdAt", "expiresAt", "replyToId", "searchText")
    SELECT a."id", $1, a."authorId", a."text", chat."lastSeq" - a."n" + a."k", a."clientId", a."now" AT TIME ZONE 'UTC',
           a."now" AT TIME ZONE 'UTC' + make_interval(secs => chat."messageTtlSeconds"), a."replyToId", a."searchText"
    FROM allowed a, chat
    RETURNING "id", "authorId", "seq"
  ), read AS (
    UPDATE "ChatMember" m SET "lastReadSeq" = r."seq"
    FROM (SELECT "authorId", max("seq") AS "seq" FROM inserted GROUP BY "authorId") r
    WHERE m."chatId" = $1 AND m."userId" = r."authorId"
  ), mentioned AS (
    INSERT INTO "Mention" ("messageId", "userId")
    SELECT DISTINCT inserted."id", m."userId" FROM inserted JOIN allowed a ON a."id" = inserted."id",
      "ChatMember" m JOIN "User" u ON u."id" = m."userId"
    WHERE m."chatId" = $1 AND u."usernameKey" = ANY(a."mentionKeys")
  )
  SELECT c."ord", c."taken", c."role", inserted."seq", chat."messageTtlSeconds",
    ${userColumns('u', epochMs)}
  FROM checked c
  LEFT JOIN inserted ON inserted."id" = c."id"
  LEFT JOIN chat ON inserted."id" IS NOT NULL
  LEFT JOIN "User" u ON u."id" = c."authorId" AND inserted."id" IS NOT NULL`;

/** A send of the batch: how it went, then (when it was stored) its author's columns. */
type PostgresRow = {
  ord: number;
  taken: boolean;
  role: ChatRole | null;
  seq: number | null;
  messageTtlSeconds: number | null;
} & Parameters<typeof userOf>[0];

interface PostgresQueue {
  pending: PendingAppend[];
}

const queues = new WeakMap<PostgresConnection, Map<string, PostgresQueue>>();

/**
 * Queues the message for the chat's next batch: the one started this turn,
 * or while a batch of the chat is running, the one after it. Each send
 * answers after its own batch has committed.
 */
function appendPostgres(postgres: PostgresConnection, id: string, input: NewMessage): Promise<AppendResult> {
  return new Promise((resolve, reject) => {
    let chats = queues.get(postgres);
    if (!chats) queues.set(postgres, (chats = new Map()));
    let queue = chats.get(input.chatId);
    if (!queue) {
      chats.set(input.chatId, (queue = { pending: [] }));
      const started = queue;
      setImmediate(() => void drain(postgres, input.chatId, started, chats));
    }
    queue.pending.push({ id, input, resolve, reject });
  });
}

async function drain(postgres: PostgresConnection, chatId: string, queue: PostgresQueue, chats: Map<string, PostgresQueue>) {
  while (queue.pending.length > 0) {
    const batch = queue.pending.splice(0, MAX_BATCH);
    await appendBatch(postgres, chatId, batch).catch((error: unknown) => {
      for (const item of batch) item.reject(error);
    });
  }
  chats.delete(chatId);
}

/** Sends per statement at most: the JSON of a batch stays small, and one slow batch holds few sends. */
const MAX_BATCH = 100;

async function appendBatch(postgres: PostgresConnection, chatId: string, batch: PendingAppend[]) {
  const pool = await postgres.pool();
  const messages = batch.map(({ id, input }, ord) => ({
    ord,
    id,
    authorId: input.authorId,
    text: input.text,
    clientId: input.clientId,
    replyToId: input.replyToId,
    searchText: input.searchText,
    mentionKeys: input.mentionKeys,
    now: input.now.toISOString(),
    createdAfter: input.createdAfter?.toISOString() ?? null,
  }));
  let rows: PostgresRow[];
  try {
    postgres.onStatement();
    // Named, so each connection parses and plans it once.
    rows = (await pool.query<PostgresRow>({ name: 'append-messages', text: APPEND_POSTGRES, values: [chatId, JSON.stringify(messages)] })).rows;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    // Another transaction took a clientId of the batch after its snapshot
    // (unique_violation), a replied-to message was deleted (foreign_key_violation),
    // or two instances' statements deadlocked: nothing of the batch was
    // stored, so each send is tried on its own, where that is its answer.
    if (batch.length > 1 && (code === '23505' || code === '23503' || code === '40P01')) {
      for (const item of batch) await appendBatch(postgres, chatId, [item]);
      return;
    }
    if (code === '23505') return batch[0]!.resolve({ kind: 'clientIdTaken' });
    if (code === '23503') return batch[0]!.resolve({ kind: 'rejected' });
    throw error;
  }
  for (const { ord, taken, role, seq, messageTtlSeconds, ...author } of rows) {
    const { id, input, resolve } = batch[ord]!;
    if (seq === null) {
      resolve(role !== null && taken ? { kind: 'clientIdTaken' } : { kind: 'rejected' });
      continue;
    }
    resolve({ kind: 'appended', message: message(id, input, seq, expiry(input.now, messageTtlSeconds), userOf(author)), role: role! });
  }
}
