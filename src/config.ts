import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import type { Limit, RateLimitSettings } from './domain/rate-limits.ts';
import { projectRoot } from './paths.ts';
import type { DocumentLimits } from './server/limits.ts';

/** Everything the app reads from its environment, already validated. */
export interface AppConfig {
  env: 'development' | 'production' | 'test';
  host: string;
  port: number;
  databaseUrl: string;
  /** Postgres connections per instance (SQLite uses one). */
  databasePoolSize: number;
  /** Redis for events and presence across instances; null runs single-instance, in memory. */
  redisUrl: string | null;
  /** With Redis: how often instances confirm their online users; a silent instance is dropped after 3. */
  presenceHeartbeatSeconds: number;
  jwtSecret: string;
  jwtTtlSeconds: number;
  /**
   * How often each instance reads again the sessions behind its open sockets
   * and cached tokens: the longest a revocation whose event was lost (Redis
   * down, an operator's delete) goes unnoticed.
   */
  sessionRecheckSeconds: number;
  bcryptCost: number;
  logLevel: string;
  /** Global retention: messages older than this are deleted; null keeps them forever. */
  messageRetentionSeconds: number | null;
  retentionSweepSeconds: number;
  /** How long a typing indicator lasts without a stop or a refresh. */
  typingTimeoutSeconds: number;
  websocket: {
    /** Ping interval; a socket that misses a pong by the next ping is dropped. */
    keepAliveMs: number;
    /** How long a socket may take to send connection_init. */
    initTimeoutMs: number;
    maxSubscriptionsPerSocket: number;
    maxSocketsPerUser: number;
    maxPayloadBytes: number;
    /** Bytes a socket may have queued unread; a reader further behind is closed (SLOW_READER). */
    maxBufferedBytes: number;
    /** Sockets of one address that have not sent connection_init yet; more are closed with 4429. */
    maxPendingPerAddress: number;
  };
  /** The built web chat served at /. */
  webRoot: string;
  /** What one GraphQL document may ask for (src/server/limits.ts). */
  documentLimits: DocumentLimits;
  /** How long a stop waits for HTTP requests under way before it cuts their connections. */
  shutdownTimeoutSeconds: number;
  /** Largest HTTP request body; a larger one is PAYLOAD_TOO_LARGE (413). */
  maxBodyBytes: number;
  /** Origins whose pages may call the API from a browser; null: any (not in production) or none (production). */
  corsOrigins: string[] | null;
  corsMaxAgeSeconds: number;
  /** Bearer token /metrics asks for; without one it is open outside production and not served in production. */
  metricsToken: string | null;
  /** Whether the schema answers introspection (codegen and GraphiQL need it). */
  introspection: boolean;
  /** Behind a proxy: take the client's address from the last X-Forwarded-For entry. */
  trustProxy: boolean;
  rateLimits: RateLimitSettings;
}

export const DEFAULT_DATABASE_URL = 'file:./data/chat.db';
/** Postgres connections per instance unless DATABASE_POOL_SIZE says otherwise. */
export const DEFAULT_POOL_SIZE = 10;
const MIN_PRODUCTION_SECRET_LENGTH = 32;

