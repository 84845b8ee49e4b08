import { availableParallelism } from 'node:os';
import bcrypt from 'bcrypt';
import PQueue from 'p-queue';
import { AppError } from '../errors.ts';

/** Clients that have not failed a login lately are served first. */
export type Standing = 'trusted' | 'suspect';

const PRIORITY: Record<Standing, number> = { trusted: 1, suspect: 0 };

/**
 * bcrypt work (hashing and checking passwords), one job per core at a time
 * (two on a core would each take twice as long),
 * in a queue where clients with no recent failed login go first (p-queue's
 * priorities). Each check costs tens to hundreds of milliseconds of CPU by
 * design; rate limits bound what one client or account may ask, but twenty
 * guessers from twenty addresses still ask for twenty checks at once, and
 * without an order a real user's login would wait behind all of them.
 * Suspect work beyond `maxQueued` waiting is refused (RATE_LIMITED) rather
 * than queued for ever.
 */
export function createPasswordWork({ cost, maxQueued = 200 }: { cost: number; maxQueued?: number }) {
  const queue = new PQueue({ concurrency: 1 });
  let sized = false;
  const run = <T>(standing: Standing, work: () => Promise<T>): Promise<T> => {
    // The cores this process may use, asked at first use rather than at
    // start: a process manager may set the affinity after starting it.
    if (!sized) {
      queue.concurrency = availableParallelism();
      sized = true;
    }
    if (standing === 'suspect' && queue.sizeBy({ priority: PRIORITY.suspect }) >= maxQueued) {
      return Promise.reject(
        new AppError('RATE_LIMITED', 'The server is checking too many passwords; try again in a few seconds.', {
          retryAfterSeconds: 5,
        }),
      );
    }
    return queue.add(work, { priority: PRIORITY[standing] });
  };
  // Checked against when a login names nobody, so an unknown login costs the
  // same work as a wrong password and timing does not tell which it was.
  let decoy: Promise<string> | undefined;
  const hash = (password: string) => run('trusted', () => bcrypt.hash(password, cost));
  return {
    hash,
    /** Whether `password` is the one `hash` was made from; with no hash (no such user), false after the same work. */
    async verify(password: string, hashed: string | null, standing: Standing): Promise<boolean> {
      decoy ??= hash('decoy password');
      const against = hashed ?? (await decoy);
      return (await run(standing, () => bcrypt.compare(password, against))) && hashed !== null;
    },
  };
}

export type PasswordWork = ReturnType<typeof createPasswordWork>;
