/**
 * Values as Prisma's SQLite adapter stores them, for the statements that run
 * without Prisma (./append-message.ts, ./history-page.ts, ./search.ts): what
 * they write and compare must match what Prisma writes and reads.
 */
import type { Message, User } from '../generated/prisma/client.ts';

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

const MESSAGE_COLUMNS = [
  'id', 'chatId', 'authorId', 'text', 'seq', 'clientId', 'createdAt', 'editedAt', 'expiresAt', 'replyToId', 'pinnedAt', 'pinnedById', 'searchText',
] as const satisfies readonly (keyof Message)[];

/** A message's columns and its author's (named author_<column>), in a SELECT list; `m` is the message, `u` the author. */
export const messageWithAuthorColumns = (m: string, u: string) =>
  `${MESSAGE_COLUMNS.map((column) => `${m}."${column}"`).join(', ')}, ${userColumns(u, 'author_')}`;

export type MessageWithAuthorRow = SqliteRow<Message> & { [K in keyof User as `author_${K}`]: SqliteRow<User>[K] };

/** Rows of messageWithAuthorColumns as messages with their authors, each author built once and shared by its messages. */
export function messagesWithAuthors(rows: MessageWithAuthorRow[]): (Message & { author: User })[] {
  const authors = new Map<string, User>();
  const authorOf = (row: MessageWithAuthorRow) => {
    let author = authors.get(row.authorId);
    if (!author) {
      author = userOf({
        id: row.author_id,
        username: row.author_username,
        usernameKey: row.author_usernameKey,
        email: row.author_email,
        passwordHash: row.author_passwordHash,
        createdAt: row.author_createdAt,
        lastSeenAt: row.author_lastSeenAt,
      });
      authors.set(row.authorId, author);
    }
    return author;
  };
  return rows.map((row) => ({
    id: row.id,
    chatId: row.chatId,
    authorId: row.authorId,
    text: row.text,
    seq: row.seq,
    clientId: row.clientId,
    createdAt: new Date(row.createdAt),
    editedAt: optionalDateOf(row.editedAt),
    expiresAt: optionalDateOf(row.expiresAt),
    replyToId: row.replyToId,
    pinnedAt: optionalDateOf(row.pinnedAt),
    pinnedById: row.pinnedById,
    searchText: row.searchText,
    author: authorOf(row),
  }));
}