// An empty value (`FOO=` in .env) means unset.
const optionalInt = (min: number) =>
  z.preprocess((value) => (value === '' ? undefined : value), z.coerce.number().int().min(min).optional());

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  DATABASE_URL: z.string().min(1).default(DEFAULT_DATABASE_URL),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(1000).default(DEFAULT_POOL_SIZE),
  PRESENCE_HEARTBEAT_SECONDS: z.coerce.number().positive().default(5),
  REDIS_URL: z.preprocess((value) => (value === '' ? undefined : value), z.string().url().optional()),
  JWT_SECRET: z.string().optional(),
  SESSION_RECHECK_SECONDS: z.coerce.number().positive().max(30).default(5),
  JWT_TTL: z
    .string()
    .regex(/^\d+\s*[smhd]?$/, 'JWT_TTL must be a number of seconds or e.g. 15m, 12h, 7d')
    .default('7d'),
  BCRYPT_COST: z.coerce.number().int().min(4).max(15).default(12),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MESSAGE_RETENTION_SECONDS: optionalInt(1),
  RETENTION_SWEEP_SECONDS: z.coerce.number().positive().default(60),
  TYPING_TIMEOUT_SECONDS: z.coerce.number().positive().default(5),
  WS_KEEPALIVE_SECONDS: z.coerce.number().positive().default(12),
  WS_INIT_TIMEOUT_SECONDS: z.coerce.number().positive().default(10),
  WS_MAX_SUBSCRIPTIONS: z.coerce.number().int().positive().default(100),
  WS_MAX_SOCKETS_PER_USER: z.coerce.number().int().positive().default(20),
  WS_MAX_PAYLOAD_BYTES: z.coerce.number().int().min(1024).default(65_536),
  WS_MAX_BUFFERED_BYTES: z.coerce.number().int().min(65_536).default(1_048_576),
  WS_MAX_PENDING_PER_ADDRESS: z.coerce.number().int().positive().default(10),
  TRUST_PROXY: z.enum(['true', 'false']).default('false'),
  CORS_ORIGINS: z.preprocess(
    (value) => (value === '' ? undefined : value),
    z.string().transform((list) => list.split(',').map((origin) => origin.trim()).filter(Boolean)).optional(),
  ),
  CORS_MAX_AGE_SECONDS: z.coerce.number().int().min(0).default(600),
  METRICS_TOKEN: z.preprocess((value) => (value === '' ? undefined : value), z.string().min(16).optional()),
  GRAPHQL_INTROSPECTION: z.enum(['true', 'false']).optional(),
  RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT: z.coerce.number().int().positive().default(10),
  RATE_LIMIT_LOGIN_FAILURES_PER_ADDRESS: z.coerce.number().int().positive().default(50),
  RATE_LIMIT_LOGIN_WINDOW_SECONDS: z.coerce.number().int().positive().default(900),
  RATE_LIMIT_REGISTRATIONS_PER_ADDRESS: z.coerce.number().int().positive().default(10),
  RATE_LIMIT_REGISTRATION_WINDOW_SECONDS: z.coerce.number().int().positive().default(3600),
  RATE_LIMIT_SENDS_PER_USER: z.coerce.number().int().positive().default(60),
  RATE_LIMIT_SEND_WINDOW_SECONDS: z.coerce.number().int().positive().default(10),
  RATE_LIMIT_CONNECTIONS_PER_ADDRESS: z.coerce.number().int().positive().default(60),
  RATE_LIMIT_CONNECTION_WINDOW_SECONDS: z.coerce.number().int().positive().default(60),
  SHUTDOWN_TIMEOUT_SECONDS: z.coerce.number().positive().default(10),
  HTTP_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(1_048_576),
  GRAPHQL_MAX_DEPTH: z.coerce.number().int().positive().default(12),
  GRAPHQL_MAX_ALIASES: z.coerce.number().int().positive().default(30),
  GRAPHQL_MAX_TOKENS: z.coerce.number().int().positive().default(2_000),
  GRAPHQL_MAX_COST: z.coerce.number().int().positive().default(25_000),
  WEB_ROOT: z.string().min(1).default(join(projectRoot, 'dist', 'web')),
});

const limit = (points: number, seconds: number): Limit => ({ points, seconds });

/** The names of every environment variable the server reads. */
export const SETTINGS = Object.keys(envSchema.shape);

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;

function parseDuration(text: string): number {
  const match = /^(\d+)\s*([smhd]?)$/.exec(text)!;
  return Number(match[1]) * UNIT_SECONDS[(match[2] || 's') as keyof typeof UNIT_SECONDS];
}

/**
 * Development keeps a generated secret next to the default database so tokens
 * survive restarts without any setup; production must be given one.
 */
