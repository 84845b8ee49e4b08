/**
 * A page of a chat's history with each message's author, as one prepared
 * SQLite statement instead of Prisma's two (page, then authors): Prisma's
 * query layer and its adapter, which prepares every statement anew, were
 * most of a page's cost and garbage (README, "Performance"). Postgres pages
 * go through Prisma: there the network round trip, not the client, is the
 * cost. The rules stay in readHistory (src/domain/messages.ts).
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { ChatRole, Message, User } from '../generated/prisma/client.ts';
import type { Page } from '../domain/paging.ts';
import type { SqliteConnection } from './client.ts';
import { messagesWithAuthors, messageWithAuthorColumns, sqliteTime, type MessageWithAuthorRow } from './sqlite-rows.ts';

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

type Row = MessageWithAuthorRow & { viewerRole: ChatRole };

// The same visibility rule as visibleMessages (src/domain/messages.ts): not
// past the message's expiry, not older than the global retention.
const pageSql = (direction: 'forward' | 'backward') => `
  SELECT ${messageWithAuthorColumns('m', 'u')}, viewer."role" AS "viewerRole"
  FROM "Message" m
  JOIN "User" u ON u."id" = m."authorId"
  JOIN "ChatMember" viewer ON viewer."chatId" = m."chatId" AND viewer."userId" = @userId
  WHERE m."chatId" = @chatId
    AND m."seq" ${direction === 'forward' ? '>' : '<'} @from
    AND (m."expiresAt" IS NULL OR m."expiresAt" > @now)
    AND (@createdAfter IS NULL OR m."createdAt" > @createdAfter)
  ORDER BY m."seq" ${direction === 'forward' ? 'ASC' : 'DESC'}
  LIMIT @limit`;

const prepared = new WeakMap<BetterSqlite3.Database, Record<Page<number>['direction'], BetterSqlite3.Statement<[Record<string, unknown>], Row>>>();

function statements(database: BetterSqlite3.Database) {
  let both = prepared.get(database);
  if (!both) {
    // Prisma's adapter turns on BigInt results for the whole connection; these fit in a number.
    const prepare = (direction: 'forward' | 'backward') =>
      database.prepare<[Record<string, unknown>], Row>(pageSql(direction)).safeIntegers(false);
    prepared.set(database, (both = { forward: prepare('forward'), backward: prepare('backward') }));
  }
  return both;
}

/**
 * Up to page.size + 1 messages in reading order (see toConnection), each with
 * its author, and the reader's role in the chat; no rows for a non-member.
 */
export function readPageSqlite(sqlite: SqliteConnection, query: PageQuery): { rows: (Message & { author: User })[]; role: ChatRole | null } {
  const { page } = query;
  // Without a cursor the bound is the whole chat.
  const from = page.from ?? (page.direction === 'forward' ? 0 : Number.MAX_SAFE_INTEGER);
  const rows = statements(sqlite.database())[page.direction].all({
    chatId: query.chatId,
    userId: query.userId,
    from,
    now: sqliteTime(query.now),
    createdAfter: query.createdAfter && sqliteTime(query.createdAfter),
    limit: page.size + 1,
  });
  sqlite.onStatement();
  const messages = messagesWithAuthors(rows);
  return { rows: messages, role: rows[0]?.viewerRole ?? null };
}
