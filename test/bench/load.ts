/**
 * Load-generator child process, started by run.ts and pinned to the core the
 * server does not use. One instance drives HTTP load (autocannon), another
 * holds the subscribers and the fixed-rate sender of the fan-out scenario
 * (sender and receivers share one process, so one clock times every message).
 * Every command reports this process's own CPU use, so a saturated client is
 * never mistaken for a slow server.
 */
import http from 'node:http';
import autocannon from 'autocannon';
import { createClient, type Client } from 'graphql-ws';
import * as hdr from 'hdr-histogram-js';
import WebSocket from 'ws';
import { encodeCursor } from '../../src/domain/paging.ts';
import { cpuShare, serve, sleep } from './ipc.ts';
import { HISTORY_PAGE, MESSAGE_ADDED, SEARCH_PAGE, SEND_MESSAGE } from './operations.ts';
import { searchQuery, seeded } from './words.ts';

/** Where and how messages are sent: a GraphQL sendMessage, or the transport baseline's POST /send. */
export type SendSpec =
  | { mode: 'graphql'; url: string; token: string | null; chatId: string }
  | { mode: 'raw'; url: string };

function makeSender(spec: SendSpec): (text: string) => Promise<boolean> {
  if (spec.mode === 'raw') {
    const url = new URL('/send', spec.url);
    return async (text) => {
      const response = await fetch(url, { method: 'POST', body: JSON.stringify({ text }) });
      await response.arrayBuffer();
      return response.ok;
    };
  }
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/graphql-response+json' };
  if (spec.token) headers.authorization = `Bearer ${spec.token}`;
  return async (text) => {
    const response = await fetch(spec.url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query: SEND_MESSAGE, variables: { input: { chatId: spec.chatId, text } } }),
    });
    const body = (await response.json()) as { data?: unknown; errors?: unknown };
    return response.ok && !body.errors && body.data != null;
  };
}

const measure = async <T>(work: () => Promise<T>) => {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const result = await work();
  const wallMs = performance.now() - started;
  return { result, wallMs, cpu: cpuShare(cpu, wallMs) };
};

// ---------------------------------------------------------------- subscribers

interface Subscriber {
  received: number;
  probes: number;
  /** Whether its arrivals are timed in the current fan-out run (the others only count theirs, afterwards). */
  timed: boolean;
  socket: WebSocket | null;
  close(): void;
  closed: Promise<void>;
}

let subscribers: Subscriber[] = [];
let subscriptionErrors = 0;
/** Messages of the current fan-out run: `bench:<run>:<index>:<sentAt>`. */
let currentRun = '';
let latencies: hdr.Histogram | null = null;
let exactMax = 0;
let runDelivered = 0;
let otherDelivered = 0;

function onText(subscriber: Subscriber, text: string | undefined) {
  const now = performance.now();
  if (text === undefined) return;
  if (text.startsWith('probe:')) {
    subscriber.probes += 1;
    return;
  }
  if (currentRun && text.startsWith(currentRun)) {
    if (subscriber.timed) {
      const ms = now - Number(text.slice(text.lastIndexOf(':') + 1));
      latencies?.recordValue(Math.max(1, Math.round(ms * 1000)));
      if (ms > exactMax) exactMax = ms;
    }
    subscriber.received += 1;
    runDelivered += 1;
    return;
  }
  otherDelivered += 1;
}

type Frame = { payload?: { data?: { messageAdded?: { text?: string } } } };

