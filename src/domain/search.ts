import type { Db } from '../db/client.ts';
import { isSearchKey, searchMessageRows, type SearchKey } from '../db/search.ts';
import { badInput } from '../errors.ts';
import type { ChatRole, Message } from '../generated/prisma/client.ts';
import { requireMember } from './chats.ts';
import { includesAtMostAuthor, retainedSince, visibleMessages, type MessageQuery, type Retention } from './messages.ts';
import { parsePage, toConnection } from './paging.ts';
import { MAX_QUERY_LENGTH, MAX_QUERY_WORDS, queryWords, snippet } from './search-text.ts';

export interface SearchArgs {
  query: string;
  /** One chat (NOT_FOUND unless the caller is a member), or all of the caller's chats. */
  chatId: string | null;
  first?: number | null;
  after?: string | null;
}

export interface SearchHit {
  message: Message;
  snippet: string;
  key: SearchKey;
  /** The reader's role in the message's chat, as of the search. */
  role: ChatRole;
}

/**
 * The messages of the caller's chats (or of one of them) whose text has every
 * word of `query` (src/domain/search-text.ts), newest first, among those the
 * caller may read now: a member's, servable. Queries are plain words:
 * anything else in them is only a word boundary.
 */
export async function searchMessages(db: Db, retention: Retention, userId: string, args: SearchArgs, query: MessageQuery) {
  if ([...args.query].length > MAX_QUERY_LENGTH) {
    throw badInput(`query: must be at most ${MAX_QUERY_LENGTH} characters.`, 'query');
  }
  const words = queryWords(args.query);
  if (words.length === 0) throw badInput('query: give at least one word to search for.', 'query');
  if (words.length > MAX_QUERY_WORDS) throw badInput(`query: at most ${MAX_QUERY_WORDS} words.`, 'query');
  const page = parsePage({ first: args.first, after: args.after }, (key): key is SearchKey => isSearchKey(db, key));
  const now = new Date();
  const found = await searchMessageRows(db, {
    userId,
    chatId: args.chatId,
    words,
    after: page.from,
    limit: page.size + 1,
    now,
    createdAfter: retainedSince(retention, now),
  });
  if (found.length === 0) {
    // The search finds only the messages of the reader's chats: finding none leaves the chat asked for to check.
    if (args.chatId !== null) await requireMember(db, args.chatId, userId);
    return toConnection(page, [] as SearchHit[], (hit) => hit.key);
  }
  // SQLite's search read the messages with their authors, which is all most selections need.
  const rows =
    found.every((hit) => hit.message) && includesAtMostAuthor(query)
      ? found.map((hit) => hit.message!)
      : ((await db.message.findMany({
          ...query,
          where: { id: { in: found.map((hit) => hit.id) }, ...visibleMessages(retention, now) },
        })) as Message[]);
  const byId = new Map(rows.map((message) => [message.id, message]));
  // In the index's order; a message deleted between two reads is left out.
  const hits = found.flatMap(({ id, key, role }): SearchHit[] => {
    const message = byId.get(id);
    return message ? [{ message, snippet: snippet(message.text, words), key, role }] : [];
  });
  return toConnection(page, hits, (hit) => hit.key);
}
