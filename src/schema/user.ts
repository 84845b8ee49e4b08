import { may } from '../domain/access.ts';
import { usernameKey } from '../domain/accounts.ts';
import { isString, parsePage, prefixRange, toConnection } from '../domain/paging.ts';
import { canSee, seesPresenceOf } from './access.ts';
import { builder, VIEWER_DEPENDENT } from './builder.ts';

export const User = builder.prismaNode('User', {
  id: { field: 'id' },
  authScopes: (user, ctx) => canSee.User(user, ctx),
  fields: (t) => ({
    username: t.exposeString('username'),
    email: t.string({
      extensions: VIEWER_DEPENDENT,
      nullable: true,
      description: 'Visible only to the user themself; null for everyone else.',
      select: { email: true },
      authScopes: (user, _args, ctx) => ctx.viewer !== null && may.seeEmail(ctx.viewer.userId, user),
      unauthorizedResolver: () => null,
      resolve: (user) => user.email,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    online: t.boolean({
      extensions: VIEWER_DEPENDENT,
      description: 'True while the user holds at least one authenticated subscription socket (always false to users they block).',
      // Offline needs no read: who blocks the viewer matters only for those online.
      resolve: (user, _args, ctx) => ctx.presence.isOnline(user.id) && seesPresenceOf(ctx, user.id),
    }),
    lastSeenAt: t.field({
      type: 'DateTime',
      nullable: true,
      extensions: VIEWER_DEPENDENT,
      description: 'When the user last went offline (null to users they block).',
      resolve: async (user, _args, ctx) => (user.lastSeenAt && (await seesPresenceOf(ctx, user.id)) ? user.lastSeenAt : null),
    }),
  }),
});

export const UserConnection = builder.connectionObject({ type: User, name: 'UserConnection' }, { name: 'UserEdge' });

builder.queryFields((t) => ({
  me: t.prismaField({
    type: User,
    nullable: true,
    description: 'The signed-in user; null when the request carries no valid token.',
    resolve: (query, _root, _args, ctx) =>
      ctx.viewer ? ctx.prisma.user.findUnique({ ...query, where: { id: ctx.viewer.userId } }) : null,
  }),
  user: t.prismaField({
    type: User,
    nullable: true,
    authScopes: { loggedIn: true },
    args: { username: t.arg.string() },
    resolve: (query, _root, { username }, ctx) =>
      ctx.prisma.user.findUnique({ ...query, where: { usernameKey: usernameKey(username) } }),
  }),
  users: t.connection(
    {
      type: User,
      description: 'Users whose username starts with `search` (case-insensitive), in username order.',
      authScopes: { loggedIn: true },
      args: { search: t.arg.string({ required: false }) },
      resolve: async (_root, args, ctx) => {
        const page = parsePage(args, isString);
        const forward = page.direction === 'forward';
        const rows = await ctx.prisma.user.findMany({
          // A key range rather than `startsWith`: LIKE would treat "_" in usernames
          // as a wildcard, and a range uses the unique index on usernameKey.
          where: { AND: [{ usernameKey: prefixRange(usernameKey(args.search ?? '')) }, page.from === null ? {} : { usernameKey: forward ? { gt: page.from } : { lt: page.from } }] },
          orderBy: { usernameKey: forward ? 'asc' : 'desc' },
          take: page.size + 1,
        });
        return toConnection(page, rows, (user) => user.usernameKey);
      },
    },
    UserConnection,
  ),
}));
