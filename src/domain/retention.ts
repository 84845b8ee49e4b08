import type { Logger } from 'pino';
import { databaseProvider, type Db } from '../db/client.ts';
import type { EventBus } from '../events.ts';
import { visibleMessages, type Retention } from './messages.ts';

/** Rows deleted per statement: keeps each write transaction short. */
const BATCH_SIZE = 500;

interface SweeperDeps {
  db: Db;
  bus: EventBus;
  logger: Logger;
  retention: Retention;
  intervalSeconds: number;
}

/**
 * The key of the Postgres advisory lock that one sweeper at a time holds while
 * it takes a batch. Any bigint works, as long as every instance uses the same.
 */
const SWEEP_LOCK_KEY = 0x6d73_6773; // "msgs"

type Swept = { id: string; chatId: string; seq: number; replyToId: string | null }[];

/**
 * Deletes up to BATCH_SIZE expired messages and returns them; null when
 * another instance is sweeping. Several instances share one Postgres, each
 * with its own sweeper: without the lock two of them would read the same
 * batch, and both would delete it and announce every deletion. The lock is a
 * transaction-level advisory lock taken without waiting, so it is released at
 * commit, after the deletions are visible to the next sweeper. SQLite is one
 * instance per database file, whose sweeper never runs twice at once.
 */
async function takeExpiredBatch(db: Db, retention: Retention, now: Date): Promise<Swept | null> {
  const postgres = databaseProvider(db) === 'postgresql';
  return db.$transaction(async (tx) => {
    if (postgres) {
      const [{ locked }] = await tx.$queryRawUnsafe<[{ locked: boolean }]>(
        `SELECT pg_try_advisory_xact_lock(${SWEEP_LOCK_KEY}) AS locked`,
      );
      if (!locked) return null;
    }
    const batch = await tx.message.findMany({
      where: { NOT: visibleMessages(retention, now) },
      select: { id: true, chatId: true, seq: true, replyToId: true },
      orderBy: { id: 'asc' },
      take: BATCH_SIZE,
    });
    if (batch.length > 0) await tx.message.deleteMany({ where: { id: { in: batch.map((message) => message.id) } } });
    return batch;
  });
}

/**
 * Deletes expired messages in batches (announcing each as deleteMessage does)
 * and prunes sessions whose tokens have expired. Returns how many messages it
 * deleted. Safe to run on several instances at once: each expired message is
 * deleted and announced by one of them.
 */
export async function sweepExpired({ db, bus, retention }: Omit<SweeperDeps, 'logger' | 'intervalSeconds'>) {
  const now = new Date();
  let deleted = 0;
  for (;;) {
    const batch = await takeExpiredBatch(db, retention, now);
    // Another instance holds the lock: it is sweeping these very messages.
    if (batch === null) break;
    const swept = new Set(batch.map((message) => message.id));
    const repliedTo = new Map<string, string>();
    for (const message of batch) {
      bus.publish('message:deleted', { chatId: message.chatId, messageId: message.id, seq: message.seq, actorId: null });
      if (message.replyToId && !swept.has(message.replyToId)) repliedTo.set(message.replyToId, message.chatId);
    }
    // Messages that lost replies have a new replyCount.
    for (const [messageId, chatId] of repliedTo) bus.publish('message:updated', { chatId, messageId, actorId: null });
    deleted += batch.length;
    if (batch.length < BATCH_SIZE) break;
  }
  await db.session.deleteMany({ where: { expiresAt: { lte: now } } });
  return deleted;
}

/** Runs sweepExpired every `intervalSeconds`, never two at once, until stopped. */
export function startRetentionSweeper(deps: SweeperDeps) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = sweepExpired(deps)
        .then((count) => count > 0 && deps.logger.info({ deleted: count }, 'retention sweep'))
        .catch((error: unknown) => deps.logger.error({ err: error }, 'retention sweep failed'))
        .finally(schedule);
    }, deps.intervalSeconds * 1000);
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
