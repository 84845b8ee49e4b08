import { useState, type KeyboardEvent } from 'react';
import type { Message, Room } from '../client/room.ts';
import type { Report } from './Alerts.tsx';

interface Props {
  message: Message;
  mine: boolean;
  room: Room;
  report: Report;
  onReply(message: Message): void;
}

/** What the reaction picker offers; any other emoji still shows when someone used it. */
const PICKER = ['👍', '❤️', '😂', '🎉', '😮', '😢'];

/**
 * One message: who, when, what it replies to, its reactions, and the
 * actions the person may take on it.
 */
export function MessageItem({ message, mine, room, report, onReply }: Props) {
  const [editing, setEditing] = useState(false);
  const [picking, setPicking] = useState(false);
  const act = (work: () => Promise<unknown>) => () => work().catch(report);
  const react = (emoji: string) => act(() => room.react(message.id, emoji).finally(() => setPicking(false)));
  const classes = ['message', ...(mine ? ['mine'] : []), ...(message.mentionsMe ? ['mentioned'] : [])];

  return (
    <article className={classes.join(' ')} aria-label={`${message.author.username}, message ${message.seq}`}>
      <header>
        <span className="author">{message.author.username}</span>
        <time dateTime={message.createdAt}>{new Date(message.createdAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}</time>
        {message.isEdited && <span className="edited">edited</span>}
        {message.mentionsMe && <span className="mention-note">mentions you</span>}
      </header>
      {message.replyTo && (
        <blockquote className="reply-to" aria-label="In reply to">
          <span className="author">{message.replyTo.author.username}</span> {message.replyTo.text}
        </blockquote>
      )}
      {editing ? (
        <EditBox
          text={message.text}
          onSave={(text) =>
            room.edit(message.id, text).then(
              () => setEditing(false),
              (error: unknown) => report(error),
            )
          }
          onCancel={() => setEditing(false)}
        />
      ) : (
        <p className="text">{message.text}</p>
      )}
      {message.reactions.length > 0 && (
        <div className="reactions" role="group" aria-label="Reactions">
          {message.reactions.map((group) => (
            <button key={group.emoji} aria-pressed={group.reactedByMe} onClick={react(group.emoji)}>
              {group.emoji} {group.count}
            </button>
          ))}
        </div>
      )}
      {message.replyCount > 0 && <p className="reply-count">{message.replyCount === 1 ? '1 reply' : `${message.replyCount} replies`}</p>}
      {!editing && (
        <div className="actions" role="toolbar" aria-label="Message actions">
          <button onClick={() => onReply(message)}>Reply</button>
          <button aria-expanded={picking} onClick={() => setPicking(!picking)}>
            React
          </button>
          {mine && <button onClick={() => setEditing(true)}>Edit</button>}
          {mine && <button onClick={act(() => room.remove(message.id))}>Delete</button>}
        </div>
      )}
      {picking && (
        <div className="picker" role="group" aria-label="Pick a reaction">
          {PICKER.map((emoji) => (
            <button key={emoji} aria-label={`React with ${emoji}`} onClick={react(emoji)}>
              {emoji}
            </button>
          ))}
        </div>
      )}
    </article>
  );
}

function EditBox({ text, onSave, onCancel }: { text: string; onSave(text: string): void; onCancel(): void }) {
  const [draft, setDraft] = useState(text);
  const keyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === 'Enter') onSave(draft);
    if (event.key === 'Escape') onCancel();
  };
  return (
    <div className="edit">
      <input aria-label="Edit message" autoFocus value={draft} onChange={(event) => setDraft(event.target.value)} onKeyDown={keyDown} />
      <button onClick={() => onSave(draft)}>Save</button>
      <button onClick={onCancel}>Cancel</button>
    </div>
  );
}
