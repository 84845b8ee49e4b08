import { createServer } from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import type { AppConfig } from './config.ts';
import type { Services } from './context.ts';
import { openDatabase } from './db/client.ts';
import { applyMigrations, providerOf } from './db/migrations.ts';
import { createAudience } from './domain/audience.ts';
import { createAuthenticator } from './domain/auth.ts';
import { createDelivery } from './domain/delivery.ts';
import { createPasswordWork } from './domain/passwords.ts';
import { createPresence } from './domain/presence.ts';
import { createRateLimits } from './domain/rate-limits.ts';
import { startRetentionSweeper } from './domain/retention.ts';
import { createTypingTracker } from './domain/typing.ts';
import { createEventBus } from './events.ts';
import { createMetrics } from './server/metrics.ts';
import { withWebApp } from './server/web-app.ts';
import { attachWebSocketServer } from './server/websocket.ts';
import { createYogaServer } from './server/yoga.ts';

/** How long a stopping server still serves requests arriving on connections already open. */
const DRAIN_GRACE_MS = 500;

export interface App {
  /** Listens on HTTP and WebSocket; port 0 picks a free port. */
  start(port?: number, host?: string): Promise<{ port: number; url: string }>;
  /**
   * Stops accepting connections, closes WebSockets with 1001, lets HTTP
   * requests under way finish (for at most SHUTDOWN_TIMEOUT_SECONDS), then
   * closes Redis and the database. Safe to call twice.
   */
  stop(): Promise<void>;
}

/**
 * Builds the whole server (HTTP + WebSocket on /graphql): applies pending
 * migrations and opens the database, but does not listen until `start`.
 */
export async function createApp(config: AppConfig): Promise<App> {
  const logger = pino({ level: config.logLevel });
  const applied = await applyMigrations({ provider: providerOf(config.databaseUrl), url: config.databaseUrl });
  if (applied.length > 0) logger.info({ applied }, 'applied database migrations');
  // Imported only when configured: a single instance never loads ioredis.
  const redis = config.redisUrl ? (await import('./events-redis.ts')).createRedisTarget(config.redisUrl, logger) : null;
  const bus = createEventBus(redis ?? undefined);
  const metrics = createMetrics({
    eventListeners: () => bus.listenerCount(),
    chatSubscribers: () => services.delivery.subscribers(),
  });
  const prisma = await openDatabase(config.databaseUrl, () => metrics.sqlStatements.inc(), config.databasePoolSize);
  const audience = createAudience(prisma);
  const services: Services = {
    prisma,
    config,
    bus,
    auth: createAuthenticator(prisma, config, bus, config.sessionRecheckSeconds * 1000),
    presence: createPresence({
      db: prisma,
      bus,
      heartbeatMs: redis ? config.presenceHeartbeatSeconds * 1000 : null,
    }),
    typing: createTypingTracker(bus, config.typingTimeoutSeconds * 1000),
    audience,
    delivery: createDelivery({
      bus,
      audience,
      onError: (error) => logger.error({ err: error }, 'reading a chat\'s members for live delivery failed'),
    }),
    limits: createRateLimits(config.rateLimits, redis?.commands ?? null),
    passwords: createPasswordWork({ cost: config.bcryptCost }),
  };
  const sweeper = startRetentionSweeper({
    db: prisma,
    bus,
    logger,
    retention: config,
    intervalSeconds: config.retentionSweepSeconds,
  });
  const yoga = createYogaServer({ services, metrics, logger, redisStatus: () => (redis ? (redis.isUp() ? 'up' : 'down') : 'disabled') });
  const httpServer = createServer(withWebApp(config.webRoot, logger, yoga));
  const websocket = attachWebSocketServer({ httpServer, yoga, services, metrics, logger });
  let stopping: Promise<void> | undefined;

  return {
    start: (port = config.port, host = config.host) =>
      new Promise((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => {
          const address = httpServer.address() as AddressInfo;
          const url = `http://${host === '0.0.0.0' ? 'localhost' : host}:${address.port}/graphql`;
          logger.info({ url }, 'server listening');
          resolve({ port: address.port, url });
        });
      }),
    stop: () =>
      (stopping ??= (async () => {
        // Stop accepting, but not as http.Server#close does, which also closes
        // at once every connection not in a request: a request already sent,
        // but not read yet, would be reset. Requests still arriving on open
        // connections are served for a moment; after that each connection is
        // closed once it has answered what it was doing, and all of them
        // after SHUTDOWN_TIMEOUT_SECONDS.
        const closed = new Promise<void>((resolve) => net.Server.prototype.close.call(httpServer, () => resolve()));
        let idle: NodeJS.Timeout | undefined;
        const grace = setTimeout(() => {
          idle = setInterval(() => httpServer.closeIdleConnections(), 50);
        }, DRAIN_GRACE_MS);
        const cut = setTimeout(() => httpServer.closeAllConnections(), config.shutdownTimeoutSeconds * 1000);
        await sweeper.stop();
        services.typing.close();
        await websocket.close();
        services.presence.close();
        await closed;
        clearTimeout(grace);
        clearInterval(idle);
        clearTimeout(cut);
        await redis?.close();
        await prisma.$disconnect();
        logger.info('server stopped');
      })()),
  };
}
