import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { AppError } from '../errors.ts';

/** At most `points` of something per `seconds`, per key. */
export interface Limit {
  points: number;
  seconds: number;
}

export interface RateLimitSettings {
  loginFailuresPerAccount: Limit;
  loginFailuresPerAddress: Limit;
  registrationsPerAddress: Limit;
  sendsPerUser: Limit;
  connectionsPerAddress: Limit;
}

export type LimitName = keyof RateLimitSettings;

/** What a client is told when refused. */
const REFUSALS: Record<LimitName, string> = {
  loginFailuresPerAccount: 'Too many failed logins for this account',
  loginFailuresPerAddress: 'Too many failed logins from this address',
  registrationsPerAddress: 'Too many accounts registered from this address',
  sendsPerUser: 'Too many messages sent',
  connectionsPerAddress: 'Too many connections from this address',
};

export interface RateLimits {
  /**
   * Takes one point of `limit` for `key`, or throws RATE_LIMITED with
   * `retryAfterSeconds` when none is left (nothing is taken then).
   */
  take(limit: LimitName, key: string): Promise<void>;
  /** Gives a point taken by `take` back (a login that turned out right). */
  giveBack(limit: LimitName, key: string): Promise<void>;
  /** Points of `limit` taken for `key` in the current window. */
  used(limit: LimitName, key: string): Promise<number>;
}

/**
 * Rate limits by rate-limiter-flexible: counted in memory, or with `redis`
 * in Redis, so every instance shares the counts. While Redis is away each
 * instance counts on its own (the library's insurance limiter): limits
 * loosen to per-instance counting, and nothing is refused for Redis' sake.
 */
export function createRateLimits(settings: RateLimitSettings, redis: Redis | null): RateLimits {
  const limiters = Object.fromEntries(
    Object.entries(settings).map(([name, { points, seconds }]) => {
      const memory = new RateLimiterMemory({ keyPrefix: name, points, duration: seconds });
      const limiter: RateLimiterAbstract = redis
        ? new RateLimiterRedis({
            storeClient: redis,
            keyPrefix: `messenger:limit:${name}`,
            points,
            duration: seconds,
            rejectIfRedisNotReady: true,
            insuranceLimiter: memory,
          })
        : memory;
      return [name, limiter];
    }),
  ) as Record<LimitName, RateLimiterAbstract>;

  return {
    async take(limit, key) {
      const limiter = limiters[limit];
      try {
        await limiter.consume(key);
      } catch (refusal) {
        if (!(refusal instanceof RateLimiterRes)) throw refusal;
        // Refused points are not kept, so waiting the given time is always enough.
        await limiter.reward(key).catch(() => undefined);
        const retryAfterSeconds = Math.max(1, Math.ceil(refusal.msBeforeNext / 1000));
        throw new AppError('RATE_LIMITED', `${REFUSALS[limit]}; try again in ${retryAfterSeconds} s.`, { retryAfterSeconds });
      }
    },
    async giveBack(limit, key) {
      await limiters[limit].reward(key);
    },
    async used(limit, key) {
      return (await limiters[limit].get(key))?.consumedPoints ?? 0;
    },
  };
}
