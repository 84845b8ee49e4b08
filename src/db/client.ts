import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaClient } from '../generated/prisma/client.ts';
import { providerOf, sqlitePath } from './migrations.ts';

export type Db = PrismaClient;

/**
 * Opens the database named by `url` and tunes SQLite for a chat workload: WAL
 * lets readers run beside the single writer, and `synchronous = NORMAL` is
 * durable across application crashes in WAL mode. Run migrations first: the
 * file and its folder exist after `applyMigrations`. `onStatement` is called
 * for every SQL statement (the server counts them in its metrics).
 */
export async function openDatabase(url: string, onStatement: () => void = () => {}): Promise<Db> {
  if (providerOf(url) !== 'sqlite') throw new Error('Only SQLite (file:) DATABASE_URLs are supported so far.');
  const prisma = new PrismaClient({
    adapter: new PrismaBetterSqlite3({ url: sqlitePath(url), timeout: 10_000 }),
    log: [{ emit: 'event', level: 'query' }],
  });
  prisma.$on('query', onStatement);
  await prisma.$queryRawUnsafe('PRAGMA journal_mode = WAL');
  await prisma.$executeRawUnsafe('PRAGMA synchronous = NORMAL');
  await prisma.$executeRawUnsafe('PRAGMA foreign_keys = ON');
  return prisma;
}
