import type { Session } from '../client/account.ts';

const KEY = 'messenger.session';

/** The signed-in session kept across reloads (localStorage: this origin only). */
export const storedSession = {
  read(): Session | null {
    try {
      return JSON.parse(localStorage.getItem(KEY) ?? 'null') as Session | null;
    } catch {
      return null;
    }
  },
  write(session: Session | null) {
    if (session) localStorage.setItem(KEY, JSON.stringify(session));
    else localStorage.removeItem(KEY);
  },
};

/** The GraphQL endpoint of the server that served this page. */
export const graphqlUrl = () => new URL('/graphql', location.href).href;
