import { queryFromInfo } from '@pothos/plugin-prisma';
import {
  addChatMember,
  createGroupChat,
  joinChat,
  leaveChat,
  markChatRead,
  MAX_MESSAGE_TTL_SECONDS,
  openDirectChat,
  removeChatMember,
  setMessageTtl,
} from '../domain/chats.ts';
import { isString, isTimestamp, parsePage, prefixRange, toConnection, type Page } from '../domain/paging.ts';
import { viewerOf } from '../context.ts';
import { may } from '../domain/access.ts';
import { notFound } from '../errors.ts';
import { ChatKind as ChatKindValues, ChatRole as ChatRoleValues, type Prisma } from '../generated/prisma/client.ts';
import { canSee, roleIn, withRole } from './access.ts';
import { builder, VIEWER_DEPENDENT } from './builder.ts';
import { directPeerName, unreadCount, unreadMentionCount } from './loaders.ts';
import { User } from './user.ts';

export const ChatKind = builder.enumType(ChatKindValues, { name: 'ChatKind' });
export const ChatRole = builder.enumType(ChatRoleValues, { name: 'ChatRole' });

export const ChatMember = builder.prismaObject('ChatMember', {
  fields: (t) => ({
    user: t.relation('user', { type: User }),
    role: t.expose('role', { type: ChatRole }),
    joinedAt: t.expose('joinedAt', { type: 'DateTime' }),
    lastReadSeq: t.exposeInt('lastReadSeq', {
      extensions: VIEWER_DEPENDENT,
      description: 'Seq of the last message this member has read (0 = none). Read positions are shown to members only: 0 for anyone else.',
      authScopes: (member, _args, ctx) => withRole(ctx, member.chatId, may.takePart),
      unauthorizedResolver: () => 0,
    }),
  }),
});

export const Chat = builder.prismaNode('Chat', {
  id: { field: 'id' },
  authScopes: (chat, ctx) => canSee.Chat(chat, ctx),
  fields: (t) => ({
    kind: t.expose('kind', { type: ChatKind }),
    name: t.string({
      extensions: VIEWER_DEPENDENT,
      description: "Group name; for a direct chat, the other member's username.",
      resolve: async (chat, _args, ctx) =>
        chat.kind === 'GROUP' ? (chat.name ?? '') : ((await directPeerName(ctx).load(chat.id)) ?? ''),
    }),
    description: t.exposeString('description', { nullable: true }),
    isPublic: t.exposeBoolean('isPublic', {
      description: 'Public groups can be found with publicChats and joined by anyone.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    members: t.relation('members', {
      description: 'Oldest member first.',
      query: { orderBy: [{ joinedAt: 'asc' }, { userId: 'asc' }] },
    }),
    memberCount: t.relationCount('members'),
    myRole: t.field({
      extensions: VIEWER_DEPENDENT,
      type: ChatRole,
      nullable: true,
      description: "The caller's role; null when the caller is not a member.",
      resolve: (chat, _args, ctx) => roleIn(ctx, chat.id),
    }),
    unreadCount: t.int({
      extensions: VIEWER_DEPENDENT,
      description: "Messages after the caller's lastReadSeq that others wrote (0 when the caller is not a member).",
      authScopes: (chat, _args, ctx) => withRole(ctx, chat.id, may.takePart),
      unauthorizedResolver: () => 0,
      resolve: (chat, _args, ctx) => unreadCount(ctx).load(chat.id),
    }),
    unreadMentionCount: t.int({
      extensions: VIEWER_DEPENDENT,
      description: 'Unread messages by others (as unreadCount counts them) that mention the caller; 0 when the caller is not a member.',
      authScopes: (chat, _args, ctx) => withRole(ctx, chat.id, may.takePart),
      unauthorizedResolver: () => 0,
      resolve: (chat, _args, ctx) => unreadMentionCount(ctx).load(chat.id),
    }),
    messageTtlSeconds: t.exposeInt('messageTtlSeconds', {
      nullable: true,
      description: `Messages sent from now on disappear this many seconds after sending (1..${MAX_MESSAGE_TTL_SECONDS}); null keeps them.`,
    }),
  }),
});

export const ChatConnection = builder.connectionObject({ type: Chat, name: 'ChatConnection' }, { name: 'ChatEdge' });

type ActivityKey = [lastActivityAt: string, id: string];
const isActivityKey = (value: unknown): value is ActivityKey =>
  Array.isArray(value) && value.length === 2 && isTimestamp(value[0]) && isString(value[1]);

/** Newest activity first; ties broken by id so the order is total and cursors are exact. */
function activityOrder(page: Page<ActivityKey>) {
  const newestFirst = page.direction === 'forward';
  const dir = newestFirst ? 'desc' : 'asc';
  const where: Prisma.ChatWhereInput = {};
  if (page.from) {
    const at = new Date(page.from[0]);
    const past = newestFirst ? 'lt' : 'gt';
    where.OR = [{ lastActivityAt: { [past]: at } }, { lastActivityAt: at, id: { [past]: page.from[1] } }];
  }
  return { where, orderBy: [{ lastActivityAt: dir }, { id: dir }] as Prisma.ChatOrderByWithRelationInput[] };
}

type NameKey = [nameKey: string, id: string];
const isNameKey = (value: unknown): value is NameKey => Array.isArray(value) && value.length === 2 && value.every(isString);

