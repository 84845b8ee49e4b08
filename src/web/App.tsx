import { useState } from 'react';
import type { Session } from '../client/account.ts';
import { Messenger } from './Messenger.tsx';
import { SignIn } from './SignIn.tsx';
import { storedSession } from './session.ts';

export function App() {
  const [session, setSession] = useState(storedSession.read);
  const [notice, setNotice] = useState<string | null>(null);
  const signedIn = (next: Session) => {
    storedSession.write(next);
    setNotice(null);
    setSession(next);
  };
  const signedOut = (reason: string | null) => {
    storedSession.write(null);
    setNotice(reason);
    setSession(null);
  };
  return session ? <Messenger session={session} onSignedOut={signedOut} /> : <SignIn notice={notice} onSignedIn={signedIn} />;
}
