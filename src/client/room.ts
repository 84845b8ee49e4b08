import type { Api, ApiError } from './api.ts';
import type { MessageFieldsFragment } from './generated/graphql.ts';
import {
  AddReaction,
  DeleteMessage,
  EditMessage,
  History,
  MessageDeletions,
  MessageUpdates,
  RemoveReaction,
  RoomMessages,
  RoomTyping,
  SendMessage,
  SetTyping,
} from './operations.ts';

export type Message = MessageFieldsFragment;

export interface RoomState {
  /** Oldest first, one per seq. */
  readonly messages: readonly Message[];
  /** The newest page has arrived. */
  readonly loaded: boolean;
  readonly hasOlder: boolean;
  readonly loadingOlder: boolean;
  /** Usernames of the others typing now. */
  readonly typing: readonly string[];
}

export type RoomEvent =
  | { type: 'loaded'; messages: readonly Message[] }
  | { type: 'loadingOlder' }
  | { type: 'older'; messages: readonly Message[] }
  | { type: 'added'; message: Message }
  /** A held message changed: its text, reactions or replies (`previous` is how it was). */
  | { type: 'updated'; message: Message; previous: Message }
  | { type: 'deleted'; id: string; seq: number }
  | { type: 'typing'; username: string; typing: boolean }
  | { type: 'error'; error: ApiError };

/** One open chat: its history, kept current live, and what the person does in it. */
export interface Room {
  readonly chatId: string;
  /** Replaced (never changed in place) on every change. */
  readonly state: RoomState;
  subscribe(listener: (event: RoomEvent) => void): () => void;
  /** Loads the page before the oldest message held; resolves with how many arrived. */
  loadOlder(): Promise<number>;
  /** Sends `text`, as a reply to the message `replyToId` when given. */
  send(text: string, options?: { replyToId?: string | null }): Promise<Message>;
  edit(id: string, text: string): Promise<Message>;
  /** Adds the person's reaction with `emoji` to a held message, or takes it back when they have given it. */
  react(id: string, emoji: string): Promise<Message>;
  remove(id: string): Promise<void>;
  /** Tells the others; repeated starts are sent at most every few seconds. */
  setTyping(typing: boolean): void;
  close(): void;
}

/** The server forgets a start after TYPING_TIMEOUT_SECONDS (5 s by default): repeat a bit sooner. */
const TYPING_REPEAT_MS = 3_000;

/** Whether two copies of a message show the same (what an update can change). */
const showsSame = (a: Message, b: Message) =>
  a.text === b.text && a.isEdited === b.isEdited && a.replyCount === b.replyCount && JSON.stringify(a.reactions) === JSON.stringify(b.reactions);

/** `current` with `incoming` added, oldest first, keeping the first copy of each seq. */
function mergeBySeq(current: readonly Message[], incoming: readonly Message[]): readonly Message[] {
  const known = new Set(current.map((message) => message.seq));
  const added = incoming.filter((message) => !known.has(message.seq) && known.add(message.seq));
  return added.length === 0 ? current : [...current, ...added].sort((a, b) => a.seq - b.seq);
}

/**
 * Opens a chat: the newest `pageSize` messages, then everything after them
 * live. New messages are followed with `messageAdded(chatId, afterSeq)`,
 * re-subscribed after every reconnect from the newest seq that arrived, so
 * a dropped network leaves no gap and no duplicate. Updates (edits,
 * reactions, replies) and deletions are followed from before the first page
 * is read, so none falls between.
 */
