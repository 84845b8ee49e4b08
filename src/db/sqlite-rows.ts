/**
 * Values as Prisma's SQLite adapter stores them, for the statements that run
 * without Prisma (./append-message.ts, ./history-page.ts, ./search.ts): what
 * they write and compare must match what Prisma writes and reads. Messages
 * with their authors are read the same way on Postgres's raw path.
 */
import type { Message, User } from '../generated/prisma/client.ts';

/** DateTime as the adapter writes it (its default iso8601 format), so reads and comparisons agree. */
export const sqliteTime = (date: Date) => date.toISOString().replace('Z', '+00:00');

/** A row as SQLite returns it: DateTime columns are text. */
export type SqliteRow<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] extends Date | null ? string | null : T[K] };

/** A DateTime as a row carries it: SQLite's text, or Postgres's epoch milliseconds (epochMs). */
type Time = string | number;

/** A row as a statement run without Prisma returns it, on either provider. */
type RawRow<T> = { [K in keyof T]: T[K] extends Date ? Time : T[K] extends Date | null ? Time | null : T[K] };

/**
 * Milliseconds since the epoch of a UTC timestamp column on Postgres: a
 * plain float8, cheaper to read than pg's parse of a timestamp's text and
 * the same instant whatever the server's time zone.
 */
export const epochMs = (column: string) => `(extract(epoch FROM ${column}) * 1000)::float8`;

export const optionalDateOf = (value: Time | null) => (value === null ? null : new Date(value));

const USER_COLUMNS = ['id', 'username', 'usernameKey', 'email', 'passwordHash', 'createdAt', 'lastSeenAt'] as const satisfies readonly (keyof User)[];
const TIME_COLUMNS = new Set(['createdAt', 'editedAt', 'expiresAt', 'pinnedAt', 'lastSeenAt']);

/** How a DateTime column is read: as stored (SQLite), or through epochMs (Postgres). */
type TimeColumn = (column: string) => string;
const asStored: TimeColumn = (column) => column;

/** `names` of `table` in a SELECT list, each under its own name, DateTime columns read through `time`. */
const columns = (table: string, names: readonly string[], time: TimeColumn) =>
  names.map((name) => (TIME_COLUMNS.has(name) ? `${time(`${table}."${name}"`)} AS "${name}"` : `${table}."${name}"`)).join(', ');

/** The User columns, in a SELECT list (see userOf). */
export const userColumns = (table: string, time = asStored) => columns(table, USER_COLUMNS, time);

export const userOf = (row: RawRow<User>): User => ({
  ...row,
  createdAt: new Date(row.createdAt),
  lastSeenAt: optionalDateOf(row.lastSeenAt),
});

const MESSAGE_COLUMNS = [
  'id', 'chatId', 'authorId', 'text', 'seq', 'clientId', 'createdAt', 'editedAt', 'expiresAt', 'replyToId', 'pinnedAt', 'pinnedById', 'searchText',
] as const satisfies readonly (keyof Message)[];

/**
 * A message's columns, then its author's, in a SELECT list for a statement
 * read in array mode (see messagesWithAuthors); `m` is the message, `u` the
 * author. `time` writes a DateTime column as the row should carry it
 * (Postgres: epochMs).
 */
export const messageWithAuthorColumns = (m: string, u: string, time = asStored) =>
  `${columns(m, MESSAGE_COLUMNS, time)}, ${userColumns(u, time)}`;

/** The index of the first column after messageWithAuthorColumns in a row. */
export const AFTER_MESSAGE_WITH_AUTHOR = MESSAGE_COLUMNS.length + USER_COLUMNS.length;

/** A row in array mode that starts with messageWithAuthorColumns; any columns after them are the statement's own. */
export type MessageWithAuthorRow = [
  ...message: [string, string, string, string, number, string | null, Time, Time | null, Time | null, string | null, Time | null, string | null, string | null],
  ...author: [string, string, string, string, string, Time, Time | null],
  ...rest: unknown[],
];

/**
 * Rows of messageWithAuthorColumns as messages with their authors, each
 * author built once and shared by its messages. Array mode: a driver's
 * named rows cost more to build than this whole mapping.
 */
export function messagesWithAuthors(rows: MessageWithAuthorRow[]): (Message & { author: User })[] {
  const authors = new Map<string, User>();
  const authorOf = (row: MessageWithAuthorRow) => {
    let author = authors.get(row[2]);
    if (!author) {
      author = {
        id: row[13],
        username: row[14],
        usernameKey: row[15],
        email: row[16],
        passwordHash: row[17],
        createdAt: new Date(row[18]),
        lastSeenAt: optionalDateOf(row[19]),
      };
      authors.set(row[2], author);
    }
    return author;
  };
  return rows.map((row) => ({
    id: row[0],
    chatId: row[1],
    authorId: row[2],
    text: row[3],
    seq: row[4],
    clientId: row[5],
    createdAt: new Date(row[6]),
    editedAt: optionalDateOf(row[7]),
    expiresAt: optionalDateOf(row[8]),
    replyToId: row[9],
    pinnedAt: optionalDateOf(row[10]),
    pinnedById: row[11],
    searchText: row[12],
    author: authorOf(row),
  }));
}
