import { z } from 'zod';
import type { Db } from '../db/client.ts';
import type { EventBus } from '../events.ts';
import { AppError, badInput, isUniqueViolation, isVisible, notFound, parseInput } from '../errors.ts';
import type { ChatMember } from '../generated/prisma/client.ts';
import { may } from './access.ts';
import { usernameKey } from './accounts.ts';
import { blockedError, blocks } from './blocks.ts';

/** A message TTL longer than a year is almost certainly a unit mistake. */
export const MAX_MESSAGE_TTL_SECONDS = 365 * 24 * 3600;

const groupSchema = z.object({
  name: z.string().trim().refine(isVisible, 'must not be empty').max(100, 'must be at most 100 characters'),
  description: z.string().trim().max(1000, 'must be at most 1000 characters').nullish(),
  isPublic: z.boolean().nullish(),
  members: z.array(z.string()).max(1000, 'at most 1000 members at creation').nullish(),
});

export type GroupInput = z.input<typeof groupSchema>;

const ttlSchema = z.number().int().min(1).max(MAX_MESSAGE_TTL_SECONDS).nullable();

const chatNotFound = () => notFound('Chat');

/**
 * The caller's membership of a chat, or NOT_FOUND exactly as for a chat that
 * does not exist: non-members learn nothing about a chat's existence.
 */
export async function requireMember(db: Db, chatId: string, userId: string, what = 'Chat'): Promise<ChatMember> {
  const membership = await db.chatMember.findUnique({ where: { chatId_userId: { chatId, userId } } });
  if (!membership || !may.takePart(membership.role)) throw notFound(what);
  return membership;
}

/** Like requireMember, with the chat itself: one read for rules that depend on both. */
export async function requireMembershipWithChat(db: Db, chatId: string, userId: string, what = 'Chat') {
  const membership = await db.chatMember.findUnique({
    where: { chatId_userId: { chatId, userId } },
    include: { chat: true },
  });
  if (!membership || !may.takePart(membership.role)) throw notFound(what);
  return membership;
}

/** Like requireMember, and the chat must be a group the caller may manage (FORBIDDEN otherwise). */
async function requireGroupOwner(db: Db, chatId: string, userId: string) {
  const membership = await requireMembershipWithChat(db, chatId, userId);
  if (membership.chat.kind !== 'GROUP') throw badInput('Direct chats have exactly their two members.');
  if (!may.manageMembers(membership.chat, membership.role)) {
    throw new AppError('FORBIDDEN', 'Only an owner of the group can do that.');
  }
  return membership;
}

async function userIdOf(db: Db, username: string): Promise<string> {
  const user = await db.user.findUnique({ where: { usernameKey: usernameKey(username) }, select: { id: true } });
  if (!user) throw notFound(`User "${username}"`);
  return user.id;
}

/** One direct chat per pair of users, whichever of them opens it first. */
const directKeyOf = (a: string, b: string) => (a < b ? `${a}:${b}` : `${b}:${a}`);

/**
 * The direct chat between the caller and `username`, opened if there is none;
 * FORBIDDEN when `username` blocks the caller. Concurrent calls (from either
 * side) end up with the same chat: the unique directKey lets exactly one
 * insert win and the others read it back.
 */
export async function openDirectChat(db: Db, bus: EventBus, userId: string, username: string) {
  const otherId = await userIdOf(db, username);
  if (otherId === userId) throw badInput('A direct chat needs another user.', 'username');
  if (await blocks(db, otherId, userId)) throw blockedError();
  const directKey = directKeyOf(userId, otherId);
  const existing = await db.chat.findUnique({ where: { directKey } });
  if (existing) return existing;
  try {
    const chat = await db.chat.create({
      data: { kind: 'DIRECT', directKey, members: { create: [{ userId }, { userId: otherId }] } },
    });
    for (const member of [userId, otherId]) bus.publish('chat:membership', { chatId: chat.id, userId: member, member: true });
    return chat;
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    return db.chat.findUniqueOrThrow({ where: { directKey } });
  }
}

/** A group owned by the caller, with the named users as members. Unknown names create nothing. */
export async function createGroupChat(db: Db, bus: EventBus, userId: string, input: GroupInput) {
  const group = parseInput(groupSchema, input);
  const keys = [...new Set((group.members ?? []).map(usernameKey))];
  const users = await db.user.findMany({ where: { usernameKey: { in: keys } }, select: { id: true, usernameKey: true } });
  const missing = keys.find((key) => !users.some((user) => user.usernameKey === key));
  if (missing !== undefined) throw notFound(`User "${missing}"`);
  const memberIds = users.map((user) => user.id).filter((id) => id !== userId);
  const chat = await db.chat.create({
    data: {
      kind: 'GROUP',
      name: group.name,
      nameKey: group.name.toLowerCase(),
      description: group.description || null,
      isPublic: group.isPublic ?? false,
      members: { create: [{ userId, role: 'OWNER' }, ...memberIds.map((id) => ({ userId: id }))] },
    },
  });
  for (const member of [userId, ...memberIds]) bus.publish('chat:membership', { chatId: chat.id, userId: member, member: true });
  return chat;
}

