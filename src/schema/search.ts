import { queryFromInfo } from '@pothos/plugin-prisma';
import { viewerOf } from '../context.ts';
import { searchMessages, type SearchHit } from '../domain/search.ts';
import { knowRole } from './access.ts';
import { builder } from './builder.ts';
import { Chat } from './chat.ts';
import { Message } from './message.ts';

const MessageSearchHit = builder.objectRef<SearchHit>('MessageSearchHit').implement({
  fields: (t) => ({
    message: t.field({ type: Message, resolve: (hit) => hit.message }),
    snippet: t.exposeString('snippet', { description: 'The matching part of the text, matches wrapped in « and ».' }),
  }),
});

const MessageSearchHitConnection = builder.connectionObject(
  { type: MessageSearchHit, name: 'MessageSearchHitConnection' },
  { name: 'MessageSearchHitEdge' },
);

builder.queryField('searchMessages', (t) =>
  t.field({
    type: MessageSearchHitConnection,
    authScopes: { loggedIn: true },
    description:
      "Full-text search over the messages the caller can read (one chat, or all of the caller's chats), newest first. " +
      'The query is plain words (any script, emoji too), matched as whole words regardless of case and accents ' +
      '(in Chinese and Japanese, also the parts of a word up to four characters); a message matches when it has every word. ' +
      'Anything else in the query only separates words.',
    args: {
      query: t.arg.string(),
      chatId: t.arg.globalID({ for: Chat, required: false }),
      first: t.arg.int({ required: false }),
      after: t.arg.string({ required: false }),
    },
    resolve: async (_root, args, ctx, info) => {
      const found = await searchMessages(
        ctx.prisma,
        ctx.config,
        viewerOf(ctx).userId,
        { query: args.query, chatId: args.chatId?.id ?? null, first: args.first, after: args.after },
        queryFromInfo({ context: ctx, info, typeName: 'Message', path: ['edges', 'node', 'message'] }),
      );
      // The search established the reader's role in each hit's chat: their messages need no other read to be checked.
      for (const { node } of found.edges) knowRole(ctx, node.message.chatId, node.role);
      return found;
    },
  }),
);
