import { may } from '../domain/access.ts';
import { visibleMessages } from '../domain/messages.ts';
import { setPinned } from '../domain/pins.ts';
import { withRole } from './access.ts';
import { builder } from './builder.ts';
import { Chat } from './chat.ts';
import { Message } from './message.ts';
import { User } from './user.ts';

builder.prismaObjectFields(Message, (t) => ({
  pinnedAt: t.expose('pinnedAt', { type: 'DateTime', nullable: true, description: 'When the message was pinned; null when it is not.' }),
  pinnedBy: t.relation('pinnedBy', { type: User, nullable: true, description: 'Who pinned it (null when not pinned, or that user is gone).' }),
}));

builder.prismaObjectFields(Chat, (t) => ({
  pinnedMessages: t.relation('messages', {
    description: 'Pinned messages, most recently pinned first (empty when the caller is not a member).',
    authScopes: (chat, _args, ctx) => withRole(ctx, chat.id, may.takePart),
    // Pothos types a relation's unauthorized value as the model, not its rows.
    unauthorizedResolver: () => [] as never,
    query: (_args, ctx) => ({
      where: { pinnedAt: { not: null }, ...visibleMessages(ctx.config) },
      orderBy: [{ pinnedAt: 'desc' }, { id: 'desc' }],
    }),
  }),
}));

builder.mutationFields((t) => {
  const pinning = (pinned: boolean, description: string) =>
    t.withAuth({ loggedIn: true }).prismaField({
      type: Message,
      description,
      args: { id: t.arg.globalID({ for: Message }) },
      resolve: (query, _root, { id }, ctx) =>
        setPinned(ctx.prisma, ctx.bus, ctx.config, ctx.viewer.userId, { messageId: id.id, pinned }, query),
    });
  return {
    pinMessage: pinning(true, 'Group owners pin in groups; either member pins in a direct chat. Pinning a pinned message changes nothing.'),
    unpinMessage: pinning(false, 'Who may pin may unpin; unpinning a message that is not pinned changes nothing.'),
  };
});
