/**
 * Texts and queries for the search scenario, the same in the server child
 * (which seeds the texts) and the load generator (which asks the queries):
 * both draw from one seeded generator and one vocabulary.
 *
 * The vocabulary is 3,000 made-up words used with Zipf frequencies (the
 * most common word is in about one message in ten, as "the" would be),
 * with a few words of other scripts and emoji mixed in, so the index holds
 * what a real chat's would: a few very common words and a long tail.
 */

/** mulberry32: a small seeded generator of numbers in [0, 1). */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'ta', 'vo', 'shi', 'bel', 'dor', 'fen', 'gar', 'hul', 'jin', 'kor', 'lum', 'mar', 'nor', 'pel', 'quin', 'ros', 'sul', 'tor', 'vel', 'wen', 'yar', 'zor'];
const OTHER_SCRIPTS = ['привет', 'встреча', 'завтра', '東京', '北京', '会議', 'καλημέρα', 'café', '🎉', '👍', '🚆'];

function vocabulary(size: number): string[] {
  const random = seeded(7);
  const words = new Set<string>();
  while (words.size < size) {
    const syllables = 2 + Math.floor(random() * 3);
    words.add(Array.from({ length: syllables }, () => SYLLABLES[Math.floor(random() * SYLLABLES.length)]).join(''));
  }
  return [...words];
}

export const WORDS = vocabulary(3_000);

// Cumulative Zipf weights: rank r is used in proportion to 1/r.
const cumulative = (() => {
  let sum = 0;
  return WORDS.map((_, rank) => (sum += 1 / (rank + 1)));
})();

function zipfWord(random: () => number): string {
  const target = random() * cumulative.at(-1)!;
  let low = 0;
  let high = cumulative.length - 1;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (cumulative[middle]! < target) low = middle + 1;
    else high = middle;
  }
  return WORDS[low]!;
}

/** A message of 4–20 words, now and then with a word of another script or an emoji. */
export function messageText(random: () => number): string {
  const words = Array.from({ length: 4 + Math.floor(random() * 17) }, () => zipfWord(random));
  if (random() < 0.15) words.splice(Math.floor(random() * words.length), 0, OTHER_SCRIPTS[Math.floor(random() * OTHER_SCRIPTS.length)]!);
  return words.join(' ');
}

/**
 * What people search for: mostly a word as often as it is used, sometimes a
 * rare one, two words, a word of another script or an emoji, or a word no
 * message has.
 */
export function searchQuery(random: () => number): string {
  const kind = random();
  if (kind < 0.5) return zipfWord(random);
  if (kind < 0.65) return WORDS[Math.floor(random() * WORDS.length)]!;
  if (kind < 0.8) return `${zipfWord(random)} ${zipfWord(random)}`;
  if (kind < 0.9) return OTHER_SCRIPTS[Math.floor(random() * OTHER_SCRIPTS.length)]!;
  return `${zipfWord(random)}x`;
}
