import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExecutionArgs, execute as executeFn, subscribe as subscribeFn } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { DateTimeResolver } from 'graphql-scalars';
import { createGraphQLError, createPubSub, createSchema, createYoga, type YogaInitialContext } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import type { PageArgs } from '../../src/domain/paging.ts';
import { globalId, HISTORY_TYPE_DEFS, historyStore } from './history-store.ts';

/**
 * The "stack limit" baseline: graphql-yoga + graphql-ws with the messenger's
 * Message / sendMessage / messageAdded shape, an in-memory store, no auth and
 * no database. WebSocket operations go through yoga's enveloped pipeline in
 * onSubscribe exactly as src/server/websocket.ts does, so the difference to
 * the real server is what the application adds (auth, SQL, per-event reads).
 * Its history query reads the messenger's SQLite file as the Mercurius
 * baseline does (./history-store.ts), so the two differ in the server stack only.
 */

interface StoredMessage {
  id: string;
  chatId: string;
  seq: number;
  text: string;
  clientId: string | null;
  createdAt: Date;
  editedAt: Date | null;
}

const typeDefs = /* GraphQL */ `
  scalar DateTime
  type User { id: ID! username: String! }
  type Chat { id: ID! name: String! }
  type Message {
    id: ID!
    chat: Chat!
    author: User!
    text: String!
    seq: Int!
    clientId: String
    createdAt: DateTime!
    editedAt: DateTime
    isEdited: Boolean!
  }
  input SendMessageInput { chatId: ID, toUsername: String, text: String!, clientId: String }
  ${HISTORY_TYPE_DEFS}
  type Query {
    lastMessage(chatId: ID!): Message
    messages(chatId: ID!, first: Int, after: String, last: Int, before: String): MessageConnection!
  }
  type Mutation { sendMessage(input: SendMessageInput!): Message! }
  type Subscription { messageAdded(chatId: ID, afterSeq: Int): Message! }
`;

const AUTHOR = { id: globalId('User', 'bench-author'), username: 'bench' };

interface EnvelopedRoot {
  execute: typeof executeFn;
  subscribe: typeof subscribeFn;
}

export interface Baseline {
  server: Server;
  url: string;
  /** Live subscriptions (stack) or open sockets (transport). */
  stats(): Record<string, number>;
  stop(): Promise<void>;
}

/** `history`: the messenger's DATABASE_URL and JWT_SECRET, for the history query. */
export async function startStackBaseline(history: { databaseUrl: string; jwtSecret: string }, port = 0, host = '127.0.0.1'): Promise<Baseline> {
  const store = historyStore(history.databaseUrl, history.jwtSecret);
  const pubSub = createPubSub<{ 'message:added': [chatId: string, message: StoredMessage] }>();
  const lastSeq = new Map<string, number>();
  const latest = new Map<string, StoredMessage>();
  let nextId = 0;
  let subscriptions = 0;

  const schema = createSchema({
    typeDefs,
    resolvers: {
      DateTime: DateTimeResolver,
      Message: {
        id: (message: StoredMessage) => globalId('Message', message.id),
        chat: (message: StoredMessage) => ({ id: globalId('Chat', message.chatId), name: 'bench' }),
        author: () => AUTHOR,
        isEdited: (message: StoredMessage) => message.editedAt !== null,
      },
      Query: {
        lastMessage: (_root: unknown, args: { chatId: string }) => latest.get(args.chatId) ?? null,
        messages: (_root: unknown, args: PageArgs & { chatId: string }, context: YogaInitialContext) => {
          const userId = store.viewerOf(context.request.headers.get('authorization'));
          if (!userId) throw createGraphQLError('Sign in first', { extensions: { code: 'UNAUTHENTICATED' } });
          return store.page(args, userId);
        },
      },
      Mutation: {
        sendMessage: (_root: unknown, { input }: { input: { chatId?: string; text: string; clientId?: string } }) => {
          const chatId = input.chatId ?? 'direct';
          const seq = (lastSeq.get(chatId) ?? 0) + 1;
          lastSeq.set(chatId, seq);
          nextId += 1;
          const message: StoredMessage = {
            id: `m${nextId}`,
            chatId,
            seq,
            text: input.text,
            clientId: input.clientId ?? null,
            createdAt: new Date(),
            editedAt: null,
          };
          // Only the newest is kept: a store that grew for the whole run would measure the GC, not the stack.
          latest.set(chatId, message);
          pubSub.publish('message:added', chatId, message);
          return message;
        },
      },
      Subscription: {
        messageAdded: {
          subscribe: (_root: unknown, args: { chatId?: string }) => pubSub.subscribe('message:added', args.chatId ?? 'direct'),
          resolve: (message: StoredMessage) => message,
        },
      },
    },
  });

  const yoga = createYoga({ schema, graphqlEndpoint: '/graphql', graphiql: false, landingPage: false, logging: false });
  const server = createServer(yoga);
  const wss = new WebSocketServer({ server, path: yoga.graphqlEndpoint });
  const disposable = useServer(
    {
      onSubscribe: async (ctx, _id, payload) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
        });
        const document = parse(payload.query);
        const errors = validate(schema, document);
        if (errors.length > 0) return errors;
        subscriptions += 1;
        const args: ExecutionArgs = {
          schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe } satisfies EnvelopedRoot,
        };
        return args;
      },
      onComplete: () => {
        subscriptions -= 1;
      },
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args),
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args),
    },
    wss,
  );

  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const address = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host}:${address.port}/graphql`,
    stats: () => ({ sockets: wss.clients.size, subscriptions }),
    async stop() {
      for (const client of wss.clients) client.terminate();
      await disposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      store.close();
    },
  };
}
