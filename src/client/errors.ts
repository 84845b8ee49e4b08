import { ApiError, type ErrorCode } from './api.ts';

const HEADLINE: Record<ErrorCode, string> = {
  BAD_USER_INPUT: 'Check your input',
  UNAUTHENTICATED: 'Not signed in',
  FORBIDDEN: 'Not allowed',
  NOT_FOUND: 'Not found',
  CONFLICT: 'Already exists',
  RATE_LIMITED: 'Too many requests',
  NETWORK: 'Cannot reach the server',
  INTERNAL_SERVER_ERROR: 'Something went wrong',
};

/**
 * What a person is told about a failure: a headline for its code and the
 * server's own message, which says what exactly went wrong. RATE_LIMITED
 * says how long to wait.
 */
export function describeError(error: unknown): string {
  const apiError = error instanceof ApiError ? error : new ApiError('INTERNAL_SERVER_ERROR', String(error));
  const headline = HEADLINE[apiError.code as ErrorCode] ?? HEADLINE.INTERNAL_SERVER_ERROR;
  const wait =
    apiError.code === 'RATE_LIMITED' && apiError.retryAfterSeconds !== null
      ? ` Try again in ${apiError.retryAfterSeconds} s.`
      : '';
  return `${headline}: ${apiError.message}${wait}`;
}
