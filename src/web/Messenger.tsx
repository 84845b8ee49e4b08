import { useCallback, useEffect, useState } from 'react';
import type { Session } from '../client/account.ts';
import type { Api, SocketStatus } from '../client/api.ts';
import { describeError } from '../client/errors.ts';
import { openInbox, type Inbox } from '../client/inbox.ts';
import { Logout, Me } from '../client/operations.ts';
import { ChatList } from './ChatList.tsx';
import { ChatView } from './ChatView.tsx';
import { Alerts, useAlerts, type Report } from './Alerts.tsx';
import { NewChat } from './NewChat.tsx';
import { useApi, useOpenChat, useStore } from './hooks.ts';
import { graphqlUrl } from './session.ts';

interface Props {
  session: Session;
  onSignedOut(reason: string | null): void;
}

export function Messenger({ session, onSignedOut }: Props) {
  const api = useApi(graphqlUrl(), session.token, onSignedOut);
  const [inbox, setInbox] = useState<Inbox | null>(null);
  const alerts = useAlerts();
  const [openChatId, openChat] = useOpenChat();

  useEffect(() => {
    if (!api) return;
    // A kept token may have expired or been revoked since.
    api.request(Me, {}).then(({ me }) => {
      if (!me) onSignedOut('Your session has ended. Sign in again.');
    }, alerts.report);
    const opened = openInbox(api);
    const offErrors = opened.subscribe((event) => event.type === 'error' && alerts.report(event.error));
    setInbox(opened);
    return () => {
      offErrors();
      opened.close();
    };
  }, [api]);

  const signOut = async () => {
    try {
      await api?.request(Logout, {});
    } catch (error) {
      // Signing out here still ends this page's session; say what the server answered.
      return onSignedOut(describeError(error));
    }
    onSignedOut(null);
  };

  return (
    <div className="messenger">
      <aside>
        <header>
          <strong>{session.user.username}</strong>
          <button onClick={signOut}>Sign out</button>
        </header>
        {api && <Connection api={api} />}
        {inbox && (
          <>
            <NewChat inbox={inbox} onOpen={openChat} report={alerts.report} />
            <ChatList inbox={inbox} me={session.user.id} openChatId={openChatId} onOpen={openChat} />
          </>
        )}
      </aside>
      <Alerts alerts={alerts} />
      {api && inbox && <OpenChat api={api} inbox={inbox} chatId={openChatId} me={session.user.id} report={alerts.report} />}
    </div>
  );
}

function Connection({ api }: { api: Api }) {
  const [status, setStatus] = useState<SocketStatus>(api.socketStatus);
  useEffect(() => api.onSocketStatus(setStatus), [api]);
  if (status === 'online') return null;
  return (
    <p role="status" className="connection">
      {status === 'connecting' ? 'Connecting…' : 'Offline: reconnecting…'}
    </p>
  );
}

interface OpenChatProps {
  api: Api;
  inbox: Inbox;
  chatId: string | null;
  me: string;
  report: Report;
}

function OpenChat({ api, inbox, chatId, me, report }: OpenChatProps) {
  const { chats, loaded } = useStore(inbox);
  const chat = chats.find((candidate) => candidate.id === chatId);
  const markRead = useCallback(() => {
    if (chatId) inbox.markRead(chatId).catch(report);
  }, [inbox, chatId, report]);
  if (!chat) {
    return <main className="placeholder">{loaded && chatId ? 'This chat is not in your list.' : 'Pick a chat or start one.'}</main>;
  }
  return <ChatView key={chat.id} api={api} chat={chat} me={me} report={report} onSeen={markRead} />;
}
