import { feedDeps, viewerOf } from '../context.ts';
import { presenceEvents } from '../domain/feeds.ts';
import type { PresenceChange } from '../events.ts';
import { onlineAsSeen } from './access.ts';
import { builder, VIEWER_DEPENDENT } from './builder.ts';
import { Chat } from './chat.ts';
import { User } from './user.ts';

const UserStatus = builder.objectRef<PresenceChange>('UserStatus').implement({
  description: 'A user going online (first socket connected) or offline (last socket closed).',
  fields: (t) => ({
    user: t.prismaField({
      type: User,
      resolve: (query, change, _args, ctx) =>
        ctx.prisma.user.findUniqueOrThrow({ ...query, where: { id: change.userId } }),
    }),
    online: t.exposeBoolean('online'),
    lastSeenAt: t.field({
      type: 'DateTime',
      nullable: true,
      resolve: (change) => (change.lastSeenAt ? new Date(change.lastSeenAt) : null),
    }),
  }),
});

builder.prismaObjectFields(Chat, (t) => ({
  onlineMembers: t.prismaField({
    type: [User],
    description: 'Members holding at least one live subscription socket (but not those who block the caller).',
    extensions: VIEWER_DEPENDENT,
    select: { members: { select: { userId: true } } },
    resolve: async (query, chat, _args, ctx) => {
      const online = await onlineAsSeen(ctx, chat.members.map((member) => member.userId));
      return online.length === 0 ? [] : ctx.prisma.user.findMany({ ...query, where: { id: { in: online } } });
    },
  }),
}));

builder.queryField('onlineUsers', (t) =>
  t.withAuth({ loggedIn: true }).prismaField({
    type: [User],
    description: 'The caller and the users who share a chat with them, among those online (but not those who block the caller).',
    resolve: async (query, _root, _args, ctx) => {
      const me = ctx.viewer.userId;
      const contacts = await ctx.prisma.chatMember.findMany({
        where: { chat: { members: { some: { userId: me } } } },
        select: { userId: true },
        distinct: ['userId'],
      });
      const online = await onlineAsSeen(ctx, new Set([me, ...contacts.map((row) => row.userId)]));
      return ctx.prisma.user.findMany({ ...query, where: { id: { in: online } }, orderBy: { usernameKey: 'asc' } });
    },
  }),
);

builder.subscriptionField('userStatus', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: UserStatus,
    description:
      'Online/offline changes of the given users, or of everyone who shares a chat with the caller; never of users who block the caller.',
    args: { userIds: t.arg.globalIDList({ for: User, required: false }) },
    subscribe: (_root, args, ctx) =>
      presenceEvents(
        feedDeps(ctx),
        viewerOf(ctx).userId,
        args.userIds ? args.userIds.map((id) => id.id) : null,
      ),
    resolve: (change) => change,
  }),
);
