/**
 * Child process for one system under test, started by run.ts (pinned to its
 * own core): `ours` (the messenger app from src/app.ts, configured by the
 * environment the harness passes), `stack`, `transport` or `mercurius` (the
 * baselines; `stack` and `mercurius` read the messenger's DATABASE_URL and JWT_SECRET
 * for history pages).
 * Prints nothing; answers the harness over IPC: forced-GC memory readings,
 * CPU time, history and search seeding, and in-process CPU profiles of one scenario.
 * Run with --expose-gc.
 */
import { setMaxListeners } from 'node:events';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { writeHeapSnapshot } from 'node:v8';
import { serve, sleep } from './ipc.ts';
import { startMercuriusBaseline } from './mercurius.ts';
import { startStackBaseline, type Baseline } from './stack.ts';
import { startTransportBaseline } from './transport.ts';

type Kind = 'ours' | 'stack' | 'transport' | 'mercurius';
const kind = process.argv[2] as Kind;

interface Target {
  url: string;
  stats(): Record<string, number>;
  stop(): Promise<void>;
  seed?(args: SeedArgs): Promise<{ ms: number; rows: number }>;
  seedTexts?(args: SeedArgs): Promise<{ ms: number; rows: number }>;
}

interface SeedArgs {
  chatId: string;
  authorId: string;
  count: number;
}

async function startOurs(): Promise<Target> {
  const { createApp } = await import('../../src/app.ts');
  const { loadConfig } = await import('../../src/config.ts');
  const config = loadConfig(process.env);
  const app = await createApp(config);
  const { port } = await app.start(0, '127.0.0.1');
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    stats: () => ({}),
    stop: () => app.stop(),
    /**
     * Writes `count` messages straight into the chat in one INSERT … SELECT
     * (through a separate Prisma client, so the server's SQL metrics do not
     * see it) and sets Chat.lastSeq to match, so seqs stay gap-free and later
     * sends continue after them. Timestamps are one second apart, written in
     * the format Prisma's SQLite adapter uses.
     */
    async seed({ chatId, authorId, count }) {
      const { openDatabase } = await import('../../src/db/client.ts');
      const db = await openDatabase(config.databaseUrl);
      const started = performance.now();
      try {
        const chat = await db.chat.findUniqueOrThrow({ where: { id: chatId }, select: { lastSeq: true } });
        const first = chat.lastSeq + 1;
        const last = chat.lastSeq + count;
        const baseSeconds = Math.floor(Date.now() / 1000) - count - 1 - chat.lastSeq;
        const prefix = `seed${Date.now().toString(36)}-`;
        if (config.databaseUrl.startsWith('file:')) {
          await db.$executeRawUnsafe(
            `WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i < ?)
             INSERT INTO "Message" ("id", "chatId", "authorId", "text", "seq", "createdAt")
             SELECT ? || i, ?, ?, 'history message ' || i, i, strftime('%Y-%m-%dT%H:%M:%f+00:00', ? + i, 'unixepoch') FROM n`,
            first,
            last,
            prefix,
            chatId,
            authorId,
            baseSeconds,
          );
        } else {
          await db.$executeRawUnsafe(
            `INSERT INTO "Message" ("id", "chatId", "authorId", "text", "seq", "createdAt")
             SELECT $1 || i, $2, $3, 'history message ' || i, i, to_timestamp($4::bigint + i)
             FROM generate_series($5::int, $6::int) AS i`,
            prefix,
            chatId,
            authorId,
            baseSeconds,
            first,
            last,
          );
        }
        await db.chat.update({ where: { id: chatId }, data: { lastSeq: last, lastActivityAt: new Date() } });
        return { ms: performance.now() - started, rows: count };
      } finally {
        await db.$disconnect();
      }
    },
    /**
     * Writes `count` messages of varied text (./words.ts) into the chat with
     * their search words, as sends store them, so the databases index them
     * (through a separate Prisma client, as `seed` does). Timestamps are one
     * second apart.
     */
    async seedTexts({ chatId, authorId, count }) {
      const [{ openDatabase }, { searchText }, { messageText, seeded }] = await Promise.all([
        import('../../src/db/client.ts'),
        import('../../src/domain/search-text.ts'),
        import('./words.ts'),
      ]);
      const db = await openDatabase(config.databaseUrl);
      const started = performance.now();
      try {
        const chat = await db.chat.findUniqueOrThrow({ where: { id: chatId }, select: { lastSeq: true } });
        const random = seeded(11);
        const since = Date.now() - (count + 1) * 1000;
        for (let from = 1; from <= count; from += 1000) {
          const data = Array.from({ length: Math.min(1000, count - from + 1) }, (_, i) => {
            const seq = chat.lastSeq + from + i;
            const text = messageText(random);
            return { chatId, authorId, seq, text, searchText: searchText(text), createdAt: new Date(since + (from + i) * 1000) };
          });
          await db.message.createMany({ data });
        }
        await db.chat.update({ where: { id: chatId }, data: { lastSeq: chat.lastSeq + count, lastActivityAt: new Date() } });
        return { ms: performance.now() - started, rows: count };
      } finally {
        await db.$disconnect();
      }
    },
  };
}

