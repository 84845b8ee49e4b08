/**
 * Full-text search over Message.searchText, each provider on its own index
 * (the rich_messaging migration): SQLite's FTS5 table, Postgres's tsvector
 * column with a GIN index. Both hold exactly the words of
 * src/domain/search-text.ts, and a query's words must all be among a
 * message's, so both find the same messages. The rules (whose messages, which are
 * servable) are the same as the history's; src/domain/search.ts applies them.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { ChatRole, Message, User } from '../generated/prisma/client.ts';
import { databaseProvider, sqliteConnection, type Db } from './client.ts';
import { AFTER_MESSAGE_WITH_AUTHOR, messagesWithAuthors, messageWithAuthorColumns, sqliteTime, type MessageWithAuthorRow } from './sqlite-rows.ts';

export interface SearchQuery {
  /** Only messages of chats this user is a member of. */
  userId: string;
  /** One chat, or null for all of the user's chats. */
  chatId: string | null;
  /** A query's words (queryWords): a message matches when it has all of them. */
  words: string[];
  /** Where the previous page ended (null: from the newest). */
  after: SearchKey | null;
  limit: number;
  /** Messages expiring at or before this are not served. */
  now: Date;
  /** Messages created after this are kept by the global retention (null: no global limit). */
  createdAfter: Date | null;
}

/**
 * Where a hit stands in the order of results, newest first: on SQLite the
 * message's rowid (the order the index streams in, which is the order rows
 * were stored), on Postgres its [createdAt, id].
 */
export type SearchKey = number | [at: string, id: string];

export const isSearchKey = (db: Db, value: unknown): value is SearchKey =>
  databaseProvider(db) === 'postgresql'
    ? Array.isArray(value) && value.length === 2 && value.every((part) => typeof part === 'string') && !Number.isNaN(Date.parse(String(value[0])))
    : Number.isSafeInteger(value);

export interface SearchRow {
  id: string;
  key: SearchKey;
  /** The reader's role in the message's chat. */
  role: ChatRole;
  /** On SQLite, the message itself with its author, read with the match. */
  message?: Message & { author: User };
}

/** Up to `limit` matching messages the user may read, newest first, with their keys. */
export async function searchMessageRows(db: Db, query: SearchQuery): Promise<SearchRow[]> {
  const sqlite = sqliteConnection(db);
  if (sqlite) {
    const rows = statement(sqlite.database()).all({
      match: matchExpression(query.words),
      userId: query.userId,
      chatId: query.chatId,
      before: query.after ?? Number.MAX_SAFE_INTEGER,
      now: sqliteTime(query.now),
      createdAfter: query.createdAfter && sqliteTime(query.createdAfter),
      limit: query.limit,
    });
    sqlite.onStatement();
    const messages = messagesWithAuthors(rows);
    return rows.map((row, i) => ({
      id: row[0],
      key: row[AFTER_MESSAGE_WITH_AUTHOR] as number,
      role: row[AFTER_MESSAGE_WITH_AUTHOR + 1] as ChatRole,
      message: messages[i],
    }));
  }
  const [afterAt, afterId] = (query.after as [string, string] | null) ?? [null, null];
  const rows = await db.$queryRawUnsafe<{ id: string; at: string; role: ChatRole }[]>(
    SEARCH_POSTGRES,
    query.userId,
    // tsquery input, not text to parse: each word is a quoted lexeme, so
    // nothing in a query can act as an operator.
    query.words.map((word) => `'${word.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`).join(' & '),
    query.chatId,
    query.now.toISOString(),
    query.createdAfter?.toISOString() ?? null,
    afterAt,
    afterId,
    query.limit,
  );
  return rows.map((row) => ({ id: row.id, key: [row.at, row.id], role: row.role }));
}

/**
 * The FTS5 query for `words`: all of them, each a quoted string, so nothing
 * in a query is FTS5 syntax.
 */
const matchExpression = (words: string[]) => words.map((word) => `"${word.replaceAll('"', '""')}"`).join(' ');

// FTS5 returns matches in rowid order, newest last, and streams them in
// reverse for ORDER BY rowid DESC: a first page costs its few rows however
// many messages match.
const SEARCH_SQLITE = `
  SELECT ${messageWithAuthorColumns('m', 'u')}, s."rowid" AS "searchKey", reader."role" AS "readerRole"
  FROM "MessageSearch" s
  JOIN "Message" m ON m."rowid" = s."rowid"
  JOIN "User" u ON u."id" = m."authorId"
  JOIN "ChatMember" reader ON reader."chatId" = m."chatId" AND reader."userId" = @userId
  WHERE "MessageSearch" MATCH @match
    AND s."rowid" < @before
    AND (@chatId IS NULL OR m."chatId" = @chatId)
    AND (m."expiresAt" IS NULL OR m."expiresAt" > @now)
    AND (@createdAfter IS NULL OR m."createdAt" > @createdAfter)
  ORDER BY s."rowid" DESC
  LIMIT @limit`;

const prepared = new WeakMap<BetterSqlite3.Database, BetterSqlite3.Statement<[Record<string, unknown>], MessageWithAuthorRow>>();

function statement(database: BetterSqlite3.Database) {
  let search = prepared.get(database);
  if (!search) {
    // Prisma's adapter turns on BigInt results for the whole connection; rowids fit in a number.
    search = database.prepare<[Record<string, unknown>], MessageWithAuthorRow>(SEARCH_SQLITE).raw(true).safeIntegers(false);
    prepared.set(database, search);
  }
  return search;
}

const SEARCH_POSTGRES = `
  SELECT m."id", to_char(m."createdAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "at", reader."role"
  FROM "Message" m
  JOIN "ChatMember" reader ON reader."chatId" = m."chatId" AND reader."userId" = $1
  WHERE m."search" @@ $2::tsquery
    AND ($3::text IS NULL OR m."chatId" = $3)
    AND (m."expiresAt" IS NULL OR m."expiresAt" > $4::timestamptz AT TIME ZONE 'UTC')
    AND ($5::timestamptz IS NULL OR m."createdAt" > $5::timestamptz AT TIME ZONE 'UTC')
    AND ($6::timestamptz IS NULL OR (m."createdAt", m."id") < ($6::timestamptz AT TIME ZONE 'UTC', $7::text))
  ORDER BY m."createdAt" DESC, m."id" DESC
  LIMIT $8`;