function jwtSecretFor(env: AppConfig['env'], given: string | undefined): string {
  if (given) {
    if (env === 'production' && given.length < MIN_PRODUCTION_SECRET_LENGTH) {
      throw new Error(`JWT_SECRET must be at least ${MIN_PRODUCTION_SECRET_LENGTH} characters in production`);
    }
    return given;
  }
  if (env === 'production') throw new Error('JWT_SECRET is required when NODE_ENV=production');
  const file = resolve('data', 'jwt-secret');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    const secret = randomBytes(48).toString('base64url');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, secret, { mode: 0o600 });
    return secret;
  }
}

/** Reads and validates the configuration; throws with every problem listed. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const env = parsed.data;
  return {
    env: env.NODE_ENV,
    host: env.HOST,
    port: env.PORT,
    databaseUrl: env.DATABASE_URL,
    databasePoolSize: env.DATABASE_POOL_SIZE,
    redisUrl: env.REDIS_URL ?? null,
    presenceHeartbeatSeconds: env.PRESENCE_HEARTBEAT_SECONDS,
    jwtSecret: jwtSecretFor(env.NODE_ENV, env.JWT_SECRET),
    jwtTtlSeconds: parseDuration(env.JWT_TTL),
    sessionRecheckSeconds: env.SESSION_RECHECK_SECONDS,
    bcryptCost: env.BCRYPT_COST,
    logLevel: env.LOG_LEVEL,
    messageRetentionSeconds: env.MESSAGE_RETENTION_SECONDS ?? null,
    retentionSweepSeconds: env.RETENTION_SWEEP_SECONDS,
    typingTimeoutSeconds: env.TYPING_TIMEOUT_SECONDS,
    websocket: {
      keepAliveMs: env.WS_KEEPALIVE_SECONDS * 1000,
      initTimeoutMs: env.WS_INIT_TIMEOUT_SECONDS * 1000,
      maxSubscriptionsPerSocket: env.WS_MAX_SUBSCRIPTIONS,
      maxSocketsPerUser: env.WS_MAX_SOCKETS_PER_USER,
      maxPayloadBytes: env.WS_MAX_PAYLOAD_BYTES,
      maxBufferedBytes: env.WS_MAX_BUFFERED_BYTES,
      maxPendingPerAddress: env.WS_MAX_PENDING_PER_ADDRESS,
    },
    webRoot: resolve(env.WEB_ROOT),
    maxBodyBytes: env.HTTP_MAX_BODY_BYTES,
    shutdownTimeoutSeconds: env.SHUTDOWN_TIMEOUT_SECONDS,
    trustProxy: env.TRUST_PROXY === 'true',
    corsOrigins: env.CORS_ORIGINS ?? null,
    corsMaxAgeSeconds: env.CORS_MAX_AGE_SECONDS,
    metricsToken: env.METRICS_TOKEN ?? null,
    introspection: (env.GRAPHQL_INTROSPECTION ?? (env.NODE_ENV === 'production' ? 'false' : 'true')) === 'true',
    rateLimits: {
      loginFailuresPerAccount: limit(env.RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT, env.RATE_LIMIT_LOGIN_WINDOW_SECONDS),
      loginFailuresPerAddress: limit(env.RATE_LIMIT_LOGIN_FAILURES_PER_ADDRESS, env.RATE_LIMIT_LOGIN_WINDOW_SECONDS),
      registrationsPerAddress: limit(env.RATE_LIMIT_REGISTRATIONS_PER_ADDRESS, env.RATE_LIMIT_REGISTRATION_WINDOW_SECONDS),
      sendsPerUser: limit(env.RATE_LIMIT_SENDS_PER_USER, env.RATE_LIMIT_SEND_WINDOW_SECONDS),
      connectionsPerAddress: limit(env.RATE_LIMIT_CONNECTIONS_PER_ADDRESS, env.RATE_LIMIT_CONNECTION_WINDOW_SECONDS),
    },
    documentLimits: {
      maxDepth: env.GRAPHQL_MAX_DEPTH,
      maxAliases: env.GRAPHQL_MAX_ALIASES,
      maxTokens: env.GRAPHQL_MAX_TOKENS,
      maxCost: env.GRAPHQL_MAX_COST,
    },
  };
}
