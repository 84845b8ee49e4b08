import type { Server } from 'node:http';
import type { ExecutionArgs, GraphQLError, execute as executeFn, subscribe as subscribeFn } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { AppConfig } from '../config.ts';
import type { Db } from '../db/client.ts';
import { authenticate, tokenFromCredential, type Viewer } from '../domain/auth.ts';
import type { SocketContext, YogaServer } from './yoga.ts';

// setTimeout takes at most a signed 32-bit number of milliseconds.
const MAX_TIMER_MS = 2 ** 31 - 1;
// RFC 6455 "going away": the server is shutting down; clients may reconnect.
const GOING_AWAY = 1001;

interface EnvelopedRoot {
  execute: typeof executeFn;
  subscribe: typeof subscribeFn;
}

interface SocketState {
  viewer?: Viewer;
  expiryTimer?: NodeJS.Timeout;
}

interface WebSocketDeps {
  httpServer: Server;
  yoga: YogaServer;
  prisma: Db;
  config: AppConfig;
}

/**
 * graphql-ws on the HTTP server's /graphql path. Every operation runs through
 * yoga's enveloped pipeline, so plugins, error masking and authorization are
 * the same as over HTTP; the socket is authenticated once, at connection_init.
 */
export function attachWebSocketServer({ httpServer, yoga, prisma, config }: WebSocketDeps) {
  const wss = new WebSocketServer({ server: httpServer, path: yoga.graphqlEndpoint });
  const states = new WeakMap<object, SocketState>();
  const stateOf = (extra: object) => {
    let state = states.get(extra);
    if (!state) states.set(extra, (state = {}));
    return state;
  };

  const disposable = useServer<Record<string, unknown>>(
    {
      connectionInitWaitTimeout: 10_000,
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const token = tokenFromCredential(params.authorization ?? params.Authorization ?? params.token);
        const viewer = await authenticate(prisma, config, token);
        if (!viewer) return false; // graphql-ws closes with CloseCode.Forbidden (4403)
        const state = stateOf(ctx.extra);
        state.viewer = viewer;
        const untilExpiry = viewer.tokenExpiresAt.getTime() - Date.now();
        state.expiryTimer = setTimeout(
          () => ctx.extra.socket.close(CloseCode.Forbidden, 'Token expired'),
          Math.min(Math.max(untilExpiry, 0), MAX_TIMER_MS),
        );
        return true;
      },
      onClose: (ctx) => {
        clearTimeout(stateOf(ctx.extra).expiryTimer);
      },
      onSubscribe: async (ctx, _id, payload) => {
        const socketContext: SocketContext = {
          viewer: stateOf(ctx.extra).viewer!,
          userAgent: ctx.extra.request.headers['user-agent'] ?? null,
        };
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          ...socketContext,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
        });
        let document;
        try {
          document = parse(payload.query);
        } catch (error) {
          return [error as GraphQLError];
        }
        const errors = validate(schema, document);
        if (errors.length > 0) return errors;
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
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args),
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args),
    },
    wss,
  );

  return {
    async close() {
      for (const client of wss.clients) client.close(GOING_AWAY, 'Server shutting down');
      await disposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