/** Joins a public group; joining one you are in changes nothing. Anything else is NOT_FOUND. */
export async function joinChat(db: Db, bus: EventBus, userId: string, chatId: string) {
  const chat = await db.chat.findUnique({ where: { id: chatId } });
  const isMember = chat ? (await db.chatMember.count({ where: { chatId, userId } })) > 0 : false;
  if (!chat || (!isMember && !may.join(chat))) throw chatNotFound();
  if (!isMember) {
    await db.chatMember.upsert({
      where: { chatId_userId: { chatId, userId } },
      create: { chatId, userId },
      update: {},
    });
    bus.publish('chat:membership', { chatId, userId, member: true });
  }
  return chat;
}

/**
 * Takes `userId` out of a group. When no owner is left, the longest-standing
 * member becomes owner; when nobody is left, the group is deleted. Throws
 * `missing()` when the member or the group is already gone.
 */
async function removeFromGroup(db: Db, bus: EventBus, chatId: string, userId: string, missing: () => AppError) {
  await db.$transaction(async (tx) => {
    // Departures from one group take turns. Under Postgres' READ COMMITTED two
    // concurrent ones would each still see the other's member row: both would
    // find an owner left, or promote someone who is leaving. This no-op update
    // holds the chat row's lock until commit; on SQLite, whose single writer
    // already runs these transactions one at a time, it changes nothing.
    const chat = await tx.chat.updateMany({ where: { id: chatId }, data: { lastSeq: { increment: 0 } } });
    const removed = await tx.chatMember.deleteMany({ where: { chatId, userId } });
    if (chat.count === 0 || removed.count === 0) throw missing();
    const owners = await tx.chatMember.count({ where: { chatId, role: 'OWNER' } });
    if (owners > 0) return;
    const successor = await tx.chatMember.findFirst({ where: { chatId }, orderBy: [{ joinedAt: 'asc' }, { userId: 'asc' }] });
    if (successor) {
      await tx.chatMember.update({ where: { chatId_userId: { chatId, userId: successor.userId } }, data: { role: 'OWNER' } });
    } else {
      await tx.chat.delete({ where: { id: chatId } });
    }
  });
  bus.publish('chat:membership', { chatId, userId, member: false });
}

export async function leaveChat(db: Db, bus: EventBus, userId: string, chatId: string): Promise<true> {
  const membership = await requireMembershipWithChat(db, chatId, userId);
  if (membership.chat.kind !== 'GROUP') throw badInput('Direct chats cannot be left.');
  await removeFromGroup(db, bus, chatId, userId, chatNotFound);
  return true;
}

/** An owner adds `username` to the group; adding a member again changes nothing. */
export async function addChatMember(db: Db, bus: EventBus, userId: string, chatId: string, username: string) {
  await requireGroupOwner(db, chatId, userId);
  const memberId = await userIdOf(db, username);
  const existing = await db.chatMember.findUnique({ where: { chatId_userId: { chatId, userId: memberId } } });
  if (!existing) {
    await db.chatMember.upsert({
      where: { chatId_userId: { chatId, userId: memberId } },
      create: { chatId, userId: memberId },
      update: {},
    });
    bus.publish('chat:membership', { chatId, userId: memberId, member: true });
  }
  return db.chat.findUniqueOrThrow({ where: { id: chatId } });
}

/** An owner removes someone else from the group (to remove yourself, leave). */
export async function removeChatMember(db: Db, bus: EventBus, userId: string, chatId: string, username: string) {
  await requireGroupOwner(db, chatId, userId);
  const memberId = await userIdOf(db, username);
  if (memberId === userId) throw badInput('To remove yourself, use leaveChat.', 'username');
  const existing = await db.chatMember.findUnique({ where: { chatId_userId: { chatId, userId: memberId } } });
  if (!existing) throw notFound(`Member "${username}"`);
  await removeFromGroup(db, bus, chatId, memberId, () => notFound(`Member "${username}"`));
  return db.chat.findUniqueOrThrow({ where: { id: chatId } });
}

/**
 * Disappearing messages: messages sent from now on expire `seconds` after
 * sending (null keeps them). Any member of a direct chat, a group's owners.
 */
export async function setMessageTtl(db: Db, userId: string, chatId: string, seconds: number | null) {
  const ttl = parseInput(ttlSchema, seconds);
  const { chat, role } = await requireMembershipWithChat(db, chatId, userId);
  if (!may.setMessageTtl(chat, role)) {
    throw new AppError('FORBIDDEN', 'Only an owner of the group can change its message TTL.');
  }
  return db.chat.update({ where: { id: chatId }, data: { messageTtlSeconds: ttl } });
}

/**
 * Moves the caller's read marker forward to `seq` (default and ceiling: the
 * newest message); a lower seq leaves it where it is.
 */
export async function markChatRead(db: Db, userId: string, chatId: string, seq: number | null | undefined) {
  if (seq != null && (!Number.isInteger(seq) || seq < 0)) throw badInput('seq must be 0 or more.', 'seq');
  const { chat } = await requireMembershipWithChat(db, chatId, userId);
  const target = Math.min(seq ?? chat.lastSeq, chat.lastSeq);
  await db.chatMember.updateMany({
    where: { chatId, userId, lastReadSeq: { lt: target } },
    data: { lastReadSeq: target },
  });
  return chat;
}
