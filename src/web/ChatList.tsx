import { othersOnline, type ChatSummary, type Inbox } from '../client/inbox.ts';
import { useStore } from './hooks.ts';

interface Props {
  inbox: Inbox;
  me: string;
  openChatId: string | null;
  onOpen(chatId: string): void;
}

/** The person's chats, most recent first, with unread and mention counts, last messages and online dots. */
export function ChatList({ inbox, me, openChatId, onOpen }: Props) {
  const { chats } = useStore(inbox);
  return (
    <ul aria-label="Chats" className="chat-list">
      {chats.map((chat) => (
        <li key={chat.id}>
          <button aria-current={chat.id === openChatId} onClick={() => onOpen(chat.id)}>
            <Presence online={othersOnline(chat, me)} />
            <span className="name">{chat.name}</span>
            {chat.unreadMentionCount > 0 && (
              <span className="mentions" title="Unread messages that mention you">
                @{chat.unreadMentionCount}
                <span className="visually-hidden"> mentioning you</span>
              </span>
            )}
            {chat.unreadCount > 0 && (
              <span className="unread">
                {chat.unreadCount}
                <span className="visually-hidden"> unread</span>
              </span>
            )}
            <LastMessage chat={chat} />
          </button>
        </li>
      ))}
    </ul>
  );
}

function Presence({ online }: { online: boolean }) {
  return (
    <span className={online ? 'dot online' : 'dot'}>
      <span className="visually-hidden">{online ? 'online' : 'offline'}</span>
    </span>
  );
}

function LastMessage({ chat }: { chat: ChatSummary }) {
  if (!chat.lastMessage) return <span className="preview">No messages yet</span>;
  return (
    <span className="preview">
      {chat.lastMessage.author.username}: {chat.lastMessage.text}
    </span>
  );
}
