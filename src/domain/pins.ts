import type { Db } from '../db/client.ts';
import type { EventBus } from '../events.ts';
import { AppError } from '../errors.ts';
import { may } from './access.ts';
import { requireWriter } from './blocks.ts';
import { requireVisibleMessage, rereadMessage, type MessageQuery, type Retention } from './messages.ts';

/**
 * Pins (`pinned`) or unpins a message: group owners in groups, either
 * member in a direct chat. Pinning a pinned message (or unpinning one that
 * is not) changes nothing; a change is announced as messageUpdated.
 */
export async function setPinned(
  db: Db,
  bus: EventBus,
  retention: Retention,
  userId: string,
  input: { messageId: string; pinned: boolean },
  query: MessageQuery = {},
) {
  const { message, membership } = await requireVisibleMessage(db, retention, userId, input.messageId);
  if (!may.pin(membership.chat, membership.role)) throw new AppError('FORBIDDEN', 'Only an owner of the group can pin messages.');
  await requireWriter(db, membership);
  const { count } = await db.message.updateMany({
    where: { id: message.id, pinnedAt: input.pinned ? null : { not: null } },
    data: input.pinned ? { pinnedAt: new Date(), pinnedById: userId } : { pinnedAt: null, pinnedById: null },
  });
  if (count > 0) bus.publish('message:updated', { chatId: message.chatId, messageId: message.id, actorId: userId });
  return rereadMessage(db, message.id, query);
}
