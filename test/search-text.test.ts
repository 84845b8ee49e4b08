import { describe, expect, it } from 'vitest';
import { queryWords, searchText, snippet } from '../src/domain/search-text.ts';

/** Deterministic pseudo-random numbers (a linear congruential generator), so a failure can be replayed. */
function numbers(seed: number) {
  let state = seed >>> 0;
  return () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

describe('search words', () => {
  it('folds case and Latin accents, splits at anything not a letter or digit, and keeps each word once', () => {
    expect(searchText("Café au LAIT, don't PANIC! café e-mail 3.14")).toBe('cafe au lait don t panic e mail 3 14');
    expect(queryWords('  "Café"  OR  cafe ')).toEqual(['cafe', 'or']);
    expect(queryWords('"*" ^ () :')).toEqual([]);
  });

  it('splits Chinese, Japanese and Thai into words, indexes the parts of Chinese and Japanese ones, and an emoji with its base emoji', () => {
    expect(searchText('東京タワーに行きました').split(' ')).toEqual(expect.arrayContaining(['東京タワー', '東京', '京タ', 'タワー', 'ー', 'に', '行き']));
    expect(searchText('สวัสดีครับ')).toBe('สวัสดี ครับ');
    expect(searchText('nice 👍🏽 🎉️ ❤ ❤️ 🇫🇷')).toBe('nice 👍🏽 👍 🎉 ❤ 🇫🇷');
  });

  it('finds the same words in an all-ASCII text by its shortcut as by the general path', () => {
    const random = numbers(42);
    for (let i = 0; i < 20_000; i += 1) {
      const text = Array.from({ length: 1 + Math.floor(random() * 16) }, () =>
        String.fromCharCode(random() < 0.2 ? 32 : random() < 0.05 ? [9, 10, 13][Math.floor(random() * 3)]! : 33 + Math.floor(random() * 94)),
      ).join('');
      // A Cyrillic word takes the text off the shortcut and adds only itself.
      const words = searchText(text);
      expect(searchText(`${text} ж`)).toBe(words ? `${words} ж` : 'ж');
    }
  });

  it('marks the matching words of a snippet, cutting long texts around the first match', () => {
    expect(snippet('Who brings the TENT? The tent!', ['tent'])).toBe('Who brings the «TENT»? The «tent»!');
    expect(snippet('東京タワーに行きました', ['タワー'])).toBe('«東京タワー»に行きました');
    const long = `${'word '.repeat(40)}needle ${'word '.repeat(40)}`;
    expect(snippet(long, ['needle'])).toMatch(/^…(word ){7,8}«needle» (word ){20,}word…$/);
  });
});
