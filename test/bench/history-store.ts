import { createSecretKey } from 'node:crypto';
import Database from 'better-sqlite3';
import jwt from 'jsonwebtoken';
import { LRUCache } from 'lru-cache';
import { isSeq, parsePage, toConnection, type Connection, type PageArgs } from '../../src/domain/paging.ts';
import { sqlitePath } from '../../src/db/migrations.ts';

/**
 * What the history baselines (./mercurius.ts, ./stack.ts) answer the bench's
 * history query from: the messenger's SQLite file through better-sqlite3,
 * one prepared statement with the membership check in it, and the same auth
 * per request as the messenger (a verified token is remembered, its session
 * row read at most once per SESSION_CACHE_MS). Opened on the first page, so
 * a baseline can start before the messenger has made the file.
 */

const SESSION_CACHE_MS = 5_000;

interface Row {
  id: string;
  seq: number;
  text: string;
  createdAt: string;
  authorId: string;
  authorName: string;
}

export const globalId = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString('base64');
const fromGlobalId = (id: string) => Buffer.from(id, 'base64').toString('utf8').split(':').slice(1).join(':');

/** The history part of a baseline's schema, in SDL. */
export const HISTORY_TYPE_DEFS = /* GraphQL */ `
  type MessageEdge { cursor: String! node: Message! }
  type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String }
  type MessageConnection { edges: [MessageEdge!]! pageInfo: PageInfo! }
`;

export interface HistoryStore {
  /** The signed-in user of an Authorization header, or null. */
  viewerOf(authorization: string | null | undefined): string | null;
  /** A page of the chat's history for `userId`, as the connection the query answers. */
  page(args: PageArgs & { chatId: string }, userId: string): Connection<unknown>;
  close(): void;
}

export function historyStore(databaseUrl: string, jwtSecret: string): HistoryStore {
  if (!databaseUrl.startsWith('file:')) throw new Error('the history baselines read SQLite only');
  let opened: ReturnType<typeof open> | undefined;
  const open = () => {
    const database = new Database(sqlitePath(databaseUrl));
    const page = (direction: 'forward' | 'backward') =>
      database.prepare<[Record<string, unknown>], Row>(`
        SELECT m."id", m."seq", m."text", m."createdAt", u."id" AS "authorId", u."username" AS "authorName"
        FROM "Message" m
        JOIN "User" u ON u."id" = m."authorId"
        JOIN "ChatMember" viewer ON viewer."chatId" = m."chatId" AND viewer."userId" = @userId
        WHERE m."chatId" = @chatId AND m."seq" ${direction === 'forward' ? '>' : '<'} @from
          AND (m."expiresAt" IS NULL OR m."expiresAt" > @now)
        ORDER BY m."seq" ${direction === 'forward' ? 'ASC' : 'DESC'}
        LIMIT @limit`);
    return {
      database,
      pages: { forward: page('forward'), backward: page('backward') },
      sessionOf: database.prepare<[string], { userId: string }>('SELECT "userId" FROM "Session" WHERE "id" = ?'),
    };
  };
  const db = () => (opened ??= open());

  const key = createSecretKey(Buffer.from(jwtSecret, 'utf8'));
  const verified = new LRUCache<string, { userId: string; sessionId: string }>({ max: 50_000 });
  const sessions = new LRUCache<string, string>({ max: 50_000, ttl: SESSION_CACHE_MS });
  return {
    viewerOf(authorization) {
      const token = authorization?.replace(/^Bearer\s+/i, '');
      if (!token) return null;
      let claims = verified.get(token);
      if (!claims) {
        try {
          const decoded = jwt.verify(token, key, { algorithms: ['HS256'] }) as { sub: string; sid: string };
          verified.set(token, (claims = { userId: decoded.sub, sessionId: decoded.sid }));
        } catch {
          return null;
        }
      }
      let userId = sessions.get(claims.sessionId);
      if (userId === undefined) {
        userId = db().sessionOf.get(claims.sessionId)?.userId;
        if (userId === undefined) return null;
        sessions.set(claims.sessionId, userId);
      }
      return userId === claims.userId ? userId : null;
    },
    page(args, userId) {
      const request = parsePage(args, isSeq);
      const rows = db().pages[request.direction].all({
        chatId: fromGlobalId(args.chatId),
        userId,
        from: request.from ?? (request.direction === 'forward' ? 0 : Number.MAX_SAFE_INTEGER),
        now: new Date().toISOString().replace('Z', '+00:00'),
        limit: request.size + 1,
      });
      const messages = rows.map((row) => ({
        id: globalId('Message', row.id),
        seq: row.seq,
        text: row.text,
        createdAt: new Date(row.createdAt).toISOString(),
        author: { id: globalId('User', row.authorId), username: row.authorName },
      }));
      return toConnection(request, messages, (message) => message.seq);
    },
    close() {
      opened?.database.close();
    },
  };
}
