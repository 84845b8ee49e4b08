import { z } from 'zod';
import { appendMessage } from '../db/append-message.ts';
import type { Db } from '../db/client.ts';
import { readPageWithAuthors } from '../db/history-page.ts';
import type { MessageRef, EventBus } from '../events.ts';
import { AppError, isForeignKeyViolation, isRecordGone, isVisible, notFound, parseInput } from '../errors.ts';
import type { ChatRole, Message, Prisma } from '../generated/prisma/client.ts';
import { may, type Role } from './access.ts';
import { requireWriter } from './blocks.ts';
import { openDirectChat, requireMember, requireMembershipWithChat } from './chats.ts';
import { mentionedKeys } from './mentions.ts';
import type { Page } from './paging.ts';
import type { RateLimits } from './rate-limits.ts';
import { searchText } from './search-text.ts';

export const MAX_TEXT_LENGTH = 4000;

// Length in code points, so an emoji counts as one character, not two UTF-16 units.
const textSchema = z
  .string()
  .trim()
  .refine((text) => isVisible(text), 'must not be empty')
  .refine((text) => [...text].length <= MAX_TEXT_LENGTH, `must be at most ${MAX_TEXT_LENGTH} characters`);

const sendSchema = z
  .object({
    chatId: z.string().nullish(),
    toUsername: z.string().nullish(),
    text: textSchema,
    clientId: z.string().min(1).max(64, 'must be at most 64 characters').nullish(),
    replyToId: z.string().nullish(),
  })
  .refine((input) => (input.chatId == null) !== (input.toUsername == null), {
    message: 'give exactly one of chatId and toUsername',
  });

export type SendInput = z.input<typeof sendSchema>;

/** Retention rules: the global limit and each message's own expiry. */
export interface Retention {
  messageRetentionSeconds: number | null;
}

/**
 * Messages that may be served at `now`: not past their chat TTL and not older
 * than the global retention. Applied to every read, so expired messages are
 * never shown even before the sweeper deletes them.
 */
export function visibleMessages(retention: Retention, now = new Date()): Prisma.MessageWhereInput {
  const createdAfter = retainedSince(retention, now);
  return {
    OR: [{ expiresAt: null }, { expiresAt: { gt: now } }],
    ...(createdAfter === null ? {} : { createdAt: { gt: createdAfter } }),
  };
}

/** The global retention's limit at `now`: older messages are not served (null: no limit). */
export function retainedSince(retention: Retention, now: Date): Date | null {
  const seconds = retention.messageRetentionSeconds;
  return seconds === null ? null : new Date(now.getTime() - seconds * 1000);
}

const refOf = (message: Message, actorId: string | null): MessageRef => ({
  chatId: message.chatId,
  messageId: message.id,
  seq: message.seq,
  actorId,
});

/**
 * Whether `message` may be served at `now`: the same rule as
 * visibleMessages, for a row already in hand.
 */
export function isServable(retention: Retention, message: Pick<Message, 'expiresAt' | 'createdAt'>, now = new Date()) {
  const createdAfter = retainedSince(retention, now);
  return (message.expiresAt === null || message.expiresAt > now) && (createdAfter === null || message.createdAt > createdAfter);
}

/**
 * A message the caller may act on (in a chat they take part in, not
 * expired), with their membership and the chat. NOT_FOUND otherwise.
 */
export async function requireVisibleMessage(db: Db, retention: Retention, userId: string, messageId: string) {
  const message = await db.message.findFirst({ where: { id: messageId, ...visibleMessages(retention) } });
  if (!message) throw notFound('Message');
  return { message, membership: await requireMembershipWithChat(db, message.chatId, userId, 'Message') };
}

/** The earlier send with this clientId, if it is a retry of the same message; CONFLICT if it is not. */
async function earlierSend(db: Db, authorId: string, clientId: string, retry: { chatId: string; text: string; replyToId: string | null }) {
  const earlier = await db.message.findUnique({ where: { authorId_clientId: { authorId, clientId } } });
  if (earlier && (earlier.chatId !== retry.chatId || earlier.text !== retry.text || earlier.replyToId !== retry.replyToId)) {
    throw new AppError('CONFLICT', 'This clientId was already used for a different message.', { field: 'clientId' });
  }
  return earlier;
}

