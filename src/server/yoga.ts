import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { PothosValidationError } from '@pothos/core';
import { GraphQLError, getOperationAST, type DocumentNode } from 'graphql';
import { createYoga, maskError, useReadinessCheck, type Plugin, type YogaInitialContext } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { Context, Services } from '../context.ts';
import { tokenFromCredential, type Viewer } from '../domain/auth.ts';
import { AppError, isRecordGone, type ErrorCode } from '../errors.ts';
import { useMetricsEndpoint, type Metrics } from './metrics.ts';
import { useRestApi } from './rest.ts';
import { useSharedSubscriptionExecution } from './shared-execution.ts';
import { schema } from '../schema/index.ts';

/** What the WebSocket server hands over for each operation, already authenticated at connect. */
export interface SocketContext {
  viewer: Viewer;
  userAgent: string | null;
}

interface ServerDeps {
  services: Services;
  metrics: Metrics;
  logger: Logger;
  /** 'disabled' when running without Redis (a single instance). */
  redisStatus: () => 'up' | 'down' | 'disabled';
}

const MASKED_MESSAGE = 'Unexpected error.';

/**
 * Expected failures (AppError, and Pothos's argument validation such as a
 * malformed global ID) become errors with a contract code; everything else is
 * logged and masked as "Unexpected error.", never leaking driver or SQL text.
 */
function createErrorMasker(logger: Logger) {
  return (error: unknown, message: string = MASKED_MESSAGE): GraphQLError => {
    const original = originalOf(error);
    const expected = expectedFailure(original);
    if (expected) {
      return new GraphQLError(expected.message, {
        nodes: error instanceof GraphQLError ? error.nodes : undefined,
        path: error instanceof GraphQLError ? error.path : undefined,
        extensions: { ...expected.extensions, code: expected.code },
      });
    }
    if (!(original instanceof GraphQLError)) logger.error({ err: original }, 'unexpected error');
    // yoga's masker builds a GraphQLError; its type only promises an Error.
    return maskError(error, message, false) as GraphQLError;
  };
}

const originalOf = (error: unknown) => (error instanceof GraphQLError ? (error.originalError ?? error) : error);

/** The contract code and client-facing text of an expected failure; null for anything unexpected. */
function expectedFailure(error: unknown): { code: ErrorCode; message: string; extensions?: Record<string, unknown> } | null {
  if (error instanceof AppError) return error;
  if (error instanceof PothosValidationError) return { code: 'BAD_USER_INPUT', message: error.message };
  // A row a field still needed was deleted while the operation ran (Pothos
  // loads relations it did not preload with findUniqueOrThrow).
  if (isRecordGone(error)) return { code: 'NOT_FOUND', message: 'Not found: it was deleted meanwhile.' };
  return null;
}

/** The codes clients will see (the log runs before masking, so it asks the masking rules). */
function errorCodes(errors: readonly GraphQLError[] | undefined): string[] | undefined {
  return errors?.map(
    (error) => expectedFailure(originalOf(error))?.code ?? String(error.extensions?.code ?? 'INTERNAL_SERVER_ERROR'),
  );
}

/** The operation's name as written in the document (clients often omit `operationName`). */
const operationName = (document: DocumentNode, name?: string | null) =>
  getOperationAST(document, name)?.name?.value ?? null;

/** One structured log line per operation: name, type, duration and error codes. */
function useOperationLog(logger: Logger): Plugin {
  return {
    onExecute({ args }) {
      const started = performance.now();
      return {
        onExecuteDone({ result }) {
          if (!('errors' in result) && !('data' in result)) return;
          logger.info({
            operation: operationName(args.document, args.operationName),
            type: 'execute',
            ms: Math.round((performance.now() - started) * 10) / 10,
            errors: errorCodes(result.errors),
          });
        },
      };
    },
    onSubscribe({ args }) {
      logger.info({ operation: operationName(args.document, args.operationName), type: 'subscribe' });
    },
  };
}

export function createYogaServer({ services, metrics, logger, redisStatus }: ServerDeps) {
  const { prisma, config } = services;
  const maskError = createErrorMasker(logger);
  return createYoga<Partial<SocketContext>, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    graphiql: config.env !== 'production' && { title: 'Messenger' },
    landingPage: false,
    // /health below is the readiness check with a database probe; yoga's own
    // always-200 liveness answer moves to /live.
    healthCheckEndpoint: '/live',
    logging: logger,
    maskedErrors: { maskError, errorMessage: MASKED_MESSAGE, isDev: false },
    context: async (initial: YogaInitialContext & Partial<SocketContext>): Promise<Context> => {
      if (initial.viewer) {
        return { ...services, viewer: initial.viewer, userAgent: initial.userAgent ?? null };
      }
      const token = tokenFromCredential(initial.request.headers.get('authorization'));
      return {
        ...services,
        viewer: await services.authenticate(token),
        userAgent: initial.request.headers.get('user-agent'),
      };
    },
    plugins: [
      // Bounds what one document may ask for; the limits leave room for the
      // deepest query the API offers (chats → messages → author).
      EnvelopArmorPlugin({
        maxDepth: { n: 12 },
        maxAliases: { n: 30 },
        costLimit: { maxCost: 20_000 },
        maxTokens: { n: 2_000 },
        blockFieldSuggestion: { enabled: config.env === 'production' },
      }),
      useReadinessCheck({
        endpoint: '/health',
        check: async ({ fetchAPI }) => {
          const database = await prisma.$queryRawUnsafe('SELECT 1').then(
            () => 'up' as const,
            () => 'down' as const,
          );
          // Without Redis an instance still serves its own clients correctly
          // (events stay local), so it is degraded, not unready.
          const redis = redisStatus();
          const status = database === 'down' ? 'unavailable' : redis === 'down' ? 'degraded' : 'ok';
          return fetchAPI.Response.json({ status, database, redis }, { status: database === 'up' ? 200 : 503 });
        },
      }),
      useSharedSubscriptionExecution(maskError),
      useMetricsEndpoint(metrics),
      useOperationLog(logger),
      useRestApi(),
    ],
  });
}

export type YogaServer = ReturnType<typeof createYogaServer>;