function openGraphqlSubscriber(wsUrl: string, token: string, chatId: string): Promise<Subscriber> {
  return new Promise((resolve, reject) => {
    let client: Client;
    let resolveClosed!: () => void;
    const subscriber: Subscriber = {
      received: 0,
      probes: 0,
      timed: true,
      socket: null,
      close: () => void client.dispose(),
      closed: new Promise<void>((done) => (resolveClosed = done)),
    };
    client = createClient({
      url: wsUrl,
      // Keeps hold of the socket, so the fan-out run can pause it.
      webSocketImpl: class extends WebSocket {
        constructor(address: string, protocols?: string | string[]) {
          super(address, protocols);
          subscriber.socket = this;
        }
      },
      lazy: false,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${token}` },
      onNonLazyError: () => undefined,
      on: {
        connected: () => {
          client.subscribe<{ messageAdded: { text: string } }>(
            { query: MESSAGE_ADDED, variables: { chatId } },
            {
              next: (value) => onText(subscriber, value.data?.messageAdded?.text),
              error: () => {
                subscriptionErrors += 1;
              },
              complete: () => undefined,
            },
          );
          resolve(subscriber);
        },
        closed: (event) => {
          resolveClosed();
          const { code, reason } = event as { code?: number; reason?: string };
          reject(new Error(`socket closed before connecting: ${code} ${reason}`));
        },
      },
    });
  });
}

function openRawSubscriber(wsUrl: string): Promise<Subscriber> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl);
    const subscriber: Subscriber = {
      received: 0,
      probes: 0,
      timed: true,
      socket,
      close: () => socket.close(),
      closed: new Promise<void>((done) => socket.once('close', () => done())),
    };
    socket.on('error', reject);
    socket.once('open', () => resolve(subscriber));
    socket.on('message', (data) => {
      onText(subscriber, (JSON.parse(data.toString()) as Frame).payload?.data?.messageAdded?.text);
    });
  });
}

interface SubscribeArgs {
  mode: 'graphql' | 'raw';
  wsUrl: string;
  /** Subscriber i uses tokens[i % tokens.length]. */
  tokens: string[];
  chatId: string;
  /** Total subscribers wanted (this call opens the ones missing). */
  n: number;
  /** Sockets opened at once. */
  batch: number;
}

async function subscribe(args: SubscribeArgs) {
  return measure(async () => {
    for (let start = subscribers.length; start < args.n; start += args.batch) {
      const opening = [];
      for (let i = start; i < Math.min(start + args.batch, args.n); i += 1) {
        opening.push(
          args.mode === 'raw'
            ? openRawSubscriber(args.wsUrl)
            : openGraphqlSubscriber(args.wsUrl, args.tokens[i % args.tokens.length]!, args.chatId),
        );
      }
      subscribers.push(...(await Promise.all(opening)));
    }
    return { open: subscribers.length };
  });
}

/**
 * graphql-ws does not acknowledge a subscription, so readiness is observed:
 * probe messages are sent until every subscriber has received one.
 */
async function prime({ send, timeoutMs }: { send: SendSpec; timeoutMs: number }) {
  const sender = makeSender(send);
  return measure(async () => {
    const deadline = Date.now() + timeoutMs;
    let probes = 0;
    const waiting = () => subscribers.filter((subscriber) => subscriber.probes === 0).length;
    while (waiting() > 0) {
      if (Date.now() > deadline) throw new Error(`${waiting()} of ${subscribers.length} subscribers never got a probe`);
      probes += 1;
      if (!(await sender(`probe:${probes}`))) throw new Error('probe send failed');
      // Each probe gets longer to arrive everywhere before the next one adds to the queue.
      const until = Date.now() + Math.min(500 * probes, 5_000);
      while (waiting() > 0 && Date.now() < until) await sleep(20);
    }
    await sleep(100);
    return { probes };
  });
}

async function closeAll() {
  const closing = subscribers;
  subscribers = [];
  for (const subscriber of closing) subscriber.close();
  await Promise.race([Promise.all(closing.map((subscriber) => subscriber.closed)), sleep(10_000)]);
  return { closed: closing.length };
}

function resetCounts() {
  const counts = { run: runDelivered, other: otherDelivered, subscriptionErrors };
  runDelivered = 0;
  otherDelivered = 0;
  subscriptionErrors = 0;
  for (const subscriber of subscribers) subscriber.received = 0;
  return counts;
}

/** Deliveries of anything but probes and fan-out messages since the last reset (e.g. the throughput load). */
async function awaitOther({ expected, timeoutMs }: { expected: number; timeoutMs: number }) {
  const started = performance.now();
  const deadline = Date.now() + timeoutMs;
  while (otherDelivered < expected && Date.now() < deadline) await sleep(20);
  return { delivered: otherDelivered, drainMs: performance.now() - started };
}

interface FanoutArgs {
  send: SendSpec;
  rate: number;
  durationS: number;
  /** How long to wait for stragglers after the last send answered. */
  graceMs: number;
  /** At most this many subscribers, spread evenly over all, read and time their messages as they arrive. */
  timed: number;
}

/** How long the subscribers paused during a fan-out run may take to read what they were sent. */
const COUNT_MS = 60_000;

/**
 * Sends rate × duration messages on a fixed schedule (not waiting for
 * answers, so a slow server cannot slow the sender down), each carrying its
 * send time, and times its arrival at up to `timed` subscribers spread over
 * all. The others are paused meanwhile (the server still writes to each;
 * the kernel holds the bytes) and count what they received in
 * `fanoutTotals`: reading 10,000 sockets at 20 messages/s takes more than
 * the one core this process has, and would make the client, not the
 * server, the limit.
 */
async function fanout({ send, rate, durationS, graceMs, timed }: FanoutArgs) {
  const sender = makeSender(send);
  resetCounts();
  currentRun = `bench:${Date.now().toString(36)}:`;
  latencies = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
  exactMax = 0;
  const count = Math.max(1, Math.round(rate * durationS));
  const n = subscribers.length;
  const stride = Math.ceil(n / timed);
  subscribers.forEach((subscriber, i) => {
    subscriber.timed = i % stride === 0;
    if (!subscriber.timed) subscriber.socket?.pause();
  });
  const timedCount = subscribers.filter((subscriber) => subscriber.timed).length;
  let timedDelivered = 0;
  let sent = 0;
  let sendErrors = 0;
  const measured = await measure(async () => {
    const started = performance.now();
    const sends: Promise<void>[] = [];
    for (let i = 0; i < count; i += 1) {
      const due = started + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      sends.push(
        sender(`${currentRun}${i}:${performance.now().toFixed(3)}`).then(
          (ok) => {
            if (ok) sent += 1;
            else sendErrors += 1;
          },
          () => {
            sendErrors += 1;
          },
        ),
      );
    }
    await Promise.all(sends);
    const sendMs = performance.now() - started;
    const deadline = performance.now() + graceMs;
    const timedReceived = () => subscribers.reduce((sum, subscriber) => sum + (subscriber.timed ? subscriber.received : 0), 0);
    while (timedReceived() < sent * timedCount && performance.now() < deadline) await sleep(10);
    timedDelivered = timedReceived();
    return { sendMs, drainMs: performance.now() - started - sendMs };
  });
  const histogram = latencies;
  runSent = sent;
  const result = {
    subscribers: n,
    attempted: count,
    sent,
    sendErrors,
    timed: timedCount,
    /** Of the timed subscribers' messages, the share that arrived within graceMs of the last send. */
    timedDeliveredRatio: sent * timedCount > 0 ? timedDelivered / (sent * timedCount) : 0,
    subscriptionErrors,
    p50: histogram.getValueAtPercentile(50) / 1000,
    p99: histogram.getValueAtPercentile(99) / 1000,
    max: exactMax,
    mean: histogram.mean / 1000,
    sendMs: measured.result.sendMs,
    drainMs: measured.result.drainMs,
    loadCpu: measured.cpu,
  };
  latencies = null;
  histogram.destroy();
  return result;
}

let runSent = 0;

/** The last fan-out run's messages received by all subscribers, the paused ones reading theirs now. */
async function fanoutTotals() {
  for (const subscriber of subscribers) subscriber.socket?.resume();
  const expected = runSent * subscribers.length;
  const deadline = performance.now() + COUNT_MS;
  while (runDelivered < expected && performance.now() < deadline) await sleep(10);
  currentRun = '';
  const perSubscriber = subscribers.map((subscriber) => subscriber.received);
  return {
    expected,
    delivered: runDelivered,
    deliveredRatio: expected > 0 ? runDelivered / expected : 0,
    minPerSubscriber: perSubscriber.length ? Math.min(...perSubscriber) : 0,
  };
}

// ---------------------------------------------------------------- HTTP load

interface ThroughputArgs {
  url: string;
  body: string;
  headers: Record<string, string>;
  connections: number;
  durationS: number;
}

/** sendMessage (or any POST) at saturation: `connections` requests in flight for `durationS`. */
async function throughput(args: ThroughputArgs) {
  const measured = await measure(() =>
    autocannon({
      url: args.url,
      method: 'POST',
      headers: args.headers,
      body: args.body,
      connections: args.connections,
      duration: args.durationS,
      timeout: 10,
      // A GraphQL error can come with a 200: only a result with data and no errors counts.
      verifyBody: (body) => typeof body === "string" && !body.includes('"errors"') && body.includes('"data"'),
    }),
  );
  const result = measured.result;
  const completed = result['2xx'] - result.mismatches;
  return {
    requests: result.requests.total,
    /** Requests written, including those still in flight when the time was up (the server may complete them). */
    sent: result.requests.sent,
    ok: completed,
    perSecond: completed / result.duration,
    errors: result.errors + result.timeouts + result.non2xx + result.mismatches,
    p50: result.latency.p50,
    p99: result.latency.p99,
    durationS: result.duration,
    loadCpu: measured.cpu,
  };
}

interface TimedArgs {
  url: string;
  token: string;
  /** Requests measured, after `warmup` unmeasured ones. */
  requests: number;
  warmup: number;
  /** Clients sending at once, each one request at a time on its own connection (default 1). */
  clients?: number;
}

/**
 * Posts `body()` from `clients` clients, each one request at a time, and
 * times each, on kept-alive connections: node:http rather than fetch, whose
 * own garbage gave this process GC pauses of several milliseconds, which
 * landed in the very latencies being measured. `ok` tells a right answer
 * from a wrong one.
 */
async function timedRequests(args: TimedArgs, body: () => string, ok: (data: any) => boolean) {
  const headers = {
    'content-type': 'application/json',
    accept: 'application/graphql-response+json',
    authorization: `Bearer ${args.token}`,
  };
  const clients = args.clients ?? 1;
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const post = (text: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const request = http.request(args.url, { method: 'POST', headers, agent }, (response) => {
        let received = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (received += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text: received }));
        response.on('error', reject);
      });
      request.on('error', reject);
      request.end(text);
    });
  const once = async () => {
    const started = performance.now();
    const response = await post(body());
    const ms = performance.now() - started;
    const parsed = JSON.parse(response.text) as { data?: unknown; errors?: unknown };
    return { ms, ok: response.status === 200 && !parsed.errors && ok(parsed.data) };
  };
  /** `total` requests shared by the clients, each client sending its next as soon as its last is answered. */
  const inParallel = async (total: number, each: () => Promise<void>) => {
    let started = 0;
    await Promise.all(
      Array.from({ length: Math.min(clients, total) }, async () => {
        while (started < total) {
          started += 1;
          await each();
        }
      }),
    );
  };
  await inParallel(args.warmup, async () => void (await once()));
  const times: number[] = [];
  let errors = 0;
  const measured = await measure(() =>
    inParallel(args.requests, async () => {
      const { ms, ok: right } = await once();
      times.push(ms);
      if (!right) errors += 1;
    }),
  );
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  agent.destroy();
  return {
    requests: args.requests,
    clients,
    errors,
    p50: at(0.5),
    p99: at(0.99),
    max: times.at(-1)!,
    perSecond: args.requests / (measured.wallMs / 1000),
    loadCpu: measured.cpu,
  };
}

interface HistoryArgs extends TimedArgs {
  chatId: string;
  /** The chat's newest seq: `before` cursors are drawn from 51..lastSeq + 1. */
  lastSeq: number;
}

/** One page of `messages(last: 50, before: cursor)` at a time, each at a random depth of the chat. */
function history(args: HistoryArgs) {
  return timedRequests(
    args,
    () => {
      const before = 51 + Math.floor(Math.random() * (args.lastSeq - 50 + 1));
      return JSON.stringify({ query: HISTORY_PAGE, variables: { chatId: args.chatId, before: encodeCursor(before) } });
    },
    (data) => data?.messages?.edges.length === 50,
  );
}

/** The first page of `searchMessages(query, chatId, first: 20)` at a time, for queries people would type (./words.ts). */
function search(args: TimedArgs & { chatId: string; seed: number }) {
  const random = seeded(args.seed);
  return timedRequests(
    args,
    () => JSON.stringify({ query: SEARCH_PAGE, variables: { chatId: args.chatId, query: searchQuery(random) } }),
    (data) => Array.isArray(data?.searchMessages?.edges),
  );
}

interface LoginArgs {
  url: string;
  /** The real user: logs in with the right password, one login at a time, from its own address. */
  user: { login: string; password: string };
  logins: number;
  /** Each attacker guesses the password of one victim, in a tight loop, from an address of its own. */
  victims: string[];
  /** How long the attackers keep guessing before the real user starts logging in (0: no attack). */
  headStartMs: number;
}

const LOGIN = 'mutation Login($input: LoginInput!) { login(input: $input) { token } }';

/**
 * The real user's login latency while attackers guess passwords: every
 * request claims an address in X-Forwarded-For (the server trusts it in this
 * scenario), so attackers and user are different clients, as on a network.
 */
async function logins(args: LoginArgs) {
  const post = async (address: string, login: string, password: string) => {
    const response = await fetch(args.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
      body: JSON.stringify({ query: LOGIN, variables: { input: { login, password } } }),
    });
    const body = (await response.json()) as { data?: { login?: { token: string } }; errors?: { extensions?: { code?: string } }[] };
    return body.data?.login ? 'ok' : (body.errors?.[0]?.extensions?.code ?? 'error');
  };
  let attacking = args.victims.length > 0;
  const answers: Record<string, number> = {};
  const attackers = args.victims.map(async (victim, i) => {
    for (let guess = 0; attacking; guess += 1) {
      const answer = await post(`10.66.${Math.floor(i / 250)}.${(i % 250) + 1}`, victim, `guess ${guess}`);
      answers[answer] = (answers[answer] ?? 0) + 1;
    }
  });
  await sleep(args.headStartMs);
  const times: number[] = [];
  let failed = 0;
  const measured = await measure(async () => {
    for (let i = 0; i < args.logins; i += 1) {
      const started = performance.now();
      if ((await post('10.1.1.1', args.user.login, args.user.password)) !== 'ok') failed += 1;
      times.push(performance.now() - started);
    }
  });
  attacking = false;
  await Promise.all(attackers);
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  return { logins: args.logins, failed, p50: at(0.5), p99: at(0.99), max: times.at(-1)!, attempts: answers, loadCpu: measured.cpu };
}

serve({
  logins,
  subscribe,
  prime,
  closeAll,
  resetCounts,
  awaitOther,
  fanout,
  fanoutTotals,
  throughput,
  history,
  search,
  cpu: () => ({ usage: process.cpuUsage(), at: performance.now() }),
  stop: async () => {
    await closeAll();
    setTimeout(() => process.exit(0), 20);
    return true;
  },
});
process.send!({ ready: true });