/** Why appendMessage refused a send, as the error the sender gets (read only when it did). */
async function refusal(db: Db, authorId: string, chatId: string, replyToId: string | null): Promise<AppError> {
  const membership = await requireMembershipWithChat(db, chatId, authorId);
  await requireWriter(db, membership);
  // The member may write, so the replied-to message is what is missing (or
  // the membership changed since the send: then the chat is, as it was).
  return notFound(replyToId ? 'Message' : 'Chat');
}

/**
 * Stores a message with the chat's next seq (gap-free and unique per chat,
 * see appendMessage), with the members it mentions. A retried clientId
 * returns the first message. A reply is announced as an update of the
 * message it replies to (its replyCount) as well. Every valid send counts
 * against the author's rate limit. `role` is the author's in the chat when
 * the send stored the message (not for a retry's earlier one).
 */
export async function sendMessage(
  db: Db,
  bus: EventBus,
  limits: RateLimits,
  retention: Retention,
  authorId: string,
  raw: SendInput,
): Promise<{ message: Message; role: ChatRole | undefined }> {
  const input = parseInput(sendSchema, raw);
  await limits.take('sendsPerUser', authorId);
  const chatId = input.chatId ?? (await openDirectChat(db, bus, authorId, input.toUsername!)).id;
  const clientId = input.clientId ?? null;
  const replyToId = input.replyToId ?? null;
  const now = new Date();
  const result = await appendMessage(db, {
    chatId,
    authorId,
    text: input.text,
    clientId,
    replyToId,
    searchText: searchText(input.text),
    mentionKeys: mentionedKeys(input.text),
    now,
    createdAfter: retainedSince(retention, now),
  });
  switch (result.kind) {
    case 'rejected':
      throw await refusal(db, authorId, chatId, replyToId);
    case 'clientIdTaken': {
      // The clientId was used before (a retry, perhaps concurrent): answer with that message.
      const earlier = await earlierSend(db, authorId, clientId!, { chatId, text: input.text, replyToId });
      // Not found: the earlier message was deleted between the clash and this read.
      if (!earlier) throw new AppError('CONFLICT', 'This clientId was already used.', { field: 'clientId' });
      return { message: earlier, role: undefined };
    }
    case 'appended':
      bus.publish('message:added', refOf(result.message, authorId));
      if (replyToId) bus.publish('message:updated', { chatId, messageId: replyToId, actorId: authorId });
      return { message: result.message, role: result.role };
  }
}

/**
 * The author changes a message's text, and with it the members it mentions;
 * the edited row comes back with the relations `query` selects.
 */
export async function editMessage(
  db: Db,
  bus: EventBus,
  retention: Retention,
  userId: string,
  input: { id: string; text: string },
  query: MessageQuery = {},
) {
  const { message, membership } = await requireVisibleMessage(db, retention, userId, input.id);
  if (!may.editMessage(userId, message, membership.role)) throw new AppError('FORBIDDEN', 'Only the author can edit a message.');
  await requireWriter(db, membership);
  const text = parseInput(z.object({ text: textSchema }), { text: input.text }).text;
  const keys = mentionedKeys(text);
  const edited = (await db
    .$transaction(async (tx) => {
      await tx.mention.deleteMany({ where: { messageId: message.id } });
      const mentioned = keys.length
        ? await tx.chatMember.findMany({ where: { chatId: message.chatId, user: { usernameKey: { in: keys } } }, select: { userId: true } })
        : [];
      if (mentioned.length) await tx.mention.createMany({ data: mentioned.map(({ userId: id }) => ({ messageId: message.id, userId: id })) });
      return tx.message.update({ ...query, where: { id: message.id }, data: { text, searchText: searchText(text), editedAt: new Date() } });
    })
    .catch((error: unknown) => {
      // Deleted (by its author elsewhere, an owner or the sweeper) since it was read.
      throw isRecordGone(error) || isForeignKeyViolation(error) ? notFound('Message') : error;
    })) as Message;
  bus.publish('message:edited', refOf(edited, userId));
  bus.publish('message:updated', { chatId: edited.chatId, messageId: edited.id, actorId: userId });
  return edited;
}

