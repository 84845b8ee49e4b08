import type { FormEvent } from 'react';
import type { ChatSummary, Inbox } from '../client/inbox.ts';
import type { Report } from './Alerts.tsx';

interface Props {
  inbox: Inbox;
  onOpen(chatId: string): void;
  report: Report;
}

/** Start a direct chat by username, or create a group with some members. */
export function NewChat({ inbox, onOpen, report }: Props) {
  const submit = (create: (form: FormData) => Promise<ChatSummary>) => async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    try {
      const chat = await create(new FormData(form));
      form.reset();
      onOpen(chat.id);
    } catch (error) {
      report(error);
    }
  };
  const usernames = (text: string) =>
    text
      .split(/[\s,]+/)
      .map((name) => name.trim())
      .filter(Boolean);

  return (
    <div className="new-chat">
      <form aria-label="New direct chat" onSubmit={submit((form) => inbox.startDirectChat(String(form.get('username')).trim()))}>
        <input name="username" aria-label="Start a chat with" placeholder="username" required />
        <button>Start chat</button>
      </form>
      <form
        aria-label="New group"
        onSubmit={submit((form) => inbox.createGroup(String(form.get('name')).trim(), usernames(String(form.get('members')))))}
      >
        <input name="name" aria-label="Group name" placeholder="group name" required />
        <input name="members" aria-label="Members" placeholder="members: ann, bob" />
        <button>Create group</button>
      </form>
    </div>
  );
}
