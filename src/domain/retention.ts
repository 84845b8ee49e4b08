import type { Logger } from 'pino';
import type { Db } from '../db/client.ts';
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
 * Deletes expired messages in batches (announcing each as deleteMessage does)
 * and prunes sessions whose tokens have expired. Returns how many messages it deleted.
 */
export async function sweepExpired({ db, bus, retention }: Omit<SweeperDeps, 'logger' | 'intervalSeconds'>) {
  const now = new Date();
  let deleted = 0;
  for (;;) {
    const batch = await db.message.findMany({
      where: { NOT: visibleMessages(retention, now) },
      select: { id: true, chatId: true, seq: true },
      orderBy: { id: 'asc' },
      take: BATCH_SIZE,
    });
    if (batch.length === 0) break;
    await db.message.deleteMany({ where: { id: { in: batch.map((message) => message.id) } } });
    for (const message of batch) {
      bus.publish('message:deleted', { chatId: message.chatId, messageId: message.id, seq: message.seq });
    }
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
