import { createContextCache } from '@pothos/core';
import DataLoader from 'dataloader';
import type { Context } from '../context.ts';
import { readReactionGroups, type ReactionGroup } from '../db/reactions.ts';
import { visibleMessages } from '../domain/messages.ts';
import type { ChatMember, Message, Prisma, User } from '../generated/prisma/client.ts';

/**
 * Per-request batch loaders for the per-chat fields of a chat list (role,
 * unread counts, last message, direct chat name) and the per-message fields
 * of a page (reactions and their users): each costs one or two statements
 * per page instead of one per chat or message.
 *
 * They batch but do not memoize (`cache: false`): one request may change
 * what they read (a document of several mutations), and a value read before
 * a change must not be served after it. Roles are remembered per request in
 * ./access.ts, which the checks of a request need many times.
 */
const batchOnly = { cache: false } as const;
const byKey = <T>(keys: readonly string[], rows: T[], keyOf: (row: T) => string) => {
  const map = new Map(rows.map((row) => [keyOf(row), row]));
  return keys.map((key) => map.get(key) ?? null);
};

/** The viewer's own membership of each chat (null where they are not a member). */
export const myMembership = createContextCache(
  (ctx: Context) =>
    new DataLoader<string, ChatMember | null>(async (chatIds) =>
      byKey(
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
      return byKey(chatIds, rows, (row) => row.chatId).map((row) => row?.user.username ?? null);
    }, batchOnly),
);

/** Messages by others after the viewer's read marker, per chat, among those `where` selects. */
const unreadLoader = (where: (viewerId: string) => Prisma.MessageWhereInput) =>
  createContextCache(
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
              where(ctx.viewer.userId),
            ],
          },
          _count: { _all: true },
        });
        return byKey(chatIds, counts, (row) => row.chatId).map((row) => row?._count._all ?? 0);
      }, batchOnly),
  );

export const unreadCount = unreadLoader(() => ({}));

/** Unread messages (as unreadCount counts them) that mention the viewer. */
export const unreadMentionCount = unreadLoader((viewerId) => ({ mentions: { some: { userId: viewerId } } }));

/** Users by id, for fields that hold ids rather than rows (reactions). */
export const userById = createContextCache(
  (ctx: Context) =>
    new DataLoader<string, User | null>(
      async (ids) => byKey(ids, await ctx.prisma.user.findMany({ where: { id: { in: [...ids] } } }), (user) => user.id),
      batchOnly,
    ),
);

/** Who reacted how to each message, as the viewer sees it (reactedByMe), with the first `REACTION_USERS` users per emoji. */
export const REACTION_USERS = 25;
export const reactionGroups = createContextCache(
  (ctx: Context) =>
    new DataLoader<string, ReactionGroup[]>(async (messageIds) => {
      const groups = await readReactionGroups(ctx.prisma, ctx.viewer?.userId ?? '', messageIds, REACTION_USERS);
      return messageIds.map((id) => groups.get(id) ?? []);
    }, { ...batchOnly, maxBatchSize: 500 }),
);

/** The users who block the viewer, read once per request (per event for subscriptions): their presence is hidden from the viewer. */
export const blockersOfViewer = createContextCache((ctx: Context): Promise<ReadonlySet<string>> =>
  ctx.viewer
    ? ctx.prisma.block
        .findMany({ where: { blockedId: ctx.viewer.userId }, select: { blockerId: true } })
        .then((rows) => new Set(rows.map((row) => row.blockerId)))
    : Promise.resolve(new Set()),
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
      return byKey(chatIds, rows, (row) => row.chatId);
    }, batchOnly),
);
