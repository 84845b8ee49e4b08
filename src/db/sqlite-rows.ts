/**
 * Values as Prisma's SQLite adapter stores them, for the statements that run
 * without Prisma (./append-message.ts, ./history-page.ts): what they write
 * and compare must match what Prisma writes and reads.
 */
import type { User } from '../generated/prisma/client.ts';

/** DateTime as the adapter writes it (its default iso8601 format), so reads and comparisons agree. */
export const sqliteTime = (date: Date) => date.toISOString().replace('Z', '+00:00');

/** A row as SQLite returns it: DateTime columns are text. */
export type SqliteRow<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] extends Date | null ? string | null : T[K] };

export const optionalDateOf = (text: string | null) => (text === null ? null : new Date(text));

/** The User columns, in a SELECT list; `alias` prefixes each output name. */
export const userColumns = (table: string, alias = '') =>
  ['id', 'username', 'usernameKey', 'email', 'passwordHash', 'createdAt', 'lastSeenAt']
    .map((column) => `${table}."${column}"${alias ? ` AS "${alias}${column}"` : ''}`)
    .join(', ');

export const userOf = (row: SqliteRow<User>): User => ({
  ...row,
  createdAt: new Date(row.createdAt),
  lastSeenAt: optionalDateOf(row.lastSeenAt),
});
