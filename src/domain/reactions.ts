import { databaseProvider, type Db } from '../db/client.ts';
import type { EventBus } from '../events.ts';
import { badInput, isForeignKeyViolation, notFound } from '../errors.ts';
import { requireWriter } from './blocks.ts';
import { requireVisibleMessage, rereadMessage, type MessageQuery, type Retention } from './messages.ts';

export const MAX_EMOJI_PER_MESSAGE = 20;

const graphemes = new Intl.Segmenter('und', { granularity: 'grapheme' });
// Unicode's list of emoji (RGI: recommended for general interchange), as the
// regular expression engine knows it: flags, keycaps, skin tones and ZWJ
// sequences included, letters and digits not.
const EMOJI = /^\p{RGI_Emoji}$/v;
const EMOJI_PRESENTATION = '\uFE0F';

/**
 * One emoji: a single grapheme cluster that Unicode lists as an emoji. A
 * symbol typed without its emoji variation selector ("❤" for "❤️") is taken
 * as the emoji, so both are one reaction. BAD_USER_INPUT for anything else.
 */
export function parseEmoji(raw: string): string {
  const single = [...graphemes.segment(raw)].length === 1;
  if (single && EMOJI.test(raw)) return raw;
  if (single && EMOJI.test(raw + EMOJI_PRESENTATION)) return raw + EMOJI_PRESENTATION;
  throw badInput('emoji: must be exactly one emoji, e.g. "👍".', 'emoji');
}

type Added = 'added' | 'present' | 'full';

/**
 * Stores the reaction unless it is there already, or the message has
 * MAX_EMOJI_PER_MESSAGE other emoji. Postgres runs concurrent transactions
 * side by side, so each first locks the message row: two new emoji cannot
 * both see room for one. SQLite runs them one at a time.
 */
function storeReaction(db: Db, reaction: { messageId: string; userId: string; emoji: string }): Promise<Added> {
  const postgres = databaseProvider(db) === 'postgresql';
  return db.$transaction(async (tx) => {
    if (postgres) {
      const locked = await tx.$queryRawUnsafe<unknown[]>('SELECT 1 FROM "Message" WHERE "id" = $1 FOR UPDATE', reaction.messageId);
      if (locked.length === 0) throw notFound('Message');
    }
    if (await tx.reaction.findUnique({ where: { messageId_userId_emoji: reaction } })) return 'present';
    const used = await tx.reaction.findMany({ where: { messageId: reaction.messageId }, distinct: ['emoji'], select: { emoji: true } });
    if (used.length >= MAX_EMOJI_PER_MESSAGE && !used.some((row) => row.emoji === reaction.emoji)) return 'full';
    await tx.reaction.create({ data: reaction });
    return 'added';
  });
}

/** A member reacts; reacting again with the same emoji changes nothing. */
export async function addReaction(
  db: Db,
  bus: EventBus,
  retention: Retention,
  userId: string,
  input: { messageId: string; emoji: string },
  query: MessageQuery = {},
) {
  const emoji = parseEmoji(input.emoji);
  const { message, membership } = await requireVisibleMessage(db, retention, userId, input.messageId);
  await requireWriter(db, membership);
  const added = await storeReaction(db, { messageId: message.id, userId, emoji }).catch((error: unknown) => {
    // Deleted since it was read.
    throw isForeignKeyViolation(error) ? notFound('Message') : error;
  });
  if (added === 'full') {
    throw badInput(`emoji: a message has at most ${MAX_EMOJI_PER_MESSAGE} different emoji.`, 'emoji');
  }
  if (added === 'added') bus.publish('message:updated', { chatId: message.chatId, messageId: message.id, actorId: userId });
  return rereadMessage(db, message.id, query);
}

/** A member takes their reaction back; taking back one they did not give changes nothing. */
export async function removeReaction(
  db: Db,
  bus: EventBus,
  retention: Retention,
  userId: string,
  input: { messageId: string; emoji: string },
  query: MessageQuery = {},
) {
  const emoji = parseEmoji(input.emoji);
  const { message } = await requireVisibleMessage(db, retention, userId, input.messageId);
  const { count } = await db.reaction.deleteMany({ where: { messageId: message.id, userId, emoji } });
  if (count > 0) bus.publish('message:updated', { chatId: message.chatId, messageId: message.id, actorId: userId });
  return rereadMessage(db, message.id, query);
}
