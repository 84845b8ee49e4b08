import { badInput } from '../errors.ts';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 100;

/** Relay connection arguments as clients send them. */
export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

/** One validated request for a page: which way to read, from where, how many. */
export interface Page<K> {
  /** 'forward' reads keys ascending after `from`; 'backward' reads descending before `from`. */
  direction: 'forward' | 'backward';
  from: K | null;
  size: number;
}

const CURSOR_PREFIX = 'c1:';

/** Cursors are opaque to clients: base64url of a versioned JSON key. */
export function encodeCursor(key: unknown): string {
  return Buffer.from(CURSOR_PREFIX + JSON.stringify(key)).toString('base64url');
}

function decodeCursor<K>(cursor: string, isKey: (value: unknown) => value is K, field: string): K {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  // No key of ours holds a NUL or an unpaired surrogate, which Postgres cannot compare with.
  if (text.startsWith(CURSOR_PREFIX) && !/[\0\p{Cs}]/u.test(text)) {
    try {
      const key: unknown = JSON.parse(text.slice(CURSOR_PREFIX.length));
      if (isKey(key)) return key;
    } catch {
      // falls through to the error below
    }
  }
  throw badInput(`${field}: not a cursor from this list.`, field);
}

function sizeOf(value: number | null | undefined, field: string): number | null {
  if (value === null || value === undefined) return null;
  if (!Number.isInteger(value) || value < 1 || value > MAX_PAGE_SIZE) {
    throw badInput(`${field}: page size must be between 1 and ${MAX_PAGE_SIZE}.`, field);
  }
  return value;
}

/**
 * Validates connection arguments into a page request. `first`/`after` read
 * forward (the default); `last`/`before` read backward from the end.
 * Mixing the two directions is refused rather than guessed at.
 */
export function parsePage<K>(args: PageArgs, isKey: (value: unknown) => value is K): Page<K> {
  const first = sizeOf(args.first, 'first');
  const last = sizeOf(args.last, 'last');
  const forward = first !== null || (args.after ?? null) !== null;
  const backward = last !== null || (args.before ?? null) !== null;
  if (forward && backward) throw badInput('Use first/after or last/before, not both.');
  if (backward) {
    return {
      direction: 'backward',
      from: args.before ? decodeCursor(args.before, isKey, 'before') : null,
      size: last ?? DEFAULT_PAGE_SIZE,
    };
  }
  return {
    direction: 'forward',
    from: args.after ? decodeCursor(args.after, isKey, 'after') : null,
    size: first ?? DEFAULT_PAGE_SIZE,
  };
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

/**
 * Turns rows read for `page` (in reading order, at most size + 1 of them, the
 * extra one only telling that more exist) into a connection in list order.
 */
export function toConnection<T>(page: Page<unknown>, rows: T[], keyOf: (row: T) => unknown): Connection<T> {
  const more = rows.length > page.size;
  const slice = rows.slice(0, page.size);
  if (page.direction === 'backward') slice.reverse();
  const edges = slice.map((node) => ({ cursor: encodeCursor(keyOf(node)), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: page.direction === 'forward' ? more : page.from !== null,
      hasPreviousPage: page.direction === 'backward' ? more : page.from !== null,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}

/**
 * The keys that start with `prefix`, as a range that an index serves:
 * [prefix, the prefix with its last code point raised by one). Exact for keys
 * compared by code point, which is how both providers compare them (SQLite's
 * BINARY, Postgres' "C" collation on these columns, both UTF-8).
 */
export function prefixRange(prefix: string): { gte: string; lt?: string } {
  const points = [...prefix];
  const last = points.pop();
  if (last === undefined) return { gte: prefix };
  let next = last.codePointAt(0)! + 1;
  // Surrogates are no characters: the code point after U+D7FF is U+E000.
  if (next >= 0xd800 && next <= 0xdfff) next = 0xe000;
  // Nothing follows U+10FFFF: then every key from the shorter prefix on matches.
  if (next > 0x10ffff) return { ...prefixRange(points.join('')), gte: prefix };
  return { gte: prefix, lt: points.join('') + String.fromCodePoint(next) };
}

export const isString = (value: unknown): value is string => typeof value === 'string';
/** A seq: what an Int column holds on every provider (a larger one is no cursor of ours). */
export const isSeq = (value: unknown): value is number =>
  Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= 2_147_483_647;
/** A timestamp both providers can compare against (years 1 to 9999). */
export const isTimestamp = (value: unknown): value is string => {
  if (typeof value !== 'string') return false;
  const year = new Date(value).getUTCFullYear();
  return year >= 1 && year <= 9999;
};
