import { feedDeps } from '../context.ts';
import { requireMember } from '../domain/chats.ts';
import { chatEvents } from '../domain/feeds.ts';
import type { TypingChange } from '../events.ts';
import { builder } from './builder.ts';
import { Chat } from './chat.ts';
import { User } from './user.ts';

const TypingEvent = builder.objectRef<TypingChange>('TypingEvent').implement({
  fields: (t) => ({
    chat: t.prismaField({
      type: Chat,
      resolve: (query, event, _args, ctx) => ctx.prisma.chat.findUniqueOrThrow({ ...query, where: { id: event.chatId } }),
    }),
    user: t.prismaField({
      type: User,
      resolve: (query, event, _args, ctx) => ctx.prisma.user.findUniqueOrThrow({ ...query, where: { id: event.userId } }),
    }),
    typing: t.exposeBoolean('typing'),
  }),
});

builder.mutationField('setTyping', (t) =>
  t.withAuth({ loggedIn: true }).boolean({
    description:
      'Tells the other members that the caller is typing (or stopped). A start lasts a few seconds unless repeated; repeats within that time are not re-announced.',
    args: { chatId: t.arg.globalID({ for: Chat }), typing: t.arg.boolean() },
    resolve: async (_root, args, ctx) => {
      await requireMember(ctx.prisma, args.chatId.id, ctx.viewer.userId);
      ctx.typing.set(args.chatId.id, ctx.viewer.userId, args.typing);
      return true;
    },
  }),
);

builder.subscriptionField('typing', (t) =>
  t.withAuth({ loggedIn: true }).field({
    type: TypingEvent,
    description: "Other members starting and stopping typing in a chat (never the caller's own).",
    args: { chatId: t.arg.globalID({ for: Chat }) },
    subscribe: async (_root, args, ctx) => {
      const me = ctx.viewer.userId;
      await requireMember(ctx.prisma, args.chatId.id, me);
      return chatEvents(feedDeps(ctx), 'chat:typing', me, args.chatId.id, { accept: (event) => event.userId !== me });
    },
    resolve: (event) => event,
  }),
);