async function start(): Promise<Target> {
  if (kind === 'ours') return startOurs();
  // yoga's pubsub is an EventTarget: without this, Node warns of a "leak" from the 11th subscriber on.
  setMaxListeners(0);
  const baselines: Record<Exclude<Kind, 'ours'>, () => Promise<Baseline>> = {
    stack: () => startStackBaseline({ databaseUrl: process.env.DATABASE_URL!, jwtSecret: process.env.JWT_SECRET! }),
    transport: () => startTransportBaseline(),
    mercurius: () => startMercuriusBaseline(process.env.DATABASE_URL!, process.env.JWT_SECRET!),
  };
  return baselines[kind]();
}

let profiler: Session | null = null;

async function main() {
  const target = await start();
  serve({
    url: () => target.url,
    /** Resident memory after forced full collections (the process runs with --expose-gc). */
    async memory() {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (!gc) throw new Error('start the server child with --expose-gc');
      for (let round = 0; round < 4; round += 1) {
        gc();
        await sleep(25);
      }
      const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
      return { rss, heapUsed, heapTotal, external, arrayBuffers };
    },
    /** A heap snapshot after forced collections, for the memory scenario's --heap breakdown. */
    heapSnapshot({ file }: { file: string }) {
      (globalThis as { gc?: () => void }).gc?.();
      return writeHeapSnapshot(file);
    },
    cpu: () => ({ usage: process.cpuUsage(), at: performance.now() }),
    stats: () => target.stats(),
    seed: (args: SeedArgs) => {
      if (!target.seed) throw new Error(`${kind} cannot seed history`);
      return target.seed(args);
    },
    seedTexts: (args: SeedArgs) => {
      if (!target.seedTexts) throw new Error(`${kind} cannot seed messages to search`);
      return target.seedTexts(args);
    },
    async profileStart() {
      profiler = new Session();
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.setSamplingInterval', { interval: 500 });
      await profiler.post('Profiler.start');
      return true;
    },
    async profileStop({ file }: { file: string }) {
      if (!profiler) throw new Error('no profile running');
      const { profile } = await profiler.post('Profiler.stop');
      profiler.disconnect();
      profiler = null;
      writeFileSync(file, JSON.stringify(profile));
      return file;
    },
    async stop() {
      await Promise.race([target.stop(), sleep(8_000)]);
      setTimeout(() => process.exit(0), 20);
      return true;
    },
  });
  process.send!({ ready: true, url: target.url });
}

main().catch((error) => {
  console.error(`[bench ${kind} server]`, error);
  process.exit(1);
});
