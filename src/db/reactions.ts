import { placeholders, type Db } from './client.ts';

/** One emoji's reactions to one message, as Message.reactions shows them. */
export interface ReactionGroup {
  emoji: string;
  count: number;
  reactedByMe: boolean;
  /** The first `usersPerGroup` who reacted with it, earliest first. */
  userIds: string[];
}

interface Row {
  messageId: string;
  emoji: string;
  userId: string;
  count: number | bigint;
  mine: number | bigint;
}

// Window functions (both providers have them) count each emoji's reactions
// and number its reactors in one statement, however many messages are asked
// about and however many reacted: only the first few reactors come back.
const groupsSql = (messages: number) => `
  SELECT "messageId", "emoji", "userId", "count", "mine" FROM (
    SELECT r."messageId", r."emoji", r."userId",
           CAST(COUNT(*) OVER byEmoji AS INTEGER) AS "count",
           MAX(CASE WHEN r."userId" = ? THEN 1 ELSE 0 END) OVER byEmoji AS "mine",
           MIN(r."createdAt") OVER byEmoji AS "firstAt",
           ROW_NUMBER() OVER (PARTITION BY r."messageId", r."emoji" ORDER BY r."createdAt", r."userId") AS "rank"
    FROM "Reaction" r
    WHERE r."messageId" IN (${Array.from({ length: messages }, () => '?').join(', ')})
    WINDOW byEmoji AS (PARTITION BY r."messageId", r."emoji")
  ) ranked
  WHERE "rank" <= ?
  ORDER BY "messageId", "firstAt", "emoji", "rank"`;

/**
 * The reactions to each of `messageIds` grouped by emoji, in the order each
 * emoji was first used, as `viewerId` sees them (reactedByMe): one statement.
 */
export async function readReactionGroups(
  db: Db,
  viewerId: string,
  messageIds: readonly string[],
  usersPerGroup: number,
): Promise<Map<string, ReactionGroup[]>> {
  const rows = await db.$queryRawUnsafe<Row[]>(
    placeholders(db, groupsSql(messageIds.length)),
    viewerId,
    ...messageIds,
    usersPerGroup,
  );
  const byMessage = new Map<string, ReactionGroup[]>();
  for (const row of rows) {
    let groups = byMessage.get(row.messageId);
    if (!groups) byMessage.set(row.messageId, (groups = []));
    let group = groups.at(-1);
    if (group?.emoji !== row.emoji) {
      group = { emoji: row.emoji, count: Number(row.count), reactedByMe: Number(row.mine) === 1, userIds: [] };
      groups.push(group);
    }
    group.userIds.push(row.userId);
  }
  return byMessage;
}
