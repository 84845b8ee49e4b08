import type { AppConfig } from './config.ts';
import type { Db } from './db/client.ts';
import type { Audience } from './domain/audience.ts';
import type { Client } from './domain/accounts.ts';
import type { Authenticator, Viewer } from './domain/auth.ts';
import type { Delivery } from './domain/delivery.ts';
import type { FeedDeps } from './domain/feeds.ts';
import type { PasswordWork } from './domain/passwords.ts';
import type { Presence } from './domain/presence.ts';
import type { RateLimits } from './domain/rate-limits.ts';
import type { TypingTracker } from './domain/typing.ts';
import type { EventBus } from './events.ts';

/**
 * What one app instance holds for all requests. The Prisma client is here
 * rather than a module-level value (Pothos's usual advice) because each
 * `createApp` owns its own database connection: tests and multi-instance runs
 * hold several apps in one process.
 */
export interface Services {
  prisma: Db;
  config: AppConfig;
  bus: EventBus;
  auth: Authenticator;
  presence: Presence;
  typing: TypingTracker;
  audience: Audience;
  delivery: Delivery;
  limits: RateLimits;
  passwords: PasswordWork;
}

/** What every resolver sees, over HTTP and WebSocket alike. */
export interface Context extends Services {
  /** Null when the request carries no valid token. */
  viewer: Viewer | null;
  /** Who sent the request: its User-Agent (the default device name) and address. */
  client: Client;
}

/** What subscription feeds (src/domain/feeds.ts) need of the services. */
export const feedDeps = (ctx: Context): FeedDeps => ({
  db: ctx.prisma,
  bus: ctx.bus,
  retention: ctx.config,
  delivery: ctx.delivery,
  audience: ctx.audience,
});

/**
 * The viewer of a field guarded by `authScopes: { loggedIn: true }` (used
 * where `t.withAuth` cannot narrow the context, e.g. connection fields).
 */
export function viewerOf(ctx: Context): Viewer {
  if (!ctx.viewer) throw new Error('viewerOf() used on a field without the loggedIn scope');
  return ctx.viewer;
}
