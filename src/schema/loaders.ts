import { createContextCache } from '@pothos/core';
import DataLoader from 'dataloader';
import type { Context } from '../context.ts';
import { visibleMessages } from '../domain/messages.ts';
import type { ChatMember, Message } from '../generated/prisma/client.ts';

/**
 * Per-request batch loaders for the per-chat fields of a chat list (role,
 * unread count, last message, direct chat name): each costs one or two
 * statements per page instead of one per chat.
 *
 * They batch but do not memoize (`cache: false`): one request may change
 * what they read (a document of several mutations), and a value read before
 * a change must not be served after it. Roles are remembered per request in
 * ./access.ts, which the checks of a request need many times.
 */
const batchOnly = { cache: false } as const;
const byChat = <T>(chatIds: readonly string[], rows: T[], chatIdOf: (row: T) => string) => {
  const map = new Map(rows.map((row) => [chatIdOf(row), row]));
  return chatIds.map((id) => map.get(id) ?? null);
};

/** The viewer's own membership of each chat (null where they are not a member). */
export const myMembership = createContextCache(
  (ctx: Context) =>
    new DataLoader<string, ChatMember | null>(async (chatIds) =>
      byChat(
        chatIds,
        ctx.viewer
          ? await ctx.prisma.chatMember.findMany({ where: { userId: ctx.viewer.userId, chatId: { in: [...chatIds] } } })
          : [],
        (row) => row.chatId,
      ),
      batchOnly,
    ),
);

/** For direct chats: the username of the member who is not the viewer. */
export const directPeerName = createContextCache(
  (ctx: Context) =>
    new DataLoader<string, string | null>(async (chatIds) => {
      const rows = await ctx.prisma.chatMember.findMany({
        where: { chatId: { in: [...chatIds] }, userId: { not: ctx.viewer?.userId ?? '' } },
        select: { chatId: true, user: { select: { username: true } } },
      });
      return byChat(chatIds, rows, (row) => row.chatId).map((row) => row?.user.username ?? null);
    }, batchOnly),
);

/** Messages by others after the viewer's read marker, per chat. */
export const unreadCount = createContextCache(
  (ctx: Context) =>
    new DataLoader<string, number>(async (chatIds) => {
      const memberships = (await myMembership(ctx).loadMany(chatIds)).filter(
        (row): row is ChatMember => row !== null && !(row instanceof Error),
      );
      if (memberships.length === 0 || !ctx.viewer) return chatIds.map(() => 0);
      const counts = await ctx.prisma.message.groupBy({
        by: ['chatId'],
        where: {
          AND: [
            { OR: memberships.map((m) => ({ chatId: m.chatId, seq: { gt: m.lastReadSeq } })) },
            { authorId: { not: ctx.viewer.userId } },
            visibleMessages(ctx.config),
          ],
        },
        _count: { _all: true },
      });
      return byChat(chatIds, counts, (row) => row.chatId).map((row) => row?._count._all ?? 0);
    }, batchOnly),
);

/** The newest message each chat still shows. */
export const lastMessage = createContextCache(
  (ctx: Context) =>
    new DataLoader<string, Message | null>(async (chatIds) => {
      const visible = visibleMessages(ctx.config);
      const newest = await ctx.prisma.message.groupBy({
        by: ['chatId'],
        where: { chatId: { in: [...chatIds] }, ...visible },
        _max: { seq: true },
      });
      const rows = newest.length
        ? await ctx.prisma.message.findMany({
            where: { OR: newest.map((row) => ({ chatId: row.chatId, seq: row._max.seq! })) },
          })
        : [];
      return byChat(chatIds, rows, (row) => row.chatId);
    }, batchOnly),
);
