import {
  Client,
  fetchExchange,
  subscriptionExchange,
  type AnyVariables,
  type CombinedError,
  type TypedDocumentNode,
} from '@urql/core';
import { CloseCode, createClient as createSocketClient, type Client as SocketClient } from 'graphql-ws';
import type { ErrorCode as ContractCode } from '../errors.ts';

/**
 * The contract's `extensions.code` values, the masked INTERNAL_SERVER_ERROR,
 * and NETWORK for a server that could not be reached. A code the server
 * adds fails the clients' type check until they say what it means.
 */
export type ErrorCode = ContractCode | 'INTERNAL_SERVER_ERROR' | 'NETWORK';

/** A failed operation: the server's first error with its contract code. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode | (string & {}),
    message: string,
    /** For RATE_LIMITED: how long to wait before trying again. */
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The ApiError of an urql result's error: its first GraphQL error, else the network failure. */
function toApiError(error: CombinedError): ApiError {
  const first = error.graphQLErrors[0];
  if (!first) return new ApiError('NETWORK', error.networkError?.message ?? error.message);
  const { code, retryAfterSeconds } = first.extensions ?? {};
  return new ApiError(
    typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR',
    first.message,
    typeof retryAfterSeconds === 'number' ? retryAfterSeconds : null,
  );
}

/** Whether the WebSocket is usable right now; 'offline' while it reconnects. */
export type SocketStatus = 'connecting' | 'online' | 'offline';

export interface ApiOptions {
  /** The GraphQL endpoint over HTTP, e.g. http://localhost:4000/graphql; the WebSocket URL is derived from it. */
  url: string;
  /** Signs every request and the WebSocket in; without one only HTTP is used (register, login). */
  token?: string | null;
  /** Set to false to use HTTP only even with a token (e.g. to check a saved token first). */
  subscriptions?: boolean;
  /** The WebSocket class where there is no global one (Node.js: the `ws` package). */
  webSocketImpl?: unknown;
  /** How long to wait before reconnect attempt `retries` (0 for the first); graphql-ws's backoff by default. */
  retryWait?: (retries: number) => Promise<void>;
  /** The server refused the socket for good (token expired or revoked, too many sockets); it stays closed. */
  onSocketRefused?: (error: ApiError) => void;
}

interface LiveHandlers<Data> {
  next(data: Data): void;
  error(error: ApiError): void;
}

export interface Api {
  /** Runs a query or mutation; resolves with its data, rejects with an ApiError. */
  request<Data, Variables extends AnyVariables>(document: TypedDocumentNode<Data, Variables>, variables: Variables): Promise<Data>;
  /**
   * A subscription that outlives reconnects: dropped when the socket
   * closes, and subscribed again once it is back with `variables()` read
   * then, so a feed resumes from the last event it saw (afterSeq) instead of
   * replaying from where it started.
   */
  live<Data, Variables extends AnyVariables>(
    document: TypedDocumentNode<Data, Variables>,
    variables: () => Variables,
    handlers: LiveHandlers<Data>,
  ): () => void;
  readonly socketStatus: SocketStatus;
  /** Status changes of the WebSocket; `reconnected` is true when it came back after a drop. */
  onSocketStatus(listener: (status: SocketStatus, reconnected: boolean) => void): () => void;
  /** Drops the socket now (it reconnects by itself); for when the platform knows the network went away. */
  dropSocket(): void;
  close(): Promise<void>;
}

const isCloseEvent = (value: unknown): value is { code: number; reason: string } =>
  typeof value === 'object' && value !== null && 'code' in value && 'reason' in value;

// Closes that retrying would only meet again: 4403 (token invalid, expired or
// revoked) and graphql-ws's 4429, which the server uses for too many sockets of one user.
const REFUSED_CODES: number[] = [CloseCode.Forbidden, CloseCode.TooManyInitialisationRequests];

const isMutation = (document: Pick<TypedDocumentNode, 'definitions'>) =>
  document.definitions.some((definition) => definition.kind === 'OperationDefinition' && definition.operation === 'mutation');