builder.queryFields((t) => ({
  chat: t.withAuth({ loggedIn: true }).prismaField({
    type: Chat,
    nullable: true,
    description: 'A chat the caller belongs to, or any public group. NOT_FOUND otherwise.',
    args: { id: t.arg.globalID({ for: Chat }) },
    // Visibility is the Chat type's own check (src/schema/access.ts).
    resolve: async (query, _root, { id }, ctx) => {
      const chat = await ctx.prisma.chat.findUnique({ ...query, where: { id: id.id } });
      if (!chat) throw notFound('Chat');
      return chat;
    },
  }),
  chats: t.connection(
    {
      type: Chat,
      authScopes: { loggedIn: true },
      description: 'Chats the caller belongs to, most recent activity first.',
      resolve: async (_root, args, ctx, info) => {
        const page = parsePage(args, isActivityKey);
        const { where, orderBy } = activityOrder(page);
        const rows = await ctx.prisma.chat.findMany({
          ...queryFromInfo({ context: ctx, info, path: ['edges', 'node'] }),
          where: { ...where, members: { some: { userId: viewerOf(ctx).userId } } },
          orderBy,
          take: page.size + 1,
        });
        return toConnection(page, rows, (chat) => [chat.lastActivityAt.toISOString(), chat.id]);
      },
    },
    ChatConnection,
  ),
  publicChats: t.connection(
    {
      type: Chat,
      authScopes: { loggedIn: true },
      description: 'Public groups whose name starts with `search` (case-insensitive), by name.',
      args: { search: t.arg.string({ required: false }) },
      resolve: async (_root, args, ctx, info) => {
        const page = parsePage(args, isNameKey);
        const forward = page.direction === 'forward';
        const prefix = (args.search ?? '').toLowerCase();
        const after = forward ? 'gt' : 'lt';
        const rows = await ctx.prisma.chat.findMany({
          ...queryFromInfo({ context: ctx, info, path: ['edges', 'node'] }),
          where: {
            kind: 'GROUP',
            isPublic: true,
            nameKey: prefixRange(prefix),
            ...(page.from && {
              OR: [{ nameKey: { [after]: page.from[0] } }, { nameKey: page.from[0], id: { [after]: page.from[1] } }],
            }),
          },
          orderBy: [{ nameKey: forward ? 'asc' : 'desc' }, { id: forward ? 'asc' : 'desc' }],
          take: page.size + 1,
        });
        return toConnection(page, rows, (chat) => [chat.nameKey ?? '', chat.id]);
      },
    },
    ChatConnection,
  ),
}));

const CreateGroupChatInput = builder.inputType('CreateGroupChatInput', {
  fields: (t) => ({
    name: t.string(),
    description: t.string({ required: false }),
    isPublic: t.boolean({ required: false }),
    members: t.stringList({
      required: false,
      description: 'Usernames to add as members besides the creator, who becomes OWNER.',
    }),
  }),
});

builder.mutationFields((t) => {
  const signedIn = t.withAuth({ loggedIn: true });
  const chatId = () => t.arg.globalID({ for: Chat });
  return {
    createDirectChat: signedIn.field({
      type: Chat,
      description: 'Idempotent: returns the existing direct chat if there is one.',
      args: { username: t.arg.string() },
      resolve: (_root, { username }, ctx) => openDirectChat(ctx.prisma, ctx.bus, ctx.viewer.userId, username),
    }),
    createGroupChat: signedIn.field({
      type: Chat,
      args: { input: t.arg({ type: CreateGroupChatInput }) },
      resolve: (_root, { input }, ctx) => createGroupChat(ctx.prisma, ctx.bus, ctx.viewer.userId, input),
    }),
    joinChat: signedIn.field({
      type: Chat,
      description: 'Joins a public group.',
      args: { chatId: chatId() },
      resolve: (_root, args, ctx) => joinChat(ctx.prisma, ctx.bus, ctx.viewer.userId, args.chatId.id),
    }),
    leaveChat: signedIn.boolean({
      description: 'Leaves a group. The longest-standing member inherits ownership; an empty group is deleted.',
      args: { chatId: chatId() },
      resolve: (_root, args, ctx) => leaveChat(ctx.prisma, ctx.bus, ctx.viewer.userId, args.chatId.id),
    }),
    addChatMember: signedIn.field({
      type: Chat,
      description: "A group owner adds a member.",
      args: { chatId: chatId(), username: t.arg.string() },
      resolve: (_root, args, ctx) =>
        addChatMember(ctx.prisma, ctx.bus, ctx.viewer.userId, args.chatId.id, args.username),
    }),
    removeChatMember: signedIn.field({
      type: Chat,
      description: 'A group owner removes a member.',
      args: { chatId: chatId(), username: t.arg.string() },
      resolve: (_root, args, ctx) =>
        removeChatMember(ctx.prisma, ctx.bus, ctx.viewer.userId, args.chatId.id, args.username),
    }),
    setChatMessageTtl: signedIn.field({
      type: Chat,
      description:
        'Disappearing messages for messages sent from now on; null turns them off. Any member of a direct chat, an owner of a group.',
      args: { chatId: chatId(), seconds: t.arg.int({ required: false }) },
      resolve: (_root, args, ctx) =>
        setMessageTtl(ctx.prisma, ctx.viewer.userId, args.chatId.id, args.seconds ?? null),
    }),
    markChatRead: signedIn.field({
      type: Chat,
      description: 'Marks messages up to seq (default: the newest) as read. The marker only moves forward.',
      args: { chatId: chatId(), seq: t.arg.int({ required: false }) },
      resolve: (_root, args, ctx) => markChatRead(ctx.prisma, ctx.viewer.userId, args.chatId.id, args.seq),
    }),
  };
});
