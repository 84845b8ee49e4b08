import { useState, type KeyboardEvent } from 'react';
import type { Message, Room } from '../client/room.ts';
import type { Report } from './Alerts.tsx';

interface Props {
  message: Message;
  mine: boolean;
  room: Room;
  report: Report;
}

/**
 * One message: who, when, what, and the actions the person may take on it.
 * The actions row is where replying and reacting will go.
 */
export function MessageItem({ message, mine, room, report }: Props) {
  const [editing, setEditing] = useState(false);
  const act = (work: () => Promise<unknown>) => () => work().catch(report);

  return (
    <article className={mine ? 'message mine' : 'message'} aria-label={`${message.author.username}, message ${message.seq}`}>
      <header>
        <span className="author">{message.author.username}</span>
        <time dateTime={message.createdAt}>{new Date(message.createdAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}</time>
        {message.isEdited && <span className="edited">edited</span>}
      </header>
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
      {mine && !editing && (
        <div className="actions" role="toolbar" aria-label="Message actions">
          <button onClick={() => setEditing(true)}>Edit</button>
          <button onClick={act(() => room.remove(message.id))}>Delete</button>
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
