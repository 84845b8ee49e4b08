/**
 * What full-text search treats as the words of a text, the same on every
 * provider: the databases index these words exactly (src/db/search.ts and
 * the rich_messaging migration), and queries are made of them.
 *
 * A word is a run of letters, digits and marks, folded: NFKC, lower case,
 * Latin accents dropped ("Café" is "cafe"); anything else separates words
 * ("don't" is "don" and "t"). Runs in scripts written without spaces
 * (Chinese, Japanese, Thai, …) are split into words by Unicode word
 * segmentation (Intl.Segmenter: ICU's dictionaries). An emoji is a word of
 * its own, without variation selectors, and stands for its base emoji as
 * well ("👍🏽" is also "👍"). A query word matches a whole word; for Han and
 * kana, whose words ICU may segment other than a searcher would, the parts
 * of a word up to four characters are indexed too, so a part of a word is
 * found ("タワー" and "東京" find "東京タワー"). Whole words, not prefixes,
 * let the indexes stream matches newest first for the commonest word (a
 * prefix makes FTS5 merge every matching word's list first).
 *
 * Indexing runs on the send path, so segmentation, which costs about a
 * microsecond and a half per segment, is kept to the runs that need it.
 */

const segmenter = new Intl.Segmenter('und', { granularity: 'word' });
/** A run of letters, digits and marks; an emoji (with its modifiers, ZWJ sequences, a flag); or one other character. */
const PIECE =
  /[\p{L}\p{N}\p{M}]+|\p{Extended_Pictographic}[\uFE0E\uFE0F\p{Emoji_Modifier}]*(?:\u200D\p{Extended_Pictographic}[\uFE0E\uFE0F\p{Emoji_Modifier}]*)*|\p{Regional_Indicator}{2}|[^]/gu;
const WORD_START = /^[\p{L}\p{N}\p{M}]/u;
const EMOJI_START = /^(?:\p{Extended_Pictographic}|\p{Regional_Indicator}{2})/u;
const NOT_IN_WORD = /[^\p{L}\p{N}\p{M}]+/u;
const VARIATION_SELECTORS = /[\uFE0E\uFE0F]/g;
const EMOJI_MODIFIERS = /\p{Emoji_Modifier}/gu;
/** Latin letters beyond ASCII: the only ones that can carry accents to drop. */
const ACCENTABLE = /[\u00C0-\u024F\u1E00-\u1EFF]/;
const LATIN_ACCENTS = /(\p{Script=Latin})\p{Mn}+/gu;
/** Scripts written without spaces between words, which ICU splits by dictionary. */
const SPACELESS = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;
/** Of those, the ones whose words are also indexed by their parts. */
const PARTED = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u;
const ASCII = /^[\x00-\x7f]*$/;
const ASCII_WORD = /[a-z0-9]+/g;
const ASCII_PIECE = /[A-Za-z0-9]+|[^A-Za-z0-9]+/g;

/** Longer words are cut to this many code points (in the index and in queries alike). */
const MAX_WORD_LENGTH = 64;
/** The parts of a Han or kana word indexed besides the word: those up to this long (Chinese and Japanese words mostly are). */
const MAX_PART_LENGTH = 4;

export const MAX_QUERY_LENGTH = 256;
export const MAX_QUERY_WORDS = 16;

/** A piece of a text: a word's run, an emoji, or what lies between. */
interface Piece {
  text: string;
  index: number;
  /** The folded words of the piece; empty for spaces and punctuation. */
  words: string[];
  /** The words as the index holds them (see indexedForms). */
  indexed: string[];
}

// (A word of at most MAX_WORD_LENGTH code units has at most that many code points.)
const cut = (word: string) => (word.length <= MAX_WORD_LENGTH ? word : [...word].slice(0, MAX_WORD_LENGTH).join(''));

/** The words of a run of letters, digits and marks (NFKC may turn some of them into separators: "½"). */
function foldedWords(run: string): string[] {
  let folded = run.normalize('NFKC').toLowerCase();
  if (ACCENTABLE.test(folded)) folded = folded.normalize('NFD').replace(LATIN_ACCENTS, '$1').normalize('NFC');
  return folded.split(NOT_IN_WORD).filter(Boolean).map(cut);
}