/** Why the server refused the socket for good, as the ApiError the person is shown. */
function refusal(event: unknown): ApiError {
  if (!isCloseEvent(event)) return new ApiError('NETWORK', String(event));
  const reason = event.reason || `closed with code ${event.code}`;
  if (event.code === CloseCode.Forbidden) return new ApiError('UNAUTHENTICATED', `Signed out by the server: ${reason}.`);
  if (event.code === CloseCode.TooManyInitialisationRequests) return new ApiError('RATE_LIMITED', `${reason}.`);
  return new ApiError('NETWORK', `The server closed the connection: ${reason}.`);
}

/**
 * The clients' GraphQL connection: urql over HTTP for queries and
 * mutations, and over graphql-ws for subscriptions once signed in. The
 * socket reconnects for as long as the session lasts.
 */
export function createApi({ url, token = null, subscriptions = true, webSocketImpl, retryWait, onSocketRefused }: ApiOptions): Api {
  const authorization = token ? `Bearer ${token}` : null;
  let status: SocketStatus = 'connecting';
  const statusListeners = new Set<(status: SocketStatus, reconnected: boolean) => void>();
  const setStatus = (next: SocketStatus, reconnected = false) => {
    if (next === status) return; // each failed reconnect attempt closes again
    status = next;
    for (const listener of [...statusListeners]) listener(next, reconnected);
  };

  const socket: SocketClient | null =
    token && subscriptions
      ? createSocketClient({
          url: url.replace(/^http/, 'ws'),
          webSocketImpl,
          connectionParams: { authorization },
          // Connected for the whole session, not only while subscribed: a
          // connected socket is what shows this user online to others.
          lazy: false,
          retryAttempts: Infinity,
          retryWait,
          shouldRetry: (event) => !(isCloseEvent(event) && REFUSED_CODES.includes(event.code)),
          onNonLazyError: (event) => {
            setStatus('offline');
            onSocketRefused?.(refusal(event));
          },
          on: {
            connected: (_socket, _payload, wasRetry) => setStatus('online', wasRetry),
            closed: () => setStatus('offline'),
          },
        })
      : null;

  const client = new Client({
    url,
    fetchOptions: () => (authorization ? { headers: { authorization } } : {}),
    requestPolicy: 'network-only',
    exchanges: [
      fetchExchange,
      ...(socket
        ? [
            subscriptionExchange({
              forwardSubscription: (request) => ({
                subscribe: (sink) => ({
                  unsubscribe: socket.subscribe({ ...request, query: request.query ?? '' }, sink),
                }),
              }),
            }),
          ]
        : []),
    ],
  });

  return {
    async request(document, variables) {
      const result = await (isMutation(document) ? client.mutation(document, variables) : client.query(document, variables)).toPromise();
      if (result.error) throw toApiError(result.error);
      if (!result.data) throw new ApiError('INTERNAL_SERVER_ERROR', 'The server sent no data.');
      return result.data;
    },
    live(document, variables, handlers) {
      if (!socket) throw new Error('live() needs a signed-in Api (a token)');
      let stopped = false;
      const start = () =>
        client.subscription(document, variables()).subscribe((result) => {
          if (result.error) handlers.error(toApiError(result.error));
          else if (result.data) handlers.next(result.data);
        }).unsubscribe;
      let stop = start();
      let dropped = false;
      const offClosed = socket.on('closed', () => {
        if (dropped || stopped) return;
        dropped = true;
        stop();
      });
      const offConnected = socket.on('connected', () => {
        if (!dropped || stopped) return;
        dropped = false;
        stop = start();
      });
      return () => {
        stopped = true;
        offClosed();
        offConnected();
        stop();
      };
    },
    get socketStatus() {
      return status;
    },
    onSocketStatus(listener) {
      statusListeners.add(listener);
      return () => statusListeners.delete(listener);
    },
    dropSocket() {
      socket?.terminate();
    },
    async close() {
      statusListeners.clear();
      await socket?.dispose();
    },
  };
}
