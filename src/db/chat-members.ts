/**
 * The two reads behind live delivery's access check (src/domain/audience.ts),
 * made for every event: plain SQL, prepared once on SQLite, because a read
 * through Prisma's query layer costs ten times the statement.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { ChatRole } from '../generated/prisma/client.ts';
import { placeholders, sqliteConnection, type Db } from './client.ts';

export interface ChatMembers {
  /** Chat.membersVersion when the list was read (see the members_version and rich_messaging migrations). */
  version: number;
  /** `blocksPeer`: in a direct chat, the member blocks the other one. */
  members: { userId: string; role: ChatRole; blocksPeer: boolean }[];
}

type MemberRow = { version: number; userId: string | null; role: ChatRole | null; blocksPeer: number | boolean };

const VERSION_SQL = `SELECT "membersVersion" AS "version" FROM "Chat" WHERE "id" = ?`;
// Version and members in one statement, so the list is never older than its version.
const MEMBERS_SQL = `
  SELECT c."membersVersion" AS "version", m."userId", m."role",
         c."kind" = 'DIRECT' AND EXISTS (
           SELECT 1 FROM "Block" b JOIN "ChatMember" o ON o."chatId" = c."id" AND o."userId" = b."blockedId"
           WHERE b."blockerId" = m."userId") AS "blocksPeer"
  FROM "Chat" c LEFT JOIN "ChatMember" m ON m."chatId" = c."id"
  WHERE c."id" = ?`;

const prepared = new WeakMap<
  BetterSqlite3.Database,
  {
    version: BetterSqlite3.Statement<[string], { version: number }>;
    members: BetterSqlite3.Statement<[string], MemberRow>;
  }
>();

function statements(database: BetterSqlite3.Database) {
  let both = prepared.get(database);
  if (!both) {
    // Prisma's adapter turns on BigInt results for the whole connection; these fit in a number.
    both = {
      version: database.prepare<[string], { version: number }>(VERSION_SQL).safeIntegers(false),
      members: database.prepare<[string], MemberRow>(MEMBERS_SQL).safeIntegers(false),
    };
    prepared.set(database, both);
  }
  return both;
}

/** The chat's membersVersion; null when the chat does not exist. */
export async function readMembersVersion(db: Db, chatId: string): Promise<number | null> {
  const sqlite = sqliteConnection(db);
  if (sqlite) {
    const row = statements(sqlite.database()).version.get(chatId);
    sqlite.onStatement();
    return row?.version ?? null;
  }
  const rows = await db.$queryRawUnsafe<{ version: number }[]>(placeholders(db, VERSION_SQL), chatId);
  return rows[0]?.version ?? null;
}

/** The chat's members with the version they are as of; null when the chat does not exist. */
export async function readMembers(db: Db, chatId: string): Promise<ChatMembers | null> {
  const sqlite = sqliteConnection(db);
  let rows: MemberRow[];
  if (sqlite) {
    rows = statements(sqlite.database()).members.all(chatId);
    sqlite.onStatement();
  } else {
    rows = await db.$queryRawUnsafe(placeholders(db, MEMBERS_SQL), chatId);
  }
  if (rows.length === 0) return null;
  // A chat without members still has its row: the LEFT JOIN gives one row of nulls.
  const members = rows.flatMap((row) =>
    row.userId === null || row.role === null ? [] : [{ userId: row.userId, role: row.role, blocksPeer: Boolean(row.blocksPeer) }],
  );
  return { version: rows[0]!.version, members };
}
