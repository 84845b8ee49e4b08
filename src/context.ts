import type { AppConfig } from './config.ts';
import type { Db } from './db/client.ts';
import type { Viewer } from './domain/auth.ts';
import type { PubSub } from './events.ts';

/**
 * What every resolver sees, over HTTP and WebSocket alike.
 *
 * The Prisma client is here rather than a module-level value (Pothos's usual
 * advice) because each `createApp` owns its own database connection: tests and
 * multi-instance runs hold several apps in one process.
 */
export interface Context {
  prisma: Db;
  config: AppConfig;
  pubsub: PubSub;
  /** Null when the request carries no valid token. */
  viewer: Viewer | null;
  /** Default device name for sessions opened by this request. */
  userAgent: string | null;
}

/**
 * The viewer of a field guarded by `authScopes: { loggedIn: true }` (used
 * where `t.withAuth` cannot narrow the context, e.g. connection fields).
 */
export function viewerOf(ctx: Context): Viewer {
  if (!ctx.viewer) throw new Error('viewerOf() used on a field without the loggedIn scope');
  return ctx.viewer;
}
