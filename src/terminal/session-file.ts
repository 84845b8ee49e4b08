import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Session } from '../client/account.ts';

/** Where the token is kept: $XDG_CONFIG_HOME/messenger/session.json, else ~/.config/messenger/. */
export function sessionFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'messenger', 'session.json');
}

type Sessions = Record<string, Session>;

/** Signed-in sessions by server URL, readable by this user only (the token is a password). */
export function sessionFile(path: string) {
  const readAll = (): Sessions => {
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as Sessions;
    } catch {
      return {};
    }
  };
  const writeAll = (sessions: Sessions) => {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, `${JSON.stringify(sessions, null, 2)}\n`, { mode: 0o600 });
  };
  return {
    read: (url: string): Session | null => readAll()[url] ?? null,
    write(url: string, session: Session | null) {
      const { [url]: _replaced, ...others } = readAll();
      writeAll(session ? { ...others, [url]: session } : others);
    },
  };
}

export type SessionFile = ReturnType<typeof sessionFile>;
