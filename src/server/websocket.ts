import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { ExecutionArgs, ExecutionResult, GraphQLError, execute as executeFn, subscribe as subscribeFn } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { createGraphQLError } from 'graphql-yoga';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Services } from '../context.ts';
import type { Client } from '../domain/accounts.ts';
import { tokenFromCredential, type Viewer } from '../domain/auth.ts';
import { encodeResult, type ResultWriter } from './broadcast.ts';
import type { Metrics } from './metrics.ts';
import { AppError } from '../errors.ts';
import { clientOf } from './client.ts';
import { withCode, withoutHttpHints } from './errors.ts';
import { GOING_AWAY, serveGraphqlWs, type SocketExtra } from './graphql-ws-server.ts';
import { createSocketSessions } from './socket-sessions.ts';
import type { SocketContext, YogaServer } from './yoga.ts';

// setTimeout takes at most a signed 32-bit number of milliseconds.
const MAX_TIMER_MS = 2 ** 31 - 1;
// graphql-ws has no "too many sockets" code; its "too many" close code says it best.
const TOO_MANY_SOCKETS = CloseCode.TooManyInitialisationRequests;
/** More than WS_MAX_BUFFERED_BYTES waited unread: the client resumes with afterSeq (README, "Live updates"). */
export const SLOW_READER = 4413;


/**
 * Writes each of a subscription's results to its socket as a graphql-ws
 * `next` message, and hands graphql-ws an iterable that only ends (or
 * throws) when the results do, so its `complete` or `error` still follows
 * the last `next`. Taking `next` over from graphql-ws is what lets one event
 * reach a thousand sockets as one JSON encoding and a thousand writes:
 * graphql-ws encodes, awaits and writes every message per subscriber
 * (README, "Performance"). Subscriptions run in a broadcast group
 * (./broadcast.ts) write through the same `writeResult` and are not streamed here.
 */
