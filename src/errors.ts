import { z } from 'zod';

/** The stable `extensions.code` values of the API contract. */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'CONFLICT'
  | 'RATE_LIMITED';

/**
 * An expected failure. Domain modules throw it without knowing about GraphQL;
 * the server's error masking turns it into a GraphQL error carrying `code`.
 */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const notFound = (what = 'Resource') => new AppError('NOT_FOUND', `${what} not found.`);
export const badInput = (message: string, field?: string) =>
  new AppError('BAD_USER_INPUT', message, field ? { field } : {});

/**
 * Whether a text shows anything: it holds more than white space and the
 * characters that render as nothing (zero-width spaces and joiners, the BOM,
 * fillers: Unicode's Default_Ignorable_Code_Point).
 */
export const isVisible = (text: string) => /[^\p{White_Space}\p{Default_Ignorable_Code_Point}]/u.test(text);

/** Validates `value`, throwing BAD_USER_INPUT naming the first offending field. */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.join('.');
  throw badInput(field ? `${field}: ${issue.message}` : issue.message, field || undefined);
}

/**
 * Whether `error` is Prisma's report of a violated constraint: `prismaCode`
 * from model queries, or P2010 ("raw query failed") carrying the driver
 * adapter's error of `adapterKind`. Checked by shape, without importing a
 * generated client.
 */
function isViolation(error: unknown, prismaCode: string, adapterKind: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, meta } = error as { code?: unknown; meta?: { driverAdapterError?: { cause?: { kind?: unknown } } } };
  return code === prismaCode || (code === 'P2010' && meta?.driverAdapterError?.cause?.kind === adapterKind);
}

/** Prisma's "unique constraint failed". */
export const isUniqueViolation = (error: unknown) => isViolation(error, 'P2002', 'UniqueConstraintViolation');

/** Prisma's "foreign key constraint failed": the referenced row went away meanwhile. */
export const isForeignKeyViolation = (error: unknown) => isViolation(error, 'P2003', 'ForeignKeyConstraintViolation');

/** Prisma's "record to update or delete does not exist" (P2025): the row went away meanwhile. */
export const isRecordGone = (error: unknown) =>
  typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'P2025';
