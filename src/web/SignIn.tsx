import { useState, type FormEvent } from 'react';
import { login, register, type Session } from '../client/account.ts';
import { describeError } from '../client/errors.ts';
import { graphqlUrl } from './session.ts';

interface Props {
  /** Why the person is here again, e.g. the server ended the session. */
  notice: string | null;
  onSignedIn(session: Session): void;
}

/** One form for both: "Sign in" uses username (or email) and password, "Create account" all three. */
export function SignIn({ notice, onSignedIn }: Props) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const submitter = (event.nativeEvent as SubmitEvent).submitter as HTMLButtonElement | null;
    const form = new FormData(event.currentTarget);
    const username = String(form.get('username')).trim();
    const password = String(form.get('password'));
    setBusy(true);
    setError(null);
    try {
      onSignedIn(
        submitter?.value === 'register'
          ? await register(graphqlUrl(), { username, email: String(form.get('email')).trim(), password })
          : await login(graphqlUrl(), { login: username, password }),
      );
    } catch (failure) {
      setError(describeError(failure));
      setBusy(false);
    }
  };

  return (
    <main className="sign-in">
      <h1>Messenger</h1>
      {notice && <p role="status">{notice}</p>}
      <form onSubmit={submit}>
        <label>
          Username
          <input name="username" autoComplete="username" required />
        </label>
        <label>
          Email
          <input name="email" type="email" autoComplete="email" placeholder="only to create an account" />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        {error && <p role="alert">{error}</p>}
        <div className="buttons">
          <button name="action" value="login" disabled={busy}>
            Sign in
          </button>
          <button name="action" value="register" disabled={busy}>
            Create account
          </button>
        </div>
      </form>
    </main>
  );
}