function streamTo(root: OperationRoot, results: AsyncIterable<ExecutionResult>): AsyncIterableIterator<never> {
  const iterator = results[Symbol.asyncIterator]();
  let pumping: Promise<IteratorResult<never>> | undefined;
  const pump = async (): Promise<IteratorResult<never>> => {
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      // Paced by the socket: the next result (a replay's next message) is
      // read only once a full buffer has drained.
      await root.writeResult(encodeResult(next.value));
    }
    return { done: true, value: undefined as never };
  };
  return {
    next: () => (pumping ??= pump()),
    return: async () => {
      await iterator.return?.();
      return { done: true, value: undefined as never };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** The TCP socket under a `ws` socket. */
const tcpOf = (socket: WebSocket) => (socket as unknown as { _socket: Socket })._socket;

/**
 * One unmasked, final text frame (RFC 6455, section 5.2) holding `parts`, in
 * one buffer. Written straight to the TCP socket, it costs one write where
 * `ws` makes two, header and payload (README, "Performance"). Sound because
 * this server negotiates no extension: `ws` then queues nothing of its own,
 * and writes each frame of its own (pings, closes) in one synchronous go.
 */
function textFrame(parts: Buffer[]): Buffer {
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81;
  if (header === 2) frame[1] = length;
  else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  let at = header;
  for (const part of parts) at += part.copy(frame, at);
  return frame;
}

const NEXT_END = Buffer.from('}');

/**
 * Each operation's rootValue: its enveloped `execute` and `subscribe`, and
 * the writer of its `next` messages. A socket with more than `maxBuffered`
 * bytes queued unread is a reader too slow for its events: it is closed
 * (`onSlow`) rather than buffered for without bound, and its client resumes
 * with afterSeq. Above a quarter of that, a write returns a promise that
 * resolves once the socket has taken it, for streams that can wait (a
 * replay); live fan-out does not wait.
 */
class OperationRoot implements ResultWriter {
  membership?: AsyncIterableIterator<never>;
  private readonly prefix: Buffer;

  constructor(
    readonly execute: typeof executeFn,
    readonly subscribe: typeof subscribeFn,
    private readonly socket: WebSocket,
    id: string,
    private readonly maxBuffered: number,
    private readonly onSlow: (socket: WebSocket) => void,
  ) {
    this.prefix = Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":`);
  }

  writeResult(json: Buffer) {
    const { socket, maxBuffered } = this;
    if (socket.readyState !== socket.OPEN) return;
    const buffered = socket.bufferedAmount;
    if (buffered > maxBuffered) return this.onSlow(socket);
    const frame = textFrame([this.prefix, json, NEXT_END]);
    if (buffered < maxBuffered / 4) return void tcpOf(socket).write(frame);
    return new Promise<void>((resolve) => tcpOf(socket).write(frame, () => resolve()));
  }
}

/** What the server keeps of each socket: graphql-ws hands it back as `ctx.extra`. */
interface SocketState extends SocketExtra {
  client: Client;
  /** Counted among its address's sockets without connection_init until it sends one or closes. */
  pending: boolean;
  /** Set once the socket is registered: its user counted online, its session watched. */
  viewer?: Viewer;
  expiryTimer?: NodeJS.Timeout;
  operations: number;
}

interface WebSocketDeps {
  httpServer: Server;
  yoga: YogaServer;
  services: Services;
  metrics: Metrics;
  logger: Logger;
}

/**
 * graphql-ws on the HTTP server's /graphql path. Every operation runs through
 * yoga's enveloped pipeline, so plugins, error masking and authorization are
 * the same as over HTTP. The socket is authenticated once, at
 * connection_init, and closed with 4403 when its token expires or its session
 * is revoked. Authenticated sockets are what make a user online.
 */
export function attachWebSocketServer({ httpServer, yoga, services, metrics, logger }: WebSocketDeps) {
  const { config, presence, bus } = services;
  const limits = config.websocket;
  // No permessage-deflate (`ws`'s default, kept explicit): it would cost a zlib
  // context per socket, and textFrame writes frames uncompressed.
  const wss = new WebSocketServer({
    server: httpServer,
    path: yoga.graphqlEndpoint,
    maxPayload: limits.maxPayloadBytes,
    perMessageDeflate: false,
  });
  const sessions = createSocketSessions({
    db: services.prisma,
    bus,
    recheckMs: config.sessionRecheckSeconds * 1000,
    onError: (error) => logger.error({ err: error }, 'checking the sessions of open sockets failed'),
  });
  const slowReader = (socket: WebSocket) => {
    if (socket.readyState !== socket.OPEN) return;
    metrics.slowReaderCloses.inc();
    socket.close(SLOW_READER, 'Reader too slow: resubscribe with afterSeq');
  };
  const expire = (socket: WebSocket) => sessions.end(socket, 'Token expired');

  // Before graphql-ws sees a socket: how many sockets an address opens, and
  // how many of them have not sent connection_init yet (each holds memory
  // and a timer until then).
  const pending = new Map<string, number>();
  const settle = (state: SocketState) => {
    if (!state.pending) return;
    state.pending = false;
    const { address } = state.client;
    const left = (pending.get(address) ?? 1) - 1;
    if (left > 0) pending.set(address, left);
    else pending.delete(address);
  };
  const opened = (socket: WebSocket, request: IncomingMessage): SocketState => {
    const state: SocketState = { socket, client: clientOf(request, config.trustProxy), pending: true, operations: 0 };
    const { address } = state.client;
    pending.set(address, (pending.get(address) ?? 0) + 1);
    if (pending.get(address)! > limits.maxPendingPerAddress) {
      socket.close(TOO_MANY_SOCKETS, 'Too many sockets without connection_init from this address');
      return state;
    }
    services.limits.take('connectionsPerAddress', address).catch((error: unknown) => {
      if (error instanceof AppError) socket.close(TOO_MANY_SOCKETS, error.message);
      else logger.error({ err: error }, 'counting connections failed');
    });
    return state;
  };

  const disposable = serveGraphqlWs<SocketState>(
    wss,
    {
      connectionInitWaitTimeout: limits.initTimeoutMs,
      onConnect: async (ctx) => {
        settle(ctx.extra);
        const params = ctx.connectionParams ?? {};
        const token = tokenFromCredential(params.authorization ?? params.Authorization ?? params.token);
        const viewer = await services.auth.check(token);
        const socket = ctx.extra.socket;
        if (typeof viewer === 'string') {
          // graphql-ws would close with 4403 "Forbidden": the reason tells the client what to do.
          socket.close(CloseCode.Forbidden, viewer);
          return false;
        }
        // Gone while its token was checked: onClose has already run, so nothing may be registered.
        if (socket.readyState !== socket.OPEN) return false;
        if (presence.socketCount(viewer.userId) >= limits.maxSocketsPerUser) {
          socket.close(TOO_MANY_SOCKETS, 'Too many sockets for this user');
          return false;
        }
        const state = ctx.extra;
        state.viewer = viewer;
        const untilExpiry = viewer.tokenExpiresAt.getTime() - Date.now();
        state.expiryTimer = setTimeout(expire, Math.min(Math.max(untilExpiry, 0), MAX_TIMER_MS), socket);
        sessions.add(viewer.sessionId, socket);
        presence.connect(viewer.userId);
        metrics.sockets.inc();
        return true;
      },
      // Not onDisconnect, which graphql-ws skips for a socket that closed before its acknowledgement.
      onClose: async (ctx) => {
        const state = ctx.extra;
        settle(state);
        clearTimeout(state.expiryTimer);
        const { viewer } = state;
        if (!viewer) return;
        state.viewer = undefined;
        sessions.remove(viewer.sessionId, ctx.extra.socket);
        metrics.sockets.dec();
        await presence.disconnect(viewer.userId).catch((error: unknown) => {
          logger.error({ err: error }, 'recording presence failed');
        });
      },
      onSubscribe: async (ctx, id, payload) => {
        const state = ctx.extra;
        // Frames that arrive after the session ended are never run.
        if (!state.viewer || sessions.isRevoked(ctx.extra.socket)) {
          return [createGraphQLError('The session has ended.', { extensions: { code: 'UNAUTHENTICATED' } })];
        }
        if (state.operations >= limits.maxSubscriptionsPerSocket) {
          return [
            createGraphQLError(`At most ${limits.maxSubscriptionsPerSocket} operations at once on one socket.`, {
              extensions: { code: 'RATE_LIMITED', retryAfterSeconds: 1 },
            }),
          ];
        }
        const socketContext: SocketContext = { viewer: state.viewer, client: state.client };
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          ...socketContext,
          socket: ctx.extra.socket,
          params: payload,
        });
        let document;
        try {
          document = parse(payload.query);
        } catch (error) {
          return [withCode(error as GraphQLError, 'GRAPHQL_PARSE_FAILED')];
        }
        const errors = validate(schema, document);
        if (errors.length > 0) return errors.map((error: GraphQLError) => withCode(error, 'GRAPHQL_VALIDATION_FAILED'));
        state.operations += 1;
        metrics.subscriptions.inc();
        const args: ExecutionArgs = {
          schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          // A copy: envelop builds the context with Object.assign, which leaves
          // V8 a dictionary of it, about twice the size, held as long as the operation.
          contextValue: { ...(await contextFactory()) },
          rootValue: new OperationRoot(execute, subscribe, ctx.extra.socket, id, limits.maxBufferedBytes, slowReader),
        };
        return args;
      },
      onComplete: (ctx) => {
        ctx.extra.operations -= 1;
        metrics.subscriptions.dec();
      },
      // Queries and mutations, whose results graphql-ws sends itself.
      onNext: (_ctx, _id, _payload, _args, result) => withoutHttpHints(result),
      execute: (args) => (args.rootValue as OperationRoot).execute(args),
      subscribe: async (args) => {
        const root = args.rootValue as OperationRoot;
        const results = await root.subscribe(args);
        if (root.membership) return root.membership;
        return Symbol.asyncIterator in results ? streamTo(root, results) : results;
      },
    },
    { keepAliveMs: limits.keepAliveMs, extraOf: opened, logger },
  );

  return {
    async close() {
      await sessions.close();
      for (const client of wss.clients) client.close(GOING_AWAY, 'Server shutting down');
      await disposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
