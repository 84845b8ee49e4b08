import type { Context } from '../context.ts';
import { visibleMessages } from '../domain/messages.ts';

/**
 * Whether `node(id)` may return this object to the caller: the same rules as
 * the typed queries (chats and messages of one's own chats, public groups,
 * one's own sessions, any user), so the generic entry point leaks nothing.
 */
export async function canSeeNode(ctx: Context, { typename, id }: { typename: string; id: string }): Promise<boolean> {
  const viewer = ctx.viewer;
  if (!viewer) return false;
  switch (typename) {
    case 'User':
      return true;
    case 'Session':
      return (await ctx.prisma.session.count({ where: { id, userId: viewer.userId } })) > 0;
    case 'Chat':
      return (
        (await ctx.prisma.chat.count({
          where: { id, OR: [{ isPublic: true }, { members: { some: { userId: viewer.userId } } }] },
        })) > 0
      );
    case 'Message':
      return (
        (await ctx.prisma.message.count({
          where: { id, ...visibleMessages(ctx.config), chat: { members: { some: { userId: viewer.userId } } } },
        })) > 0
      );
    default:
      return false;
  }
}
