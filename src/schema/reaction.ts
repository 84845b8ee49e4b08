import type { ReactionGroup as ReactionGroupRow } from '../db/reactions.ts';
import { addReaction, removeReaction } from '../domain/reactions.ts';
import type { User as UserRow } from '../generated/prisma/client.ts';
import { builder, VIEWER_DEPENDENT } from './builder.ts';
import { reactionGroups, REACTION_USERS, userById } from './loaders.ts';
import { Message } from './message.ts';
import { User } from './user.ts';

const ReactionGroup = builder.objectRef<ReactionGroupRow>('ReactionGroup').implement({
  description: "One emoji's reactions to a message.",
  fields: (t) => ({
    emoji: t.exposeString('emoji', { description: 'One emoji, e.g. "👍".' }),
    count: t.exposeInt('count'),
    reactedByMe: t.exposeBoolean('reactedByMe', {
      extensions: VIEWER_DEPENDENT,
      description: 'True when the caller is among those who reacted with it.',
    }),
    users: t.field({
      type: [User],
      description: `Who reacted with it, earliest first (at most ${REACTION_USERS}).`,
      // A user deleted since the read takes their reactions with them.
      resolve: async (group, _args, ctx) =>
        (await userById(ctx).loadMany(group.userIds)).filter((user): user is UserRow => user !== null && !(user instanceof Error)),
    }),
  }),
});

builder.prismaObjectFields(Message, (t) => ({
  reactions: t.field({
    type: [ReactionGroup],
    description: 'Reactions grouped by emoji, in the order each emoji was first used.',
    resolve: (message, _args, ctx) => reactionGroups(ctx).load(message.id),
  }),
}));

builder.mutationFields((t) => {
  const reacting = (change: typeof addReaction, description: string) =>
    t.withAuth({ loggedIn: true }).prismaField({
      type: Message,
      description,
      args: { messageId: t.arg.globalID({ for: Message }), emoji: t.arg.string() },
      resolve: (query, _root, args, ctx) =>
        change(ctx.prisma, ctx.bus, ctx.config, ctx.viewer.userId, { messageId: args.messageId.id, emoji: args.emoji }, query),
    });
  return {
    addReaction: reacting(
      addReaction,
      'A member reacts with one emoji (at most 20 different ones per message). Idempotent: reacting twice with the same emoji changes nothing.',
    ),
    removeReaction: reacting(removeReaction, 'Takes back the caller\'s reaction with that emoji; taking back one never given changes nothing.'),
  };
});
