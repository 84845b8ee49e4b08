import type { Api, ApiError } from './api.ts';
import type { ChatSummaryFragment } from './generated/graphql.ts';
import { Chats, CreateDirectChat, CreateGroupChat, InboxMessages, MarkChatRead, MessageDeletions, MessageEdits, UserStatus } from './operations.ts';
import type { Message } from './room.ts';

export type ChatSummary = ChatSummaryFragment;

export interface InboxState {
  /** Most recent activity first. */
  readonly chats: readonly ChatSummary[];
  readonly loaded: boolean;
}

export type InboxEvent =
  | { type: 'loaded' }
  | { type: 'message'; chat: ChatSummary; message: Message }
  | { type: 'chat'; chat: ChatSummary }
  | { type: 'presence'; userId: string; online: boolean }
  | { type: 'error'; error: ApiError };

/** The signed-in person's chats with unread and mention counts, last messages and who is online, kept current live. */
export interface Inbox {
  /** Replaced (never changed in place) on every change. */
  readonly state: InboxState;
  subscribe(listener: (event: InboxEvent) => void): () => void;
  reload(): Promise<void>;
  /** Opens (or finds) the direct chat with `username`. */
  startDirectChat(username: string): Promise<ChatSummary>;
  createGroup(name: string, members: string[]): Promise<ChatSummary>;
  /** Marks everything in the chat read. */
  markRead(chatId: string): Promise<void>;
  close(): void;
}

/** Chats the list holds: the server's page size limit. */
const CHAT_LIST_SIZE = 100;

/** Whether anyone in the chat other than `me` is online. */
export const othersOnline = (chat: ChatSummary, me: string) =>
  chat.members.some((member) => member.user.id !== me && member.user.online);

export function openInbox(api: Api): Inbox {
  const listeners = new Set<(event: InboxEvent) => void>();
  let state: InboxState = { chats: [], loaded: false };
  const emit = (chats: readonly ChatSummary[], event: InboxEvent) => {
    state = { chats, loaded: state.loaded || event.type === 'loaded' };
    for (const listener of [...listeners]) listener(event);
  };
  const failed = (error: ApiError) => emit(state.chats, { type: 'error', error });
  const update = (chatId: string, change: (chat: ChatSummary) => ChatSummary) =>
    state.chats.map((chat) => (chat.id === chatId ? change(chat) : chat));
  /** `chat` first, then the others: the list is in order of recent activity. */
  const toTop = (chat: ChatSummary) => [chat, ...state.chats.filter((other) => other.id !== chat.id)];

  const reload = async () => {
    try {
      const { chats } = await api.request(Chats, { first: CHAT_LIST_SIZE });
      emit(
        chats.edges.map((edge) => edge.node),
        { type: 'loaded' },
      );
    } catch (error) {
      failed(error as ApiError);
    }
  };

  const stops = [
    api.live(InboxMessages, () => ({}), {
      next: ({ messageAdded: { chat: where, ...message } }) => {
        const chat = state.chats.find((candidate) => candidate.id === where.id);
        if (!chat) return void reload(); // a chat this list has not seen: someone started it with us
        const updated = {
          ...chat,
          lastMessage: { ...message, chat: { id: chat.id } },
          unreadCount: where.unreadCount,
          unreadMentionCount: where.unreadMentionCount,
        };
        emit(toTop(updated), { type: 'message', chat: updated, message: updated.lastMessage });
      },
      error: failed,
    }),
    api.live(MessageEdits, () => ({}), {
      next: ({ messageEdited: message }) => {
        const held = state.chats.find((chat) => chat.lastMessage?.id === message.id);
        if (!held) return;
        const chat = { ...held, lastMessage: message };
        emit(update(chat.id, () => chat), { type: 'chat', chat });
      },
      error: failed,
    }),
    api.live(MessageDeletions, () => ({}), {
      // The message before it is not known here: ask for the list again.
      next: ({ messageDeleted: { id } }) => void (state.chats.some((chat) => chat.lastMessage?.id === id) && reload()),
      error: failed,
    }),
    api.live(UserStatus, () => ({}), {
      next: ({ userStatus: { user, online, lastSeenAt } }) => {
        const chats = state.chats.map((chat) =>
          chat.members.some((member) => member.user.id === user.id)
            ? {
                ...chat,
                members: chat.members.map((member) =>
                  member.user.id === user.id ? { ...member, user: { ...member.user, online, lastSeenAt } } : member,
                ),
              }
            : chat,
        );
        emit(chats, { type: 'presence', userId: user.id, online });
      },
      error: failed,
    }),
    // Whatever happened while the socket was down (new messages, reads on
    // other devices, presence) is in a fresh list.
    api.onSocketStatus((_status, reconnected) => void (reconnected && reload())),
  ];
  void reload();

  return {
    get state() {
      return state;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    reload,
    async startDirectChat(username) {
      const { createDirectChat: chat } = await api.request(CreateDirectChat, { username });
      emit(state.chats.some((held) => held.id === chat.id) ? state.chats : toTop(chat), { type: 'chat', chat });
      return chat;
    },
    async createGroup(name, members) {
      const { createGroupChat: chat } = await api.request(CreateGroupChat, { input: { name, members } });
      emit(toTop(chat), { type: 'chat', chat });
      return chat;
    },
    async markRead(chatId) {
      const { markChatRead } = await api.request(MarkChatRead, { chatId });
      const chats = update(chatId, (chat) => ({
        ...chat,
        unreadCount: markChatRead.unreadCount,
        unreadMentionCount: markChatRead.unreadMentionCount,
      }));
      const chat = chats.find((candidate) => candidate.id === chatId);
      if (chat) emit(chats, { type: 'chat', chat });
    },
    close() {
      for (const stop of stops) stop();
      listeners.clear();
    },
  };
}
