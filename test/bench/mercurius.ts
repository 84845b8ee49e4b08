import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import mercurius, { type MercuriusContext } from 'mercurius';
import type { PageArgs } from '../../src/domain/paging.ts';
import { HISTORY_TYPE_DEFS, historyStore } from './history-store.ts';
import type { Baseline } from './stack.ts';

/**
 * The "compiled executor" baseline for history pages: what a team would
 * build instead with fastify + Mercurius, its graphql-jit compilation on
 * (`jit: 1`), answering the bench's history query over the very SQLite file
 * the messenger uses (./history-store.ts).
 */

const typeDefs = /* GraphQL */ `
  scalar DateTime
  type User { id: ID! username: String! }
  type Message { id: ID! seq: Int! text: String! createdAt: DateTime! author: User! }
  ${HISTORY_TYPE_DEFS}
  type Query { messages(chatId: ID!, first: Int, after: String, last: Int, before: String): MessageConnection! }
`;

declare module 'mercurius' {
  interface MercuriusContext {
    /** The signed-in user, or null. */
    userId: string | null;
  }
}

export async function startMercuriusBaseline(databaseUrl: string, jwtSecret: string, port = 0, host = '127.0.0.1'): Promise<Baseline> {
  const store = historyStore(databaseUrl, jwtSecret);
  const app = Fastify({ logger: false });
  await app.register(mercurius, {
    schema: typeDefs,
    jit: 1,
    context: (request) => ({ userId: store.viewerOf(request.headers.authorization) }),
    resolvers: {
      Query: {
        messages: (_root: unknown, args: PageArgs & { chatId: string }, context: MercuriusContext) => {
          if (!context.userId) throw new mercurius.ErrorWithProps('Sign in first', { code: 'UNAUTHENTICATED' });
          return store.page(args, context.userId);
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
      store.close();
    },
  };
}
