import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { createApi, type Api } from '../client/api.ts';
import { describeError } from '../client/errors.ts';

/** The current state of one of the client stores (inbox, room), re-rendering on each change. */
export function useStore<S>(store: { readonly state: S; subscribe(listener: () => void): () => void }): S {
  return useSyncExternalStore(
    useCallback((listener) => store.subscribe(listener), [store]),
    () => store.state,
  );
}

/**
 * Waits like graphql-ws's backoff (1 s, 2 s, 4 s … up to 15 s), but tries at
 * once when the browser says the network is back.
 */
function retryWhenOnline(retries: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      removeEventListener('online', done);
      resolve();
    };
    const timer = setTimeout(done, Math.min(1000 * 2 ** retries, 15_000) + Math.random() * 500);
    addEventListener('online', done);
  });
}

/**
 * The signed-in Api for this page. A socket whose network went away can
 * look open for minutes, so it is dropped as soon as the browser goes
 * offline; it reconnects when the network is back.
 */
export function useApi(url: string, token: string, onRefused: (reason: string) => void): Api | null {
  const [api, setApi] = useState<Api | null>(null);
  // Read at the time of the refusal: a new callback must not open a new connection.
  const refused = useRef(onRefused);
  refused.current = onRefused;
  useEffect(() => {
    const created = createApi({
      url,
      token,
      retryWait: retryWhenOnline,
      onSocketRefused: (error) => refused.current(describeError(error)),
    });
    const drop = () => created.dropSocket();
    addEventListener('offline', drop);
    setApi(created);
    return () => {
      removeEventListener('offline', drop);
      void created.close();
    };
  }, [url, token]);
  return api;
}

/** The chat id in the address (#/chat/<id>), so a reload reopens the same chat. */
export function useOpenChat(): [string | null, (chatId: string | null) => void] {
  const read = () => /^#\/chat\/(.+)$/.exec(location.hash)?.[1] ?? null;
  const [chatId, setChatId] = useState(read);
  useEffect(() => {
    const changed = () => setChatId(read());
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  const open = useCallback((next: string | null) => {
    location.hash = next ? `#/chat/${next}` : '';
    setChatId(next);
  }, []);
  return [chatId, open];
}
