import type { Client, ExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import { DELETE, EDIT, ok, send, sleep } from './chats.ts';
import type { TestServer } from './server.ts';
import type { SignedUp } from './users.ts';

/** How long a test waits for something that must happen, unless it says otherwise. */
export const WAIT_MS = 3_000;
/** How long a test listens for something that must not happen, after a later event that must. */
export const QUIET_MS = 300;

export interface GraphQLErrorLike {
  message: string;
  extensions?: { code?: string; [key: string]: unknown };
}

/** Rejects after `ms` with `describe()` in the message; `work` settles first otherwise. */
export function within<T>(ms: number, work: Promise<T>, describe: () => string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${describe()}`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `check` every 50 ms until it holds; rejects after `ms` naming `what`. */
export async function eventually(check: () => Promise<boolean>, ms = WAIT_MS, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

export interface LiveOptions {
  /** Events for which this returns true are kept out of `events` (e.g. readiness probes). */
  ignore?: (event: any) => boolean;
}

/**
 * One subscription over a graphql-ws client, recording what arrives:
 * `events` holds the subscription field of every result with data (e.g. the
 * Message of `messageAdded`), `results` every raw result, `error` what the
 * error sink received.
 */
export class Live<T = any> {
  readonly results: ExecutionResult[] = [];
  readonly events: T[] = [];
  /** Events the `ignore` option kept out of `events`. */
  readonly ignored: T[] = [];
  error: unknown = undefined;
  completed = false;
  private cursor = 0;
  private waiters = new Set<() => void>();
  private readonly stop: () => void;

  constructor(
    client: Client,
    readonly query: string,
    readonly variables: Record<string, unknown> = {},
    private readonly options: LiveOptions = {},
  ) {
    this.stop = client.subscribe<T>(
      { query, variables },
      {
        next: (result) => {
          this.results.push(result as ExecutionResult);
          const data = result.data as Record<string, T> | null | undefined;
          if (data) {
            const event = Object.values(data)[0]!;
            (this.options.ignore?.(event) ? this.ignored : this.events).push(event);
          }
          this.wake();
        },
        error: (error) => {
          this.error = error;
          this.wake();
        },
        complete: () => {
          this.completed = true;
          this.wake();
        },
      },
    );
  }

  /** Everything that arrived, ignored or not: at least one means the subscription is live. */
  get received(): number {
    return this.results.length;
  }

  get ended(): boolean {
    return this.completed || this.error !== undefined;
  }

  /** Events after the last `take`/`skip`. */
  get fresh(): T[] {
    return this.events.slice(this.cursor);
  }

  /** Forgets the events so far: later `take`s start after them. */
  skip(): void {
    this.cursor = this.events.length;
  }

  describe(): string {
    return JSON.stringify({
      events: this.events,
      ignored: this.ignored.length,
      errors: this.errors(),
      error: describeError(this.error),
      completed: this.completed,
    });
  }

  /** Waits until `check()` holds (checked on every arrival), at most `ms`. */
  async until(check: () => boolean, ms = WAIT_MS): Promise<void> {
    let waiter!: () => void;
    const work = new Promise<void>((resolve, reject) => {
      waiter = () => {
        try {
          if (check()) resolve();
        } catch (error) {
          reject(error);
        }
      };
      this.waiters.add(waiter);
      waiter();
    });
    try {
      await within(ms, work, () => this.describe());
    } finally {
      this.waiters.delete(waiter);
    }
  }

  /** The next `n` events after the last `take`/`skip`; rejects with what arrived if they do not come within `ms`. */
  async take(n: number, ms = WAIT_MS): Promise<T[]> {
    const from = this.cursor;
    await this.until(() => {
      if (this.events.length >= from + n) return true;
      if (this.ended) throw new Error(`subscription ended before ${n} events: ${this.describe()}`);
      return false;
    }, ms).catch((error: Error) => {
      throw new Error(`waiting for ${n} events of ${this.query.trim().split('\n')[0]}: ${error.message}`);
    });
    this.cursor = from + n;
    return this.events.slice(from, from + n);
  }

  /** The next event. */
  async next(ms = WAIT_MS): Promise<T> {
    return (await this.take(1, ms))[0]!;
  }

  /**
   * The GraphQL errors the subscription failed with: either the error sink's
   * array or a result carrying `errors` (graphql-ws may deliver either).
   */
  async failure(ms = WAIT_MS): Promise<GraphQLErrorLike[]> {
    await this.until(() => this.errors().length > 0 || this.error !== undefined || this.events.length > 0, ms);
    if (this.events.length > 0) throw new Error(`expected the subscription to fail, got events: ${this.describe()}`);
    const errors = this.errors();
    if (errors.length > 0) return errors;
    throw new Error(`subscription failed without GraphQL errors: ${describeError(this.error)}`);
  }

  /** The GraphQL errors received so far (from the error sink or from results). */
  errors(): GraphQLErrorLike[] {
    const fromResults = this.results.flatMap((result) => (result.errors ?? []) as unknown as GraphQLErrorLike[]);
    const fromSink = Array.isArray(this.error) ? (this.error as GraphQLErrorLike[]) : [];
    return [...fromResults, ...fromSink];
  }

  /** Completes the subscription from the client side. */
  unsubscribe(): void {
    this.stop();
  }

  private wake() {
    for (const waiter of [...this.waiters]) waiter();
  }
}

function describeError(error: unknown): unknown {
  if (error === undefined) return undefined;
  if (Array.isArray(error)) return error;
  if (error && typeof error === 'object' && 'code' in error) {
    return { closeCode: (error as { code: number }).code, reason: (error as { reason?: string }).reason };
  }
  return String(error);
}

/** Starts recording a subscription; see `Live`. */
export function live<T = any>(client: Client, query: string, variables?: Record<string, unknown>, options?: LiveOptions) {
  return new Live<T>(client, query, variables, options);
}

/** The `extensions.code` of each error. */
export const errorCodes = (errors: GraphQLErrorLike[]) => errors.map((error) => error.extensions?.code);

/**
 * graphql-ws has no acknowledgement for a subscription, so a test cannot know
 * when the server started listening. This calls `poke` (which must cause an
 * event every subscription sees, recognisable by their `ignore` option) until
 * every subscription has received something, then forgets those events.
 */
export async function prime(subscriptions: Live[], poke: () => Promise<unknown>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!subscriptions.every((sub) => sub.received > 0)) {
    const failed = subscriptions.find((sub) => sub.ended);
    if (failed) throw new Error(`subscription ended while priming: ${failed.describe()}`);
    if (Date.now() > deadline) {
      throw new Error(`subscriptions never became live: ${subscriptions.map((sub) => sub.describe()).join('; ')}`);
    }
    await poke();
    await Promise.race([
      Promise.all(subscriptions.map((sub) => sub.until(() => sub.received > 0, 150).catch(() => undefined))),
      sleep(150),
    ]);
  }
  for (const sub of subscriptions) sub.skip();
}

export const PROBE = 'probe:';

/**
 * Readiness probes for message subscriptions: each poke sends, edits and
 * deletes a message whose text starts with PROBE, so messageAdded,
 * messageEdited and messageDeleted subscriptions of the chat all see one event.
 */
export function messageProbe(server: TestServer, sender: SignedUp, chatId: string) {
  const ids = new Set<string>();
  let count = 0;
  return {
    ignore: (event: any) =>
      (typeof event?.text === 'string' && event.text.startsWith(PROBE)) || ids.has(event?.id),
    async poke() {
      count += 1;
      const message = await send(server, sender, chatId, `${PROBE}${count}`);
      ids.add(message.id);
      ok(await server.gql(EDIT, { input: { id: message.id, text: `${PROBE}${count} edited` } }, sender.token), 'editMessage');
      ok(await server.gql(DELETE, { id: message.id }, sender.token), 'deleteMessage');
    },
  };
}

export interface Socket {
  client: Client;
  /** Resolves when the server acknowledged connection_init; rejects if the socket closed first. */
  connected: Promise<void>;
  /** Resolves with the close event when the socket closes. */
  closed: Promise<{ code: number; reason: string }>;
  isClosed(): boolean;
  /** The close code, waiting at most `ms` for the close. */
  closeCode(ms?: number): Promise<number>;
}

/** A graphql-ws client of `server` with its connection state observed from the start. */
export function openSocket(
  server: TestServer,
  connectionParams?: Record<string, unknown>,
  options?: Parameters<TestServer['ws']>[1],
): Socket {
  const client = server.ws(connectionParams, options);
  let isClosed = false;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    client.on('closed', (event) => {
      isClosed = true;
      const { code, reason } = event as { code: number; reason: string };
      resolve({ code, reason });
    });
  });
  const connected = new Promise<void>((resolve, reject) => {
    client.on('connected', () => resolve());
    void closed.then(({ code, reason }) => reject(new Error(`socket closed before connecting: ${code} ${reason}`)));
  });
  connected.catch(() => undefined);
  return {
    client,
    connected,
    closed,
    isClosed: () => isClosed,
    closeCode: async (ms = WAIT_MS) => (await within(ms, closed, () => 'socket still open')).code,
  };
}

/** A socket for `user` (bearer token), resolved once the server acknowledged it. */
export async function connect(server: TestServer, user: SignedUp, ms = WAIT_MS): Promise<Socket> {
  const socket = openSocket(server, { authorization: `Bearer ${user.token}` });
  await within(ms, socket.connected, () => `socket of ${user.user.username} not acknowledged`);
  return socket;
}

/** Runs one query or mutation over a client and resolves with its result. */
export function run(client: Client, query: string, variables?: Record<string, unknown>, ms = WAIT_MS) {
  const work = new Promise<ExecutionResult>((resolve, reject) => {
    let result: ExecutionResult | undefined;
    client.subscribe(
      { query, variables },
      {
        next: (value) => {
          result = value as ExecutionResult;
        },
        error: reject,
        complete: () => resolve(result!),
      },
    );
  });
  return within(ms, work, () => `no result for ${query}`);
}

/**
 * A bare `ws` WebSocket speaking graphql-transport-ws, for what the graphql-ws
 * client cannot do: stay silent, stop reading, or vanish without a close frame.
 */
export class RawSocket {
  readonly ws: WebSocket;
  readonly messages: any[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  private closedWith?: { code: number; reason: string };

  constructor(url: string, headers?: Record<string, string>) {
    this.ws = new WebSocket(url, 'graphql-transport-ws', { headers });
    this.ws.on('error', () => undefined);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('close', (code) => reject(new Error(`closed before opening: ${code}`)));
    });
    this.opened.catch(() => undefined);
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code, reason) => {
        this.closedWith = { code, reason: reason.toString() };
        resolve(this.closedWith);
      });
    });
    this.ws.on('message', (data) => this.messages.push(JSON.parse(data.toString())));
  }

  get isClosed() {
    return this.closedWith !== undefined;
  }

  /** Sends connection_init and waits for connection_ack. */
  async init(payload: Record<string, unknown>, ms = WAIT_MS): Promise<void> {
    await within(ms, this.opened, () => 'raw socket did not open');
    this.ws.send(JSON.stringify({ type: 'connection_init', payload }));
    const acked = new Promise<void>((resolve, reject) => {
      const check = () => {
        if (this.messages.some((message) => message.type === 'connection_ack')) resolve();
      };
      this.ws.on('message', check);
      check();
      void this.closed.then(({ code }) => reject(new Error(`closed before connection_ack: ${code}`)));
    });
    await within(ms, acked, () => `no connection_ack: ${JSON.stringify(this.messages)}`);
  }

  async closeCode(ms = WAIT_MS): Promise<number> {
    return (await within(ms, this.closed, () => 'raw socket still open')).code;
  }

  /** Stops reading: pings pile up unanswered, as on a dead network path. */
  freeze() {
    (this.ws as any)._socket.pause();
  }

  /** Drops the TCP connection without a close frame. */
  drop() {
    (this.ws as any)._socket.destroy();
  }

  dispose() {
    (this.ws as any)._socket?.destroy();
  }
}

/** The server's Prometheus metrics: each sample's value by metric name (summed over labels). */
export async function metrics(server: TestServer): Promise<Record<string, number>> {
  const response = await fetch(new URL('/metrics', server.url));
  if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`);
  const values: Record<string, number> = {};
  for (const line of (await response.text()).split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match) values[match[1]!] = (values[match[1]!] ?? 0) + Number(match[3]);
  }
  return values;
}

export const LIVE_GAUGES = [
  'messenger_websockets',
  'messenger_subscriptions',
  'messenger_chat_subscribers',
  'messenger_event_listeners',
] as const;

/** The live-delivery gauges, e.g. { messenger_websockets: 3, … }. */
export async function liveGauges(server: TestServer): Promise<Record<(typeof LIVE_GAUGES)[number], number>> {
  const all = await metrics(server);
  return Object.fromEntries(LIVE_GAUGES.map((name) => [name, all[name]])) as Record<(typeof LIVE_GAUGES)[number], number>;
}

/** Gauges that stopped moving: two reads `gapMs` apart agree (at most `ms`). */
export async function settledGauges(server: TestServer, gapMs = 100, ms = 5_000) {
  const deadline = Date.now() + ms;
  let previous = await liveGauges(server);
  for (;;) {
    await sleep(gapMs);
    const current = await liveGauges(server);
    if (JSON.stringify(current) === JSON.stringify(previous) || Date.now() > deadline) return current;
    previous = current;
  }
}
