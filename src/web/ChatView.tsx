import { useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent } from 'react';
import type { Api } from '../client/api.ts';
import type { ChatSummary } from '../client/inbox.ts';
import { openRoom, type Message, type Room } from '../client/room.ts';
import type { Report } from './Alerts.tsx';
import { MessageItem } from './MessageItem.tsx';
import { useStore } from './hooks.ts';

interface Props {
  api: Api;
  chat: ChatSummary;
  me: string;
  report: Report;
  /** Called when messages of the open chat have been shown to the person. */
  onSeen(): void;
}

/** How near the top (in pixels) scrolling starts loading older messages. */
const LOAD_OLDER_AT = 80;

export function ChatView({ api, chat, me, report, onSeen }: Props) {
  const [room, setRoom] = useState<Room | null>(null);
  const [replyingTo, setReplyingTo] = useState<Message | null>(null);
  useEffect(() => {
    const opened = openRoom(api, chat.id);
    const offErrors = opened.subscribe((event) => event.type === 'error' && report(event.error));
    setRoom(opened);
    return () => {
      offErrors();
      opened.close();
    };
  }, [api, chat.id, report]);

  return (
    <main className="chat">
      <ChatHeader chat={chat} me={me} />
      {room && <Timeline room={room} me={me} report={report} onSeen={onSeen} onReply={setReplyingTo} />}
      {room && <Composer room={room} report={report} replyingTo={replyingTo} onReplied={() => setReplyingTo(null)} />}
    </main>
  );
}

function ChatHeader({ chat, me }: { chat: ChatSummary; me: string }) {
  const others = chat.members.filter((member) => member.user.id !== me);
  let presence: string;
  if (chat.kind === 'DIRECT') {
    const peer = others[0]?.user;
    presence = peer?.online ? 'online' : peer?.lastSeenAt ? `last seen ${new Date(peer.lastSeenAt).toLocaleString()}` : 'offline';
  } else {
    const online = others.filter((member) => member.user.online).length;
    presence = `${chat.members.length} members, ${online === 1 ? '1 other' : `${online} others`} online`;
  }
  return (
    <header>
      <h2>{chat.name}</h2>
      <p className="presence">{presence}</p>
    </header>
  );
}

interface TimelineProps {
  room: Room;
  me: string;
  report: Report;
  onSeen(): void;
  onReply(message: Message): void;
}

function Timeline({ room, me, report, onSeen, onReply }: TimelineProps) {
  const { messages, loaded, hasOlder, loadingOlder, typing } = useStore(room);
  const log = useRef<HTMLDivElement>(null);
  // Where the view was before the last change: how far from the bottom, and the seqs it held.
  const before = useRef({ fromBottom: 0, atBottom: true, firstSeq: 0, lastSeq: 0 });

  useLayoutEffect(() => {
    const element = log.current;
    if (!element) return;
    const firstSeq = messages[0]?.seq ?? 0;
    const lastSeq = messages.at(-1)?.seq ?? 0;
    const previous = before.current;
    const olderArrived = firstSeq < previous.firstSeq && lastSeq === previous.lastSeq;
    const mineArrived = lastSeq > previous.lastSeq && messages.at(-1)?.author.id === me;
    if (olderArrived) element.scrollTop = element.scrollHeight - previous.fromBottom;
    else if (previous.atBottom || mineArrived) element.scrollTop = element.scrollHeight;
    before.current = { ...measure(element), firstSeq, lastSeq };
    // A first page that does not fill the view cannot be scrolled up: load on.
    if (hasOlder && element.scrollHeight <= element.clientHeight) void room.loadOlder();
  }, [messages, hasOlder, me, room]);

  const newestSeq = messages.at(-1)?.seq;
  useEffect(() => {
    if (newestSeq === undefined) return;
    const seen = () => document.visibilityState === 'visible' && onSeen();
    seen();
    // What arrived while the tab was hidden is read when it is shown again.
    document.addEventListener('visibilitychange', seen);
    return () => document.removeEventListener('visibilitychange', seen);
  }, [newestSeq, onSeen]);

  const scrolled = () => {
    const element = log.current!;
    before.current = { ...before.current, ...measure(element) };
    if (element.scrollTop < LOAD_OLDER_AT) void room.loadOlder();
  };

  return (
    <>
      <div ref={log} role="log" aria-label="Messages" aria-busy={!loaded || loadingOlder} className="log" onScroll={scrolled}>
        {loaded && !hasOlder && <p className="start">Start of the conversation</p>}
        {loadingOlder && <p className="start">Loading older messages…</p>}
        {messages.map((message) => (
          <MessageItem key={message.id} message={message} mine={message.author.id === me} room={room} report={report} onReply={onReply} />
        ))}
      </div>
      <p className="typing" role="status">
        {typing.length > 0 && `${typing.join(', ')} ${typing.length === 1 ? 'is' : 'are'} typing…`}
      </p>
    </>
  );
}

const measure = (element: HTMLElement) => ({
  fromBottom: element.scrollHeight - element.scrollTop,
  atBottom: element.scrollHeight - element.scrollTop - element.clientHeight < 40,
});

interface ComposerProps {
  room: Room;
  report: Report;
  /** The message the next send answers, if any. */
  replyingTo: Message | null;
  /** The reply was sent, or the person gave it up. */
  onReplied(): void;
}

function Composer({ room, report, replyingTo, onReplied }: ComposerProps) {
  const [text, setText] = useState('');
  const [sending, setSending] = useState(false);
  const box = useRef<HTMLTextAreaElement>(null);
  // Replying starts typing the answer.
  useEffect(() => {
    if (replyingTo) box.current?.focus();
  }, [replyingTo]);
  const send = async () => {
    if (!text.trim() || sending) return;
    setSending(true);
    try {
      await room.send(text, { replyToId: replyingTo?.id });
      setText('');
      onReplied();
    } catch (error) {
      report(error);
    } finally {
      setSending(false);
    }
  };
  const keyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void send();
    }
    if (event.key === 'Escape' && replyingTo) onReplied();
  };
  return (
    <form
      className="composer"
      onSubmit={(event) => {
        event.preventDefault();
        void send();
      }}
    >
      {replyingTo && (
        <p className="replying" aria-label="Replying to">
          <span>
            Replying to <span className="author">{replyingTo.author.username}</span>: {replyingTo.text}
          </span>
          <button type="button" aria-label="Cancel reply" onClick={onReplied}>
            ×
          </button>
        </p>
      )}
      <textarea
        ref={box}
        aria-label="Message"
        rows={2}
        value={text}
        placeholder="Write a message (Enter sends, Shift+Enter for a new line)"
        onChange={(event) => {
          setText(event.target.value);
          room.setTyping(event.target.value.length > 0);
        }}
        onBlur={() => room.setTyping(false)}
        onKeyDown={keyDown}
      />
      <button disabled={sending}>Send</button>
    </form>
  );
}
