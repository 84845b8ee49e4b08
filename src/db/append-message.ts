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
import type { Message, User } from '../generated/prisma/client.ts';
import { isForeignKeyViolation, isUniqueViolation } from '../errors.ts';
import { sqliteConnection, type Db, type SqliteConnection } from './client.ts';
import { sqliteTime, userColumns, userOf, type SqliteRow } from './sqlite-rows.ts';

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
  | { kind: 'appended'; message: AppendedMessage }
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
  return sqlite ? appendSqlite(sqlite, id, input) : appendPostgres(db, id, input);
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
type Outcome = { appended: AppendedMessage | null } | { error: unknown };

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
  const markRead = database.prepare(`UPDATE "ChatMember" SET "lastReadSeq" = ? WHERE "chatId" = ? AND "userId" = ?`);
  const readAuthor = database.prepare<[string], SqliteRow<User>>(`SELECT ${userColumns('"User"')} FROM "User" WHERE "id" = ?`);
  // On its own a transaction; inside appendAll a savepoint, so a failed
  // message (a clashing clientId) takes back only its own statements.
  const appendOne = database.transaction((id: string, input: NewMessage): AppendedMessage | null => {
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
    markRead.run(chat.lastSeq, input.chatId, input.authorId);
    return message(id, input, chat.lastSeq, expiresAt, userOf(readAuthor.get(input.authorId)!));
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
      item.resolve(outcome.appended ? { kind: 'appended', message: outcome.appended } : { kind: 'rejected' });
    } else if ((outcome.error as { code?: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
      item.resolve({ kind: 'clientIdTaken' });
    } else {
      item.reject(outcome.error);
    }
  });
}

// Postgres: one statement. Data-modifying CTEs run atomically with the insert,
// and the UPDATE takes the chat's row lock, so concurrent sends to one chat
// (from any instance) queue for their seqs.

const APPEND_POSTGRES = `
  WITH chat AS (
    UPDATE "Chat" SET "lastSeq" = "lastSeq" + 1, "lastActivityAt" = $1::timestamptz AT TIME ZONE 'UTC'
    WHERE "id" = $2 AND EXISTS (SELECT 1 FROM "ChatMember" WHERE "chatId" = $2 AND "userId" = $3)
      AND ${notBlocked('"Chat"', '$3')}
      AND ${parentServable('"Chat"', '$7::text', "$1::timestamptz AT TIME ZONE 'UTC'", "$10::timestamptz AT TIME ZONE 'UTC'")}
    RETURNING "lastSeq", "messageTtlSeconds"
  ), read AS (
    UPDATE "ChatMember" SET "lastReadSeq" = chat."lastSeq" FROM chat
    WHERE "ChatMember"."chatId" = $2 AND "ChatMember"."userId" = $3
  ), inserted AS (
    INSERT INTO "Message" ("id", "chatId", "authorId", "text", "seq", "clientId", "createdAt", "expiresAt", "replyToId", "searchText")
    SELECT $4, $2, $3, $5, chat."lastSeq", $6, $1::timestamptz AT TIME ZONE 'UTC',
           $1::timestamptz AT TIME ZONE 'UTC' + make_interval(secs => chat."messageTtlSeconds"), $7, $8
    FROM chat
    RETURNING "seq", "expiresAt"
  ), mentioned AS (
    INSERT INTO "Mention" ("messageId", "userId")
    SELECT $4, m."userId" FROM inserted, "ChatMember" m JOIN "User" u ON u."id" = m."userId"
    WHERE m."chatId" = $2 AND u."usernameKey" = ANY($9::text[])
  )
  SELECT inserted."seq", inserted."expiresAt", "User".* FROM inserted, "User" WHERE "User"."id" = $3`;

async function appendPostgres(db: Db, id: string, input: NewMessage): Promise<AppendResult> {
  try {
    const [row] = await db.$queryRawUnsafe<(User & { seq: number; expiresAt: Date | null })[]>(
      APPEND_POSTGRES,
      input.now.toISOString(),
      input.chatId,
      input.authorId,
      id,
      input.text,
      input.clientId,
      input.replyToId,
      input.searchText,
      input.mentionKeys,
      input.createdAfter?.toISOString() ?? null,
    );
    if (!row) return { kind: 'rejected' };
    const { seq, expiresAt, ...author } = row;
    return { kind: 'appended', message: message(id, input, seq, expiresAt, author) };
  } catch (error) {
    if (isUniqueViolation(error)) return { kind: 'clientIdTaken' };
    // The replied-to message was deleted after the statement's snapshot saw it.
    if (isForeignKeyViolation(error)) return { kind: 'rejected' };
    throw error;
  }
}
