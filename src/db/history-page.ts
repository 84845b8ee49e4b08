/**
 * A page of a chat's history with each message's author and the reader's
 * role, as one statement run without Prisma instead of Prisma's three
 * (membership, page, authors): Prisma's query layer and row handling were
 * most of a page's cost and garbage (README, "Performance"). SQLite runs it
 * prepared on Prisma's own connection, Postgres as a named prepared statement
 * on the adapter's pool; both read rows in array mode into the same objects
 * (./sqlite-rows.ts). The rules stay in readHistory (src/domain/messages.ts).
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { ChatRole, Message, User } from '../generated/prisma/client.ts';
import type { Page } from '../domain/paging.ts';
import { postgresConnection, sqliteConnection, type Db } from './client.ts';
import {
  AFTER_MESSAGE_WITH_AUTHOR,
  epochMs,
  messagesWithAuthors,
  messageWithAuthorColumns,
  sqliteTime,
  type MessageWithAuthorRow,
} from './sqlite-rows.ts';

export interface PageQuery {
  chatId: string;
  /** Only a member gets rows. */
  userId: string;
  page: Page<number>;
  /** Messages created after this are kept by the global retention (null: no global limit). */
  createdAfter: Date | null;
  /** Messages expiring at or before this are no longer served. */
  now: Date;
}

type Direction = Page<number>['direction'];
type Parameter = 'chatId' | 'userId' | 'from' | 'now' | 'createdAfter' | 'limit';

/** How each provider spells the statement's parameters and reads its DateTime columns. */
interface Dialect {
  parameters: Record<Parameter, string>;
  time?: (column: string) => string;
}

const SQLITE: Dialect = {
  parameters: { chatId: '@chatId', userId: '@userId', from: '@from', now: '@now', createdAfter: '@createdAfter', limit: '@limit' },
};

// DateTime columns are timestamps in UTC without a zone: compared with
// instants turned into UTC, and read as epoch milliseconds (see epochMs).
const utc = (parameter: string) => `${parameter}::timestamptz AT TIME ZONE 'UTC'`;
const POSTGRES: Dialect = {
  parameters: { chatId: '$1', userId: '$2', from: '$3::bigint', now: utc('$4'), createdAfter: utc('$5'), limit: '$6' },
  time: epochMs,
};

// The same visibility rule as visibleMessages (src/domain/messages.ts): not
// past the message's expiry, not older than the global retention.
function pageSql({ parameters: p, time }: Dialect, direction: Direction) {
  return `
  SELECT ${messageWithAuthorColumns('m', 'u', time)}, viewer."role"
  FROM "Message" m
  JOIN "User" u ON u."id" = m."authorId"
  JOIN "ChatMember" viewer ON viewer."chatId" = m."chatId" AND viewer."userId" = ${p.userId}
  WHERE m."chatId" = ${p.chatId}
    AND m."seq" ${direction === 'forward' ? '>' : '<'} ${p.from}
    AND (m."expiresAt" IS NULL OR m."expiresAt" > ${p.now})
    AND (${p.createdAfter} IS NULL OR m."createdAt" > ${p.createdAfter})
  ORDER BY m."seq" ${direction === 'forward' ? 'ASC' : 'DESC'}
  LIMIT ${p.limit}`;
}

const POSTGRES_SQL = { forward: pageSql(POSTGRES, 'forward'), backward: pageSql(POSTGRES, 'backward') };

const prepared = new WeakMap<BetterSqlite3.Database, Record<Direction, BetterSqlite3.Statement<[Record<string, unknown>], MessageWithAuthorRow>>>();

function sqliteStatements(database: BetterSqlite3.Database) {
  let both = prepared.get(database);
  if (!both) {
    // Prisma's adapter turns on BigInt results for the whole connection; these fit in a number.
    const prepare = (direction: Direction) =>
      database.prepare<[Record<string, unknown>], MessageWithAuthorRow>(pageSql(SQLITE, direction)).raw(true).safeIntegers(false);
    prepared.set(database, (both = { forward: prepare('forward'), backward: prepare('backward') }));
  }
  return both;
}

/** The rows of the page's statement: a message, its author, then the reader's role. */
async function pageRows(db: Db, query: PageQuery): Promise<MessageWithAuthorRow[]> {
  const { page } = query;
  // Without a cursor the bound is the whole chat.
  const from = page.from ?? (page.direction === 'forward' ? 0 : Number.MAX_SAFE_INTEGER);
  const sqlite = sqliteConnection(db);
  if (sqlite) {
    const rows = sqliteStatements(sqlite.database())[page.direction].all({
      chatId: query.chatId,
      userId: query.userId,
      from,
      now: sqliteTime(query.now),
      createdAfter: query.createdAfter && sqliteTime(query.createdAfter),
      limit: page.size + 1,
    });
    sqlite.onStatement();
    return rows;
  }
  const postgres = postgresConnection(db);
  if (!postgres) throw new Error('History pages need a client from openDatabase.');
  const pool = await postgres.pool();
  const { rows } = await pool.query<MessageWithAuthorRow>({
    // Named: each pooled connection prepares it once.
    name: `history-page-${page.direction}`,
    text: POSTGRES_SQL[page.direction],
    values: [query.chatId, query.userId, from, query.now.toISOString(), query.createdAfter?.toISOString() ?? null, page.size + 1],
    rowMode: 'array',
  });
  postgres.onStatement();
  return rows;
}

/**
 * Up to page.size + 1 messages in reading order (see toConnection), each with
 * its author, and the reader's role in the chat; no rows for a non-member.
 */
export async function readPageWithAuthors(db: Db, query: PageQuery): Promise<{ rows: (Message & { author: User })[]; role: ChatRole | null }> {
  const rows = await pageRows(db, query);
  return { rows: messagesWithAuthors(rows), role: (rows[0]?.[AFTER_MESSAGE_WITH_AUTHOR] as ChatRole | undefined) ?? null };
}
