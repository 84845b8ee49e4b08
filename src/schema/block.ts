import { blockUser, unblockUser } from '../domain/blocks.ts';
import { builder } from './builder.ts';
import { User } from './user.ts';

builder.queryField('blockedUsers', (t) =>
  t.withAuth({ loggedIn: true }).prismaField({
    type: [User],
    description: 'Users the caller has blocked, by username.',
    resolve: (query, _root, _args, ctx) =>
      ctx.prisma.user.findMany({
        ...query,
        where: { blockedBy: { some: { blockerId: ctx.viewer.userId } } },
        orderBy: { usernameKey: 'asc' },
      }),
  }),
);

builder.mutationFields((t) => ({
  blockUser: t.withAuth({ loggedIn: true }).boolean({
    description:
      'A blocked user can no longer open or write to a direct chat with the blocker, nor see their presence or typing, ' +
      'and the blocker hears nothing from them in direct chats. Group chats are unaffected. Blocking twice changes nothing.',
    args: { username: t.arg.string() },
    resolve: (_root, args, ctx) => blockUser(ctx.prisma, ctx.viewer.userId, args.username),
  }),
  unblockUser: t.withAuth({ loggedIn: true }).boolean({
    description: 'Ends a block; unblocking someone not blocked changes nothing.',
    args: { username: t.arg.string() },
    resolve: (_root, args, ctx) => unblockUser(ctx.prisma, ctx.viewer.userId, args.username),
  }),
}));