/** `word` as the index holds it: with the parts of a Han or kana word, and an emoji's base emoji. */
function indexedForms(word: string): string[] {
  if (!PARTED.test(word)) {
    const base = word.replace(EMOJI_MODIFIERS, '');
    return base !== word && base !== '' ? [word, base] : [word];
  }
  const points = [...word];
  const parts = [word];
  for (let start = 0; start < points.length; start += 1) {
    for (let end = start + 1; end <= Math.min(points.length, start + MAX_PART_LENGTH); end += 1) {
      if (end - start < points.length) parts.push(points.slice(start, end).join(''));
    }
  }
  return parts;
}

const piece = (text: string, index: number, words: string[]): Piece => ({ text, index, words, indexed: words.flatMap(indexedForms) });

/** The pieces of `text` in order; a run in a spaceless script comes as its ICU words. */
function* pieces(text: string): Generator<Piece> {
  if (ASCII.test(text)) {
    // An ASCII word is folded by lower-casing it, and indexed as it is.
    for (const { 0: run, index } of text.matchAll(ASCII_PIECE)) {
      const words = /^[A-Za-z0-9]/.test(run) ? [cut(run.toLowerCase())] : [];
      yield { text: run, index, words, indexed: words };
    }
    return;
  }
  for (const { 0: found, index } of text.matchAll(PIECE)) {
    if (!WORD_START.test(found)) {
      // An emoji (a flag, a pictograph with what joins it), or a separator.
      yield piece(found, index, EMOJI_START.test(found) ? [found.replace(VARIATION_SELECTORS, '')] : []);
    } else if (!SPACELESS.test(found)) {
      yield piece(found, index, foldedWords(found));
    } else {
      for (const { segment, index: at, isWordLike } of segmenter.segment(found)) {
        yield piece(segment, index + at, isWordLike ? foldedWords(segment) : []);
      }
    }
  }
}

/** The folded words of `text`, in order (for all-ASCII text, most messages: its lower-cased runs of letters and digits). */
function wordsOf(text: string): string[] {
  if (ASCII.test(text)) return (text.toLowerCase().match(ASCII_WORD) ?? []).map(cut);
  const words: string[] = [];
  for (const { words: found } of pieces(text)) words.push(...found);
  return words;
}

/**
 * Message.searchText: the distinct words of `text` the index holds,
 * separated by single spaces ('' for a text of no words).
 */
export function searchText(text: string): string {
  return [...new Set(wordsOf(text).flatMap(indexedForms))].join(' ');
}

/** The distinct words of a search query, in order (none: nothing to search for); each must be one of a message's indexed words. */
export function queryWords(query: string): string[] {
  return [...new Set(wordsOf(query))];
}

/** Characters of context a snippet shows around its first match, before and in all. */
const SNIPPET_LEAD = 40;
const SNIPPET_LENGTH = 160;

/**
 * The part of `text` around its first word that `words` (a query's) match,
 * every match in it wrapped in « and », spacing collapsed, cut at word
 * boundaries with "…" where text was left out.
 */
export function snippet(text: string, words: readonly string[]): string {
  const parts = [...pieces(text)];
  const wanted = new Set(words);
  const hit = parts.map((part) => part.indexed.some((held) => wanted.has(held)));
  const first = Math.max(0, hit.indexOf(true));
  let start = first;
  while (start > 0 && parts[first]!.index - parts[start - 1]!.index <= SNIPPET_LEAD) start -= 1;
  let end = start;
  const from = parts[start]?.index ?? 0;
  while (end < parts.length && parts[end]!.index + parts[end]!.text.length - from <= SNIPPET_LENGTH) end += 1;
  end = Math.max(end, first + 1);
  const shown = parts
    .slice(start, end)
    .map((part, i) => (hit[start + i] ? `«${part.text}»` : part.text))
    .join('')
    .replace(/\s+/g, ' ')
    .trim();
  return `${start > 0 ? '…' : ''}${shown}${end < parts.length ? '…' : ''}`;
}
