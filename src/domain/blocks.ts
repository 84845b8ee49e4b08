import type { Db } from '../db/client.ts';
import { AppError, badInput, isUniqueViolation, notFound } from '../errors.ts';
import { may, type ChatFacts, type Role } from './access.ts';
import { usernameKey } from './accounts.ts';

/** What a blocked user is told when a direct chat refuses them. */
export const blockedError = () => new AppError('FORBIDDEN', 'This user does not accept messages from you.');

/** Whether `blockerId` blocks `blockedId`. */
export async function blocks(db: Db, blockerId: string, blockedId: string): Promise<boolean> {
  return (await db.block.count({ where: { blockerId, blockedId } })) > 0;
}

/** Whether the other member of a direct chat blocks `userId` (never, in a group). */
export async function blockedByPeer(db: Db, chat: ChatFacts & { id: string }, userId: string): Promise<boolean> {
  if (chat.kind !== 'DIRECT') return false;
  return (await db.block.count({ where: { blockedId: userId, blocker: { memberships: { some: { chatId: chat.id } } } } })) > 0;
}

/** Throws blockedError (FORBIDDEN) unless the member may write to the chat: may.write, which only a block refuses a member. */
export async function requireWriter(db: Db, membership: { chat: ChatFacts & { id: string }; role: Role; userId: string }) {
  if (!may.write(membership.chat, membership.role, await blockedByPeer(db, membership.chat, membership.userId))) {
    throw blockedError();
  }
}

async function otherUser(db: Db, userId: string, username: string) {
  const other = await db.user.findUnique({ where: { usernameKey: usernameKey(username) }, select: { id: true } });
  if (!other) throw notFound(`User "${username}"`);
  if (other.id === userId) throw badInput('You cannot block or unblock yourself.', 'username');
  return other.id;
}

/** The caller blocks `username`; blocking someone already blocked changes nothing. */
export async function blockUser(db: Db, userId: string, username: string): Promise<true> {
  const blockedId = await otherUser(db, userId, username);
  try {
    await db.block.upsert({
      where: { blockerId_blockedId: { blockerId: userId, blockedId } },
      create: { blockerId: userId, blockedId },
      update: {},
    });
  } catch (error) {
    // A concurrent block of the same user inserted it first.
    if (!isUniqueViolation(error)) throw error;
  }
  return true;
}

/** The caller unblocks `username`; unblocking someone not blocked changes nothing. */
export async function unblockUser(db: Db, userId: string, username: string): Promise<true> {
  const blockedId = await otherUser(db, userId, username);
  await db.block.deleteMany({ where: { blockerId: userId, blockedId } });
  return true;
}
