import { queryFromInfo } from '@pothos/plugin-prisma';
import type { GraphQLResolveInfo } from 'graphql';
import { feedDeps, viewerOf, type Context } from '../context.ts';
import { may } from '../domain/access.ts';
import { requireMember } from '../domain/chats.ts';
import { chatEvents, messageEvents, messagesAfter, withSelection } from '../domain/feeds.ts';
import {
  deleteMessage,
  editMessage,
  includesAtMostAuthor,
  isServable,
  readHistory,
  readReplies,
  rereadMessage,
  sendMessage,
  visibleMessages,
} from '../domain/messages.ts';
import { isSeq, parsePage, toConnection, type PageArgs } from '../domain/paging.ts';
import { badInput } from '../errors.ts';
import type { MessageRef } from '../events.ts';
import type { Message as MessageRow } from '../generated/prisma/client.ts';
import { canSee, knowRole, withRole } from './access.ts';
import { builder, VIEWER_DEPENDENT } from './builder.ts';
import { Chat } from './chat.ts';
import { lastMessage } from './loaders.ts';
import { User } from './user.ts';

export const Message = builder.prismaNode('Message', {
  id: { field: 'id' },
  authScopes: (message, ctx) => canSee.Message(message, ctx),
  fields: (t) => ({
    chat: t.relation('chat', { type: Chat }),
    author: t.relation('author', { type: User }),
    text: t.exposeString('text'),
    seq: t.exposeInt('seq', {
      description: '1, 2, 3, ... in the order the chat received messages; never reused.',
    }),
    clientId: t.string({
      nullable: true,
      extensions: VIEWER_DEPENDENT,
      description: "The sender's idempotency key, if it sent one; shown to the sender only.",
      authScopes: (message, _args, ctx) => ctx.viewer !== null && may.seeClientId(ctx.viewer.userId, message),
      unauthorizedResolver: () => null,
      resolve: (message) => message.clientId,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    editedAt: t.expose('editedAt', { type: 'DateTime', nullable: true }),
    isEdited: t.boolean({ resolve: (message) => message.editedAt !== null }),
    mentions: t.field({
      type: [User],
      description: 'Members mentioned as @username in the text, in the order the text names them.',
      select: { mentions: { select: { user: true } } },
      resolve: (message) => {
        const text = message.text.toLowerCase();
        const at = (user: { usernameKey: string }) => text.indexOf(`@${user.usernameKey}`);
        return message.mentions.map((mention) => mention.user).sort((a, b) => at(a) - at(b));
      },
    }),
    mentionsMe: t.boolean({
      extensions: VIEWER_DEPENDENT,
      description: 'True when the text mentions the caller.',
      select: { mentions: { select: { userId: true } } },
      resolve: (message, _args, ctx) => message.mentions.some((mention) => mention.userId === ctx.viewer?.userId),
    }),
  }),
});

export const MessageConnection = builder.connectionObject(
  { type: Message, name: 'MessageConnection' },
  { name: 'MessageEdge' },
);

// The fields that return messages: declared once the Message type is, so TypeScript knows its shape.
builder.prismaObjectFields(Message, (t) => ({
  replyTo: t.field({
    type: Message,
    nullable: true,
    description: 'The message this one replies to; null when it replies to none, or that message is gone.',
    select: (_args, _ctx, nestedSelection) => ({ replyTo: nestedSelection(true) }),
    resolve: (message, _args, ctx) => (message.replyTo && isServable(ctx.config, message.replyTo) ? message.replyTo : null),
  }),
  replyCount: t.relationCount('replies', {
    description: 'How many stored messages reply to this one.',
    where: (_args, ctx) => visibleMessages(ctx.config),
  }),
  replies: t.connection(
    {
      type: Message,
      description: 'The messages that reply to this one, oldest first (a thread); paged like history.',
      resolve: async (message, args, ctx, info) => {
        const page = parsePage(args, isSeq);
        const query = queryFromInfo({ context: ctx, info, typeName: 'Message', path: ['edges', 'node'] });
        return toConnection(page, await readReplies(ctx.prisma, ctx.config, message.id, page, query), (reply) => reply.seq);
      },
    },
    MessageConnection,
  ),
}));

export const MessageDeletion = builder.objectRef<MessageRef>('MessageDeletion').implement({
  description: 'What remains of a deleted message: enough for clients to drop it.',
  fields: (t) => ({
    id: t.globalID({ resolve: (ref) => ({ type: 'Message', id: ref.messageId }) }),
    chatId: t.globalID({ resolve: (ref) => ({ type: 'Chat', id: ref.chatId }) }),
    seq: t.exposeInt('seq'),
  }),
});

const HISTORY_DESCRIPTION = 'Oldest first. `last: N` gives the newest N; `before` pages back; `after` catches up.';

/** A page of a chat's history for a member; NOT_FOUND for anyone else. */
async function history(chatId: string, args: PageArgs, ctx: Context, info: GraphQLResolveInfo) {
  const page = parsePage(args, isSeq);
  const query = queryFromInfo({ context: ctx, info, typeName: 'Message', path: ['edges', 'node'] });
  const { rows, role } = await readHistory(ctx.prisma, ctx.config, viewerOf(ctx).userId, chatId, page, query);
  // The read established the viewer's role: the page's messages need no other to be checked.
  knowRole(ctx, chatId, role);
  return toConnection(page, rows, (message) => message.seq);
}

builder.prismaObjectFields(Chat, (t) => ({
  lastMessage: t.field({
    type: Message,
    nullable: true,
    description: 'The newest message; null when there is none, or the caller is not a member.',
    authScopes: (chat, _args, ctx) => withRole(ctx, chat.id, may.takePart),
    unauthorizedResolver: () => null,
    resolve: (chat, _args, ctx) => lastMessage(ctx).load(chat.id),
  }),
  messages: t.connection(
    {
      type: Message,
      authScopes: { loggedIn: true },
      // Members only: a public group's non-members see the chat but not this.
      extensions: VIEWER_DEPENDENT,
      description: HISTORY_DESCRIPTION,
      resolve: (chat, args, ctx, info) => history(chat.id, args, ctx, info),
    },
    MessageConnection,
  ),
}));

builder.queryField('messages', (t) =>
  t.connection(
    {
      type: Message,
      authScopes: { loggedIn: true },
      description: HISTORY_DESCRIPTION,
      args: { chatId: t.arg.globalID({ for: Chat }) },
      resolve: (_root, args, ctx, info) => history(args.chatId.id, args, ctx, info),
    },
    MessageConnection,
  ),
);

const SendMessageInput = builder.inputType('SendMessageInput', {
  fields: (t) => ({
    chatId: t.globalID({
      required: false,
      for: Chat,
      description:
        'Exactly one of chatId and toUsername. toUsername uses (or opens) the direct chat with that user.',
    }),
    toUsername: t.string({ required: false }),
    text: t.string({ description: '1–4000 characters after trimming.' }),
    clientId: t.string({
      required: false,
      description:
        'Idempotency key (up to 64 characters): resending the same clientId (with the same text and replyToId) returns the first message instead of a duplicate.',
    }),
    replyToId: t.globalID({ required: false, for: Message, description: 'Reply to this message of the same chat.' }),
  }),
});

const EditMessageInput = builder.inputType('EditMessageInput', {
  fields: (t) => ({
    id: t.globalID({ for: Message }),
    text: t.string(),
  }),
});

builder.mutationFields((t) => ({
  sendMessage: t.withAuth({ loggedIn: true }).prismaField({
    type: Message,
    args: { input: t.arg({ type: SendMessageInput }) },
    resolve: async (query, _root, { input }, ctx) => {
      const { message, role } = await sendMessage(ctx.prisma, ctx.bus, ctx.limits, ctx.config, ctx.viewer.userId, {
        ...input,
        chatId: input.chatId?.id,
        replyToId: input.replyToId?.id,
      });
      // The send proved the author's membership: the answer's access checks need not read it.
      if (role) knowRole(ctx, message.chatId, role);
      // The new message comes with its author (see appendMessage), which is
      // all a client usually selects beyond its scalars: then there is nothing
      // to read. A selection that needs more is read as Pothos planned it
      // (NOT_FOUND if it was deleted since it was sent).
      return includesAtMostAuthor(query) ? message : rereadMessage(ctx.prisma, message.id, query);
    },
  }),
  editMessage: t.withAuth({ loggedIn: true }).prismaField({
    type: Message,
    description: 'The author changes the text of a message.',
    args: { input: t.arg({ type: EditMessageInput }) },
    // The selection is read with the update: a delete right after it cannot fail the payload.
    resolve: (query, _root, { input }, ctx) =>
      editMessage(ctx.prisma, ctx.bus, ctx.config, ctx.viewer.userId, { id: input.id.id, text: input.text }, query),
  }),
  deleteMessage: t.withAuth({ loggedIn: true }).field({
    type: MessageDeletion,
    description: 'The author, or an owner of the group, deletes a message.',
    args: { id: t.arg.globalID({ for: Message }) },
    resolve: (_root, { id }, ctx) => deleteMessage(ctx.prisma, ctx.bus, ctx.config, ctx.viewer.userId, id.id),
  }),
}));

builder.subscriptionFields((t) => {
  const signedIn = t.withAuth({ loggedIn: true });
  const chatIdArg = () =>
    t.arg.globalID({ for: Chat, required: false, description: "One chat; omit it for all of the caller's chats." });
  /** The chat a one-chat subscription follows, checked once up front (NOT_FOUND for non-members). */
  const followedChat = async (ctx: Context, chatId: { id: string } | null | undefined) => {
    if (!chatId) return null;
    await requireMember(ctx.prisma, chatId.id, viewerOf(ctx).userId);
    return chatId.id;
  };
  /** The event's message with the subscriber's selection (shared per event); the bare row if it has just gone. */
  const eventMessage = async (query: object, message: MessageRow, _args: unknown, ctx: Context) =>
    (await withSelection(feedDeps(ctx), message, query)) ?? message;
  return {
    messageAdded: signedIn.prismaField({
      type: Message,
      description:
        "New messages in one chat, or in all of the caller's chats when chatId is omitted.\n" +
        'With chatId and afterSeq, first replays the stored messages with seq > afterSeq, then goes live: ' +
        'after a reconnect, subscribe with the last seq you saw and nothing is missed or repeated.',
      args: { chatId: chatIdArg(), afterSeq: t.arg.int({ required: false }) },
      subscribe: async (_root, args, ctx) => {
        if (args.afterSeq != null && !args.chatId) throw badInput('afterSeq needs a chatId.', 'afterSeq');
        if (args.afterSeq != null && args.afterSeq < 0) throw badInput('afterSeq must be 0 or more.', 'afterSeq');
        const chatId = await followedChat(ctx, args.chatId);
        return chatId !== null && args.afterSeq != null
          ? messagesAfter(feedDeps(ctx), ctx.viewer.userId, chatId, args.afterSeq)
          : messageEvents(feedDeps(ctx), 'message:added', ctx.viewer.userId, chatId);
      },
      resolve: eventMessage,
    }),
    messageEdited: signedIn.prismaField({
      type: Message,
      args: { chatId: chatIdArg() },
      subscribe: async (_root, args, ctx) =>
        messageEvents(feedDeps(ctx), 'message:edited', ctx.viewer.userId, await followedChat(ctx, args.chatId)),
      resolve: eventMessage,
    }),
    messageUpdated: signedIn.prismaField({
      type: Message,
      description:
        'Any change to a stored message other than deletion: its text, reactions, pin, or replyCount. ' +
        'The whole message as it is then, so normalized caches update in place.',
      args: { chatId: chatIdArg() },
      subscribe: async (_root, args, ctx) =>
        messageEvents(feedDeps(ctx), 'message:updated', ctx.viewer.userId, await followedChat(ctx, args.chatId)),
      resolve: eventMessage,
    }),
    messageDeleted: signedIn.field({
      type: MessageDeletion,
      description: 'Deletions by authors and owners, and messages removed by retention.',
      args: { chatId: chatIdArg() },
      subscribe: async (_root, args, ctx) =>
        chatEvents(feedDeps(ctx), 'message:deleted', ctx.viewer.userId, await followedChat(ctx, args.chatId)),
      resolve: (ref) => ref,
    }),
  };
});