export function openRoom(api: Api, chatId: string, { pageSize = 30 } = {}): Room {
  const listeners = new Set<(event: RoomEvent) => void>();
  let state: RoomState = { messages: [], loaded: false, hasOlder: false, loadingOlder: false, typing: [] };
  let startCursor: string | null = null;
  // Only what the live feed (and the first page) delivered moves this: a
  // message of ours answered by sendMessage may overtake others' in flight.
  let lastSeq = 0;
  const updates = new Map<string, Message>();
  const deleted = new Set<string>();
  let typingSentAt = 0;
  let closed = false;

  const emit = (next: Partial<RoomState>, event: RoomEvent) => {
    state = { ...state, ...next };
    for (const listener of [...listeners]) listener(event);
  };
  const failed = (error: ApiError) => emit({}, { type: 'error', error });
  /** Incoming messages as they are now: later updates applied, deleted ones left out. */
  const current = (messages: readonly Message[]) =>
    messages.filter((message) => !deleted.has(message.id)).map((message) => updates.get(message.id) ?? message);

  // One at a time, so a stop is never overtaken by the start typed after it.
  let typingSent: Promise<unknown> = Promise.resolve();
  const setTyping = (typing: boolean) => {
    const now = Date.now();
    if (typing ? now - typingSentAt < TYPING_REPEAT_MS : typingSentAt === 0) return;
    typingSentAt = typing ? now : 0;
    typingSent = typingSent.then(() => api.request(SetTyping, { chatId, typing })).catch(failed);
  };
  const applyUpdate = (message: Message) => {
    updates.set(message.id, message);
    const held = state.messages.find((candidate) => candidate.id === message.id);
    // Our own change is applied from its answer; its live echo then changes nothing.
    if (!held || showsSame(held, message)) return;
    emit({ messages: state.messages.map((candidate) => (candidate === held ? message : candidate)) }, { type: 'updated', message, previous: held });
  };
  const applyDeletion = (id: string, seq: number) => {
    deleted.add(id);
    if (!state.messages.some((held) => held.id === id)) return;
    emit({ messages: state.messages.filter((held) => held.id !== id) }, { type: 'deleted', id, seq });
  };

  const stops = [
    api.live(MessageUpdates, () => ({ chatId }), {
      next: ({ messageUpdated }) => applyUpdate(messageUpdated),
      error: failed,
    }),
    api.live(MessageDeletions, () => ({ chatId }), {
      next: ({ messageDeleted: { id, seq } }) => applyDeletion(id, seq),
      error: failed,
    }),
    api.live(RoomTyping, () => ({ chatId }), {
      next: ({ typing: { user, typing } }) => {
        const others = state.typing.filter((name) => name !== user.username);
        emit({ typing: typing ? [...others, user.username] : others }, { type: 'typing', username: user.username, typing });
      },
      error: failed,
    }),
  ];
  // A stop sent while the socket was down is lost: forget who was typing.
  stops.push(
    api.onSocketStatus((status) => {
      if (status !== 'offline') return;
      for (const username of state.typing) {
        emit({ typing: state.typing.filter((name) => name !== username) }, { type: 'typing', username, typing: false });
      }
    }),
  );

  const followNewMessages = () =>
    api.live(RoomMessages, () => ({ chatId, afterSeq: lastSeq }), {
      next: ({ messageAdded: message }) => {
        if (message.seq <= lastSeq) return;
        lastSeq = message.seq;
        const messages = mergeBySeq(state.messages, current([message]));
        if (messages !== state.messages) emit({ messages }, { type: 'added', message });
      },
      error: failed,
    });

  api.request(History, { chatId, last: pageSize }).then(
    ({ messages: page }) => {
      if (closed) return;
      const messages = page.edges.map((edge) => edge.node);
      lastSeq = Math.max(0, ...messages.map((message) => message.seq));
      startCursor = page.pageInfo.startCursor ?? null;
      const merged = mergeBySeq(state.messages, current(messages));
      emit({ messages: merged, loaded: true, hasOlder: page.pageInfo.hasPreviousPage }, { type: 'loaded', messages: merged });
      stops.push(followNewMessages());
    },
    (error: ApiError) => {
      emit({ loaded: true }, { type: 'error', error });
    },
  );

  return {
    chatId,
    get state() {
      return state;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async loadOlder() {
      if (!state.hasOlder || state.loadingOlder || closed) return 0;
      emit({ loadingOlder: true }, { type: 'loadingOlder' });
      try {
        const { messages: page } = await api.request(History, { chatId, last: pageSize, before: startCursor });
        const older = current(page.edges.map((edge) => edge.node));
        startCursor = page.pageInfo.startCursor ?? startCursor;
        emit(
          { messages: mergeBySeq(state.messages, older), hasOlder: page.pageInfo.hasPreviousPage, loadingOlder: false },
          { type: 'older', messages: older },
        );
        return older.length;
      } catch (error) {
        emit({ loadingOlder: false }, { type: 'error', error: error as ApiError });
        return 0;
      }
    },
    async send(text, { replyToId = null } = {}) {
      const { sendMessage: message } = await api.request(SendMessage, { input: { chatId, text, replyToId } });
      setTyping(false);
      const messages = mergeBySeq(state.messages, [message]);
      if (messages !== state.messages) emit({ messages }, { type: 'added', message });
      return message;
    },
    async edit(id, text) {
      const { editMessage: message } = await api.request(EditMessage, { input: { id, text } });
      applyUpdate(message);
      return message;
    },
    async react(id, emoji) {
      const held = state.messages.find((message) => message.id === id);
      const given = held?.reactions.some((group) => group.emoji === emoji && group.reactedByMe);
      const message = given
        ? (await api.request(RemoveReaction, { messageId: id, emoji })).removeReaction
        : (await api.request(AddReaction, { messageId: id, emoji })).addReaction;
      applyUpdate(message);
      return message;
    },
    async remove(id) {
      const { deleteMessage: deletion } = await api.request(DeleteMessage, { id });
      applyDeletion(deletion.id, deletion.seq);
    },
    setTyping,
    close() {
      closed = true;
      setTyping(false);
      for (const stop of stops) stop();
      listeners.clear();
    },
  };
}
