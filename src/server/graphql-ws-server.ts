import type { IncomingMessage } from 'node:http';
import { CloseCode, handleProtocols, makeServer, type ServerOptions, type WebSocket as ProtocolSocket } from 'graphql-ws';
import type { Logger } from 'pino';
import type { WebSocket, WebSocketServer } from 'ws';

/** RFC 6455 "going away": the server is shutting down; clients may reconnect. */
export const GOING_AWAY = 1001;

/** What every socket's `extra` holds, besides what `extraOf` adds. */
export interface SocketExtra {
  readonly socket: WebSocket;
}

/**
 * One socket as graphql-ws's server sees it. A class, so an idle socket holds
 * one small object here rather than the closures and timers per socket of
 * graphql-ws/use/ws.
 */
class Connection implements ProtocolSocket {
  receive: ((data: string) => Promise<void>) | null = null;
  closed: ((code?: number, reason?: string) => Promise<void>) | null = null;

  constructor(readonly socket: WebSocket) {}

  get protocol() {
    return this.socket.protocol;
  }

  send(data: string) {
    return new Promise<void>((resolve, reject) => {
      if (this.socket.readyState !== this.socket.OPEN) return resolve();
      this.socket.send(data, (error) => (error ? reject(error) : resolve()));
    });
  }

  close(code: number, reason: string) {
    this.socket.close(code, reason);
  }

  onMessage(receive: (data: string) => Promise<void>) {
    this.receive = receive;
  }
}

/**
 * graphql-ws's protocol server on the sockets of `wss`, as
 * graphql-ws/use/ws runs it, with three differences that only lower what an
 * idle socket costs: one keep-alive sweep for all sockets (every
 * `keepAliveMs`, a socket that has not answered the last ping is
 * terminated, the others are pinged), listeners shared by all sockets, and
 * an `extra` of the caller's making, so the upgrade request is not kept for
 * the socket's lifetime. Internal errors are logged and close the socket
 * with 1011, in every environment.
 */
export function serveGraphqlWs<E extends SocketExtra>(
  wss: WebSocketServer,
  options: ServerOptions<Record<string, unknown>, E>,
  { keepAliveMs, extraOf, logger }: {
    keepAliveMs: number;
    /** The socket's `extra`, made once when it opens; keep from `request` only what is needed. */
    extraOf: (socket: WebSocket, request: IncomingMessage) => E;
    logger: Logger;
  },
) {
  const server = makeServer(options);
  wss.options.handleProtocols = handleProtocols;
  const connections = new WeakMap<WebSocket, Connection>();
  const internalError = (socket: WebSocket, error: unknown, what: string) => {
    logger.error({ err: error }, what);
    socket.close(CloseCode.InternalServerError, 'Internal server error');
  };

  // Listeners shared by every socket: `this` is the socket.
  function onMessage(this: WebSocket, data: Buffer) {
    const receive = connections.get(this)?.receive;
    receive?.(String(data)).catch((error: unknown) => internalError(this, error, 'handling a WebSocket message failed'));
  }
  function onError(this: WebSocket, error: Error) {
    internalError(this, error, 'WebSocket error');
  }
  const awaitingPong = new Set<WebSocket>();
  function onPong(this: WebSocket) {
    awaitingPong.delete(this);
  }
  function onClose(this: WebSocket, code: number, reason: Buffer) {
    awaitingPong.delete(this);
    void connections.get(this)?.closed?.(code, String(reason));
  }

  wss.on('connection', (socket, request) => {
    const connection = new Connection(socket);
    connections.set(socket, connection);
    socket.once('error', onError);
    socket.on('message', onMessage);
    socket.on('pong', onPong);
    socket.once('close', onClose);
    connection.closed = server.opened(connection, extraOf(socket, request));
  });
  wss.once('error', (error) => {
    logger.error({ err: error }, 'WebSocket server error');
    for (const client of wss.clients) client.close(CloseCode.InternalServerError, 'Internal server error');
  });

  const keepAlive =
    keepAliveMs > 0 && Number.isFinite(keepAliveMs)
      ? setInterval(() => {
          for (const socket of wss.clients) {
            if (socket.readyState !== socket.OPEN) continue;
            if (awaitingPong.has(socket)) {
              socket.terminate();
              continue;
            }
            awaitingPong.add(socket);
            socket.ping();
          }
        }, keepAliveMs).unref()
      : undefined;

  return {
    async dispose() {
      clearInterval(keepAlive);
      for (const client of wss.clients) client.close(GOING_AWAY, 'Going away');
      wss.removeAllListeners();
      await new Promise<void>((resolve, reject) => wss.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