/** The author, or an owner of the group, removes a message from history; its seq is never reused. */
export async function deleteMessage(db: Db, bus: EventBus, retention: Retention, userId: string, messageId: string) {
  const { message, membership } = await requireVisibleMessage(db, retention, userId, messageId);
  if (!may.deleteMessage(userId, message, membership.chat, membership.role)) {
    throw new AppError('FORBIDDEN', 'Only the author or a group owner can delete a message.');
  }
  const { count } = await db.message.deleteMany({ where: { id: message.id } });
  // A concurrent delete (or the sweeper) took it first, and announced it.
  if (count === 0) throw notFound('Message');
  const ref = refOf(message, userId);
  bus.publish('message:deleted', ref);
  // The message it replied to has one reply fewer.
  if (message.replyToId) bus.publish('message:updated', { chatId: message.chatId, messageId: message.replyToId, actorId: userId });
  return ref;
}

/** The message as `query` selects it, read after a change; NOT_FOUND when it went away meanwhile. */
export async function rereadMessage(db: Db, messageId: string, query: MessageQuery): Promise<Message> {
  const message = await db.message.findUnique({ ...query, where: { id: messageId } });
  if (!message) throw notFound('Message');
  return message as Message;
}

/** The Prisma selection of a Message that a GraphQL selection needs (Pothos's queryFromInfo). */
export type MessageQuery = { include?: Prisma.MessageInclude; select?: Prisma.MessageSelect };

/**
 * Whether `query` (a Pothos selection) asks for at most the author beside
 * the scalars: what a client usually shows, and what the plain-SQL paths
 * (appendMessage, readPageWithAuthors) return without a second read.
 */
export const includesAtMostAuthor = (query: MessageQuery) =>
  !('select' in query) && Object.entries(query.include ?? {}).every(([key, value]) => key === 'author' && value === true);

/**
 * One page of a chat's history for one of its members, oldest first by seq,
 * with the reader's role; NOT_FOUND for anyone else. `query` is the Prisma
 * selection for the requested fields, so authors and chats load with the page
 * whatever its size.
 */
export async function readHistory(
  db: Db,
  retention: Retention,
  userId: string,
  chatId: string,
  page: Page<number>,
  query: MessageQuery,
): Promise<{ rows: Message[]; role: Role }> {
  const now = new Date();
  if (includesAtMostAuthor(query)) {
    // The reader's membership is part of the page's statement: only an empty page costs a separate check.
    const read = await readPageWithAuthors(db, { chatId, userId, page, now, createdAfter: retainedSince(retention, now) });
    return read.rows.length > 0 ? read : { rows: [], role: (await requireMember(db, chatId, userId)).role };
  }
  const { role } = await requireMember(db, chatId, userId);
  return { rows: await messagePage(db, { chatId, ...visibleMessages(retention, now) }, page, query), role };
}

/** The servable replies to a message, a page of them by seq (oldest first); the caller has checked the message's visibility. */
export function readReplies(db: Db, retention: Retention, messageId: string, page: Page<number>, query: MessageQuery) {
  return messagePage(db, { replyToId: messageId, ...visibleMessages(retention) }, page, query);
}

/** The messages `where` selects, a page of them by seq (see toConnection), with the relations `query` selects. */
async function messagePage(db: Db, where: Prisma.MessageWhereInput, page: Page<number>, query: MessageQuery): Promise<Message[]> {
  const forward = page.direction === 'forward';
  return (await db.message.findMany({
    ...query,
    where: { ...where, ...(page.from === null ? {} : { seq: forward ? { gt: page.from } : { lt: page.from } }) },
    orderBy: { seq: forward ? 'asc' : 'desc' },
    take: page.size + 1,
  })) as Message[];
}
