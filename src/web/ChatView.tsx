import { useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent } from 'react';
import type { Api } from '../client/api.ts';
import type { ChatSummary } from '../client/inbox.ts';
import { openRoom, type Room } from '../client/room.ts';
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
      {room && <Timeline room={room} me={me} report={report} onSeen={onSeen} />}
      {room && <Composer room={room} report={report} />}
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

function Timeline({ room, me, report, onSeen }: { room: Room; me: string; report: Report; onSeen(): void }) {
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
          <MessageItem key={message.id} message={message} mine={message.author.id === me} room={room} report={report} />
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

function Composer({ room, report }: { room: Room; report: Report }) {
  const [text, setText] = useState('');
  const [sending, setSending] = useState(false);
  const send = async () => {
    if (!text.trim() || sending) return;
    setSending(true);
    try {
      await room.send(text);
      setText('');
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
  };
  return (
    <form
      className="composer"
      onSubmit={(event) => {
        event.preventDefault();
        void send();
      }}
    >
      <textarea
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
