import { PothosValidationError } from '@pothos/core';
import { GraphQLError, type ExecutionResult, type FormattedExecutionResult } from 'graphql';
import type { YogaLogger } from 'graphql-yoga';
import type { Logger } from 'pino';
import { AppError, isRecordGone, type ErrorCode } from '../errors.ts';

/**
 * The codes of the API contract (../shared/contract/schema.graphql) that come
 * from the protocol rather than the domain: the document, the HTTP request,
 * or an unexpected failure.
 */
export type ProtocolCode =
  | 'GRAPHQL_PARSE_FAILED'
  | 'GRAPHQL_VALIDATION_FAILED'
  | 'BAD_REQUEST'
  | 'PAYLOAD_TOO_LARGE'
  | 'INTERNAL_SERVER_ERROR';

export type ContractCode = ErrorCode | ProtocolCode;

const CONTRACT_CODES = new Set<string>([
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'BAD_USER_INPUT',
  'CONFLICT',
  'RATE_LIMITED',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PAYLOAD_TOO_LARGE',
] satisfies Exclude<ContractCode, 'INTERNAL_SERVER_ERROR'>[]);

/** What yoga calls codes the contract names otherwise. */
const RENAMED: Record<string, ContractCode> = {
  REQUEST_ENTITY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  OPERATION_RESOLUTION_FAILURE: 'BAD_REQUEST',
};

export const MASKED_MESSAGE = 'Unexpected error.';

const originalOf = (error: unknown) => (error instanceof GraphQLError ? (error.originalError ?? error) : error);

interface Failure {
  code: ContractCode;
  message: string;
  extensions?: Record<string, unknown>;
}

/**
 * The contract code and client-facing text of an expected failure; null for
 * anything unexpected, which is masked.
 */
export function expectedFailure(error: unknown): Failure | null {
  const original = originalOf(error);
  if (original instanceof AppError) return original;
  if (original instanceof PothosValidationError) return { code: 'BAD_USER_INPUT', message: original.message };
  // A row a field still needed was deleted while the operation ran (Pothos
  // loads relations it did not preload with findUniqueOrThrow).
  if (isRecordGone(original)) return { code: 'NOT_FOUND', message: 'Not found: it was deleted meanwhile.' };
  if (!(error instanceof GraphQLError)) return null;
  const given = error.extensions.code;
  const code = typeof given === 'string' ? (RENAMED[given] ?? given) : undefined;
  if (code !== undefined && CONTRACT_CODES.has(code)) return { code: code as ContractCode, message: error.message };
  // Pothos found an argument it cannot take (a malformed global ID), inside a check that ran before execution.
  if (error.originalError instanceof PothosValidationError) return { code: 'BAD_USER_INPUT', message: error.message };
  // graphql-js's own request errors carry no code: variables that are
  // missing or of the wrong type (its message texts are stable API; without
  // a path, they are no field's error).
  if (!error.path && /^Variable "\$[^"]+" /.test(error.message)) return { code: 'BAD_USER_INPUT', message: error.message };
  // Anything else is unexpected.
  return null;
}

/** The code a client will see for `error` (the operation log runs before masking). */
export const contractCode = (error: unknown): ContractCode => expectedFailure(error)?.code ?? 'INTERNAL_SERVER_ERROR';

/** `error` (a GraphQL error of the document or its variables) with `code`, for paths that bypass yoga's. */
export const withCode = (error: GraphQLError, code: ProtocolCode) =>
  new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, extensions: { code } });

type HttpHint = { status?: number; spec?: boolean; headers?: Record<string, string> };

/**
 * The status yoga answers with. A malformed request (BAD_REQUEST,
 * PAYLOAD_TOO_LARGE) gets its own status whatever the client accepts; yoga
 * would answer 200 to an `application/json` client once the error no longer
 * carries the parser's original error, which the contract keeps private.
 */
function httpHint(code: ContractCode, hint: unknown): HttpHint | undefined {
  if (!hint || typeof hint !== 'object') return undefined;
  const { spec: _spec, ...always } = hint as HttpHint;
  return code === 'BAD_REQUEST' || code === 'PAYLOAD_TOO_LARGE' ? always : (hint as HttpHint);
}

/**
 * Every error that leaves the server, over HTTP and WebSocket: expected
 * failures keep their message and get their contract code; anything else is
 * logged and masked as "Unexpected error." (INTERNAL_SERVER_ERROR). Nothing
 * else of an error goes out: no original error, stack, SQL or driver text.
 * The `http` hint (the status yoga answers with) stays; yoga does not send it.
 */
export function createErrorMasker(logger: Logger) {
  return (error: unknown, message: string = MASKED_MESSAGE): GraphQLError => {
    const expected = expectedFailure(error);
    const graphqlError = error instanceof GraphQLError ? error : undefined;
    if (expected) {
      const http = httpHint(expected.code, graphqlError?.extensions.http);
      return new GraphQLError(expected.message, {
        nodes: graphqlError?.nodes,
        source: graphqlError?.source,
        positions: graphqlError?.positions,
        path: graphqlError?.path,
        extensions: { ...expected.extensions, code: expected.code, ...(http ? { http } : {}) },
      });
    }
    logger.error({ err: originalOf(error) }, 'unexpected error');
    // `unexpected` is how yoga knows to answer 500 when there is no data.
    return new GraphQLError(message, {
      nodes: graphqlError?.nodes,
      path: graphqlError?.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR', unexpected: true },
    });
  };
}

/**
 * A result as it goes out over WebSocket: without the `http` hints of its
 * errors, which yoga removes from HTTP responses itself.
 */
export function withoutHttpHints(result: ExecutionResult): ExecutionResult | FormattedExecutionResult {
  if (!result.errors?.some((error) => error.extensions?.http)) return result;
  return {
    ...result,
    errors: result.errors.map((error) => {
      const { http: _http, ...extensions } = error.extensions;
      return { ...error.toJSON(), extensions };
    }),
  };
}

/**
 * yoga's own logger. yoga reports at error level every error it has masked,
 * which includes every client error (a wrong password, a missing chat) and
 * the unexpected ones the masker has already logged: those go to debug.
 */
export function yogaLogger(logger: Logger): YogaLogger {
  return {
    debug: (...args: unknown[]) => logger.debug({ yoga: args }, 'yoga'),
    info: (...args: unknown[]) => logger.info({ yoga: args }, 'yoga'),
    warn: (...args: unknown[]) => logger.warn({ yoga: args }, 'yoga'),
    error: (...args: unknown[]) =>
      args[0] instanceof Error ? logger.debug({ err: args[0] }, 'request error') : logger.error({ yoga: args }, 'yoga'),
  };
}
