import { usernameKey, usernameSchema } from './accounts.ts';

// "@" starting a name, not inside a word or an address (alice@example.com).
const MENTION = /(?<![\w.@-])@([\w.-]+)/g;
/** More distinct names than this in one text are not looked up. */
const MAX_MENTIONS = 50;

/**
 * The username keys that `text` names as @username: candidates only, which
 * mention someone when they are a member of the chat (the store decides,
 * src/db/append-message.ts and editMessage). A name may end the sentence
 * ("thanks @bob."), so one with trailing dots or dashes stands for itself
 * and for the name without them.
 */
export function mentionedKeys(text: string): string[] {
  const keys = new Set<string>();
  for (const [, name] of text.matchAll(MENTION)) {
    for (const candidate of [name!, name!.replace(/[.-]+$/, '')]) {
      if (usernameSchema.safeParse(candidate).success) keys.add(usernameKey(candidate));
    }
    if (keys.size >= MAX_MENTIONS) break;
  }
  return [...keys];
}
