import type { IncomingMessage } from 'node:http';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { getOperationAST, type DocumentNode } from 'graphql';
import { createYoga, useReadinessCheck, type Plugin, type YogaInitialContext } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { Context, Services } from '../context.ts';
import type { Client } from '../domain/accounts.ts';
import { tokenFromCredential, type Viewer } from '../domain/auth.ts';
import { schema } from '../schema/index.ts';
import { clientOf } from './client.ts';
import { corsPolicy } from './cors.ts';
import { contractCode, createErrorMasker, MASKED_MESSAGE, yogaLogger } from './errors.ts';
import { useBodySizeLimit, useDocumentLimits, useWellFormedText } from './limits.ts';
import { useMetricsEndpoint, type Metrics } from './metrics.ts';
import { isRestRequest, useRestApi } from './rest.ts';
import { useSharedSubscriptionExecution } from './shared-execution.ts';

/** What the WebSocket server hands over for each operation, already authenticated at connect. */
export interface SocketContext {
  viewer: Viewer;
  client: Client;
}

interface ServerDeps {
  services: Services;
  metrics: Metrics;
  logger: Logger;
  /** 'disabled' when running without Redis (a single instance). */
  redisStatus: () => 'up' | 'down' | 'disabled';
}

/**
 * A POST whose content type no parser takes: yoga answers an empty 415;
 * this gives it a body with the contract's code, like every other error.
 */
function useUnsupportedMediaType(): Plugin {
  return {
    onRequestParse({ requestParser, endResponse, fetchAPI }) {
      if (requestParser) return;
      const message = 'Send the operation as JSON (Content-Type: application/json), or as GET query parameters.';
      endResponse(fetchAPI.Response.json({ errors: [{ message, extensions: { code: 'BAD_REQUEST' } }] }, { status: 415 }));
    },
  };
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
            errors: result.errors?.map(contractCode),
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
    // GraphiQL from the npm package, its code inlined in the page: yoga's
    // default page loads it from a CDN, which locked-down networks cannot reach.
    graphiql: config.env !== 'production' && { title: 'Messenger' },
    // Imported on the first GraphiQL request: the inlined page's code is
    // tens of MB once loaded, held by every server that never shows it.
    renderGraphiQL: async (options) => (await import('@graphql-yoga/render-graphiql')).renderGraphiQL(options),
    cors: corsPolicy(config),
    landingPage: false,
    // Enforced by useBodySizeLimit below, without the cost of yoga's.
    maxRequestBodySize: false,
    // /health below is the readiness check with a database probe; yoga's own
    // always-200 liveness answer moves to /live.
    healthCheckEndpoint: '/live',
    logging: yogaLogger(logger),
    maskedErrors: { maskError, errorMessage: MASKED_MESSAGE, isDev: false },
    context: async (initial: YogaInitialContext & Partial<SocketContext> & { req?: IncomingMessage }): Promise<Context> => {
      if (initial.viewer && initial.client) return { ...services, viewer: initial.viewer, client: initial.client };
      const token = tokenFromCredential(initial.request.headers.get('authorization'));
      return {
        ...services,
        viewer: await services.auth.authenticate(token),
        // Node's request (yoga's server context under node:http) knows the peer.
        client: initial.req
          ? clientOf(initial.req, config.trustProxy)
          : { userAgent: initial.request.headers.get('user-agent'), address: 'unknown' },
      };
    },
    plugins: [
      ...useDocumentLimits(config.documentLimits, { production: config.env === 'production', serverWritten: isRestRequest }),
      useUnsupportedMediaType(),
      useWellFormedText(),
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
      useMetricsEndpoint(metrics, { token: config.metricsToken, open: config.env !== 'production' }),
      ...(config.introspection ? [] : [useDisableIntrospection()]),
      useOperationLog(logger),
      useRestApi(),
      // Last, as yoga places its own: it bounds whichever request parser the plugins above chose.
      useBodySizeLimit(config.maxBodyBytes),
    ],
  });
}

export type YogaServer = ReturnType<typeof createYogaServer>;
