import type { AddressInfo } from 'node:net';
import { createSecretKey } from 'node:crypto';
import Database from 'better-sqlite3';
import Fastify from 'fastify';
import jwt from 'jsonwebtoken';
import { LRUCache } from 'lru-cache';
import mercurius, { type MercuriusContext } from 'mercurius';
import { isSeq, parsePage, toConnection, type PageArgs } from '../../src/domain/paging.ts';
import { sqlitePath } from '../../src/db/migrations.ts';
import type { Baseline } from './stack.ts';

/**
 * The "compiled executor" baseline for history pages: what a team would
 * build instead with fastify + Mercurius, its graphql-jit compilation on
 * (`jit: 1`), answering the bench's history query over the very SQLite file
 * the messenger uses, through better-sqlite3 with one prepared statement. It
 * pays the same auth per request as the messenger: a verified token is
 * remembered, its session row read at most once per SESSION_CACHE_MS, and
 * the membership check is part of the page's statement.
 */

const typeDefs = /* GraphQL */ `
  scalar DateTime
  type User { id: ID! username: String! }
  type Message { id: ID! seq: Int! text: String! createdAt: DateTime! author: User! }
  type MessageEdge { cursor: String! node: Message! }
  type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String }
  type MessageConnection { edges: [MessageEdge!]! pageInfo: PageInfo! }
  type Query { messages(chatId: ID!, first: Int, after: String, last: Int, before: String): MessageConnection! }
`;

declare module 'mercurius' {
  interface MercuriusContext {
    /** The signed-in user, or null. */
    userId: string | null;
  }
}

const SESSION_CACHE_MS = 5_000;

interface Row {
  id: string;
  seq: number;
  text: string;
  createdAt: string;
  authorId: string;
  authorName: string;
}

const globalId = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString('base64');
const fromGlobalId = (id: string) => Buffer.from(id, 'base64').toString('utf8').split(':').slice(1).join(':');

export async function startMercuriusBaseline(databaseUrl: string, jwtSecret: string, port = 0, host = '127.0.0.1'): Promise<Baseline> {
  if (!databaseUrl.startsWith('file:')) throw new Error('the Mercurius baseline reads SQLite only');
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
  const pages = { forward: page('forward'), backward: page('backward') };
  const sessionOf = database.prepare<[string], { userId: string }>('SELECT "userId" FROM "Session" WHERE "id" = ?');

  const key = createSecretKey(Buffer.from(jwtSecret, 'utf8'));
  const verified = new LRUCache<string, { userId: string; sessionId: string }>({ max: 50_000 });
  const sessions = new LRUCache<string, string>({ max: 50_000, ttl: SESSION_CACHE_MS });
  const viewerOf = (authorization: string | undefined): string | null => {
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
      userId = sessionOf.get(claims.sessionId)?.userId;
      if (userId === undefined) return null;
      sessions.set(claims.sessionId, userId);
    }
    return userId === claims.userId ? userId : null;
  };

  const app = Fastify({ logger: false });
  await app.register(mercurius, {
    schema: typeDefs,
    jit: 1,
    context: (request) => ({ userId: viewerOf(request.headers.authorization) }),
    resolvers: {
      Query: {
        messages: (_root: unknown, args: PageArgs & { chatId: string }, context: MercuriusContext) => {
          if (!context.userId) throw new mercurius.ErrorWithProps('Sign in first', { code: 'UNAUTHENTICATED' });
          const request = parsePage(args, isSeq);
          const rows = pages[request.direction].all({
            chatId: fromGlobalId(args.chatId),
            userId: context.userId,
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
      },
    },
  });
  await app.listen({ port, host });
  const address = app.server.address() as AddressInfo;
  return {
    server: app.server,
    url: `http://${host}:${address.port}/graphql`,
    stats: () => ({}),
    async stop() {
      await app.close();
      database.close();
    },
  };
}
