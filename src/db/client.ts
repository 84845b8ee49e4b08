import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import type { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapterFactory } from '@prisma/client/runtime/client';
import type BetterSqlite3 from 'better-sqlite3';
import { DEFAULT_POOL_SIZE } from '../config.ts';
import { PrismaClient } from '../generated/prisma/client.ts';
import { providerOf, sqlitePath, type Provider } from './migrations.ts';

export type Db = PrismaClient;

const providers = new WeakMap<Db, Provider>();

/** The better-sqlite3 connection under a SQLite client, for statements run without Prisma. */
export interface SqliteConnection {
  /** The connection Prisma's adapter opened (it opens one, on the first query). */
  database(): BetterSqlite3.Database;
  /** To call for each statement run on it, as Prisma's own are counted. */
  onStatement(): void;
}

const sqliteConnections = new WeakMap<Db, SqliteConnection>();

/** The pg pool under Prisma's Postgres adapter: its connections, shared with Prisma. */
export type PostgresPool = ReturnType<Awaited<ReturnType<PrismaPg['connect']>>['underlyingDriver']>;

/** The pool under a Postgres client, for statements run without Prisma. */
export interface PostgresConnection {
  pool(): Promise<PostgresPool>;
  /** To call for each statement run on it, as Prisma's own are counted. */
  onStatement(): void;
}

const postgresConnections = new WeakMap<Db, PostgresConnection>();

/** The pool under a Postgres client from openDatabase; undefined for SQLite. */
export function postgresConnection(db: Db): PostgresConnection | undefined {
  return postgresConnections.get(db);
}

/** The connection under a SQLite client from openDatabase; undefined for Postgres. */
export function sqliteConnection(db: Db): SqliteConnection | undefined {
  return sqliteConnections.get(db);
}

/**
 * The provider of a client from openDatabase (`providerOf` of its URL), for
 * the few places that need provider-specific SQL, such as Postgres locks.
 */
export function databaseProvider(db: Db): Provider {
  const provider = providers.get(db);
  if (!provider) throw new Error('This client was not opened with openDatabase.');
  return provider;
}

/** `sql` written with `?` placeholders, numbered as `db`'s provider wants them ($1, $2, … on Postgres). */
export function placeholders(db: Db, sql: string): string {
  if (databaseProvider(db) !== 'postgresql') return sql;
  let next = 0;
  return sql.replace(/\?/g, () => `$${(next += 1)}`);
}

/**
 * Opens the database named by `url`: a `file:` URL (or path) is SQLite,
 * `postgres://` and `postgresql://` URLs are Postgres, with a pool of at most
 * `poolSize` connections (SQLite uses one). Run migrations first: for SQLite
 * the file and its folder exist after `applyMigrations`. `onStatement` is
 * called for every SQL statement (the server counts them in its metrics).
 */
export async function openDatabase(
  url: string,
  onStatement: () => void = () => {},
  poolSize: number = DEFAULT_POOL_SIZE,
): Promise<Db> {
  const provider = providerOf(url);
  const db = provider === 'postgresql' ? await openPostgres(url, onStatement, poolSize) : await openSqlite(url, onStatement);
  providers.set(db, provider);
  return db;
}

/**
 * Tunes SQLite for a chat workload: WAL lets readers run beside the single
 * writer, and `synchronous = NORMAL` is durable across application crashes in
 * WAL mode.
 */
async function openSqlite(url: string, onStatement: () => void): Promise<Db> {
  const factory = new PrismaBetterSqlite3({ url: sqlitePath(url), timeout: 10_000 });
  let database: BetterSqlite3.Database | undefined;
  // The adapter factory has no way to be handed a connection, so the one it
  // opens is taken from the adapter (its `client`, untyped but stable across
  // the 7.x adapters) for the hot paths that skip Prisma (./append-message.ts).
  const capturing: SqlDriverAdapterFactory = {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => {
      const adapter = await factory.connect();
      database = (adapter as unknown as { client: BetterSqlite3.Database }).client;
      return adapter;
    },
  };
  const prisma = new PrismaClient({ adapter: capturing, log: [{ emit: 'event', level: 'query' }] });
  prisma.$on('query', onStatement);
  await prisma.$queryRawUnsafe('PRAGMA journal_mode = WAL');
  await prisma.$executeRawUnsafe('PRAGMA synchronous = NORMAL');
  await prisma.$executeRawUnsafe('PRAGMA foreign_keys = ON');
  sqliteConnections.set(prisma, {
    database: () => {
      if (!database?.open) throw new Error('The SQLite connection is closed.');
      return database;
    },
    onStatement,
  });
  return prisma;
}

/**
 * A client generated for SQLite refuses the Postgres adapter, so Postgres has
 * its own generated client (see `generate` in ./cli.ts), imported only here so
 * SQLite-only runs never load it.
 */
async function openPostgres(url: string, onStatement: () => void, poolSize: number): Promise<Db> {
  const [{ PrismaPg }, { PrismaClient: PostgresClient }] = await Promise.all([
    import('@prisma/adapter-pg'),
    import('../generated/prisma-postgres/client.ts'),
  ]);
  const factory = new PrismaPg({ connectionString: url, max: poolSize });
  // As for SQLite, the pool the adapter opens is taken from it (underlyingDriver) for the hot paths.
  let connected: Promise<PostgresPool> | undefined;
  const capturing: SqlDriverAdapterFactory = {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: () => {
      const adapter = factory.connect();
      connected = adapter.then((opened) => opened.underlyingDriver());
      return adapter;
    },
  };
  const prisma = new PostgresClient({ adapter: capturing, log: [{ emit: 'event', level: 'query' }] });
  prisma.$on('query', onStatement);
  postgresConnections.set(prisma as unknown as Db, {
    // Prisma connects on its first query; one that does nothing makes it connect.
    pool: async () => connected ?? (await prisma.$connect(), connected!),
    onStatement,
  });
  // Both clients come from the same models and differ only in their provider,
  // so they have the same API; Db is spelled with the SQLite client's types.
  return prisma as unknown as Db;
}
