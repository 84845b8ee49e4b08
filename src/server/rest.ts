import { filterSchema } from '@graphql-tools/utils';
import type { useSofa } from '@graphql-yoga/plugin-sofa';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { ErrorCode } from '../errors.ts';

/** Where the REST API lives; its OpenAPI document is `${REST_BASE_PATH}/openapi.json`. */
const REST_BASE_PATH = '/api';

const STATUS_OF_CODE: Record<ErrorCode, number> = {
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  RATE_LIMITED: 429,
};

const isErrorCode = (code: unknown): code is ErrorCode => typeof code === 'string' && code in STATUS_OF_CODE;

interface RestError {
  message: string;
  extensions: { code: string; [key: string]: unknown };
}

/**
 * One error as REST callers see it: the GraphQL error's message and
 * extensions (with its contract `code`), without sofa's internal `http` hint.
 * Anything that is not a GraphQLError was never masked, so it is reported
 * only as unexpected.
 */
function restError(error: unknown): { error: RestError; status: number } {
  if (!(error instanceof GraphQLError)) {
    return { error: { message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }, status: 500 };
  }
  const { http, code, ...extensions } = error.extensions;
  // SOFA marks a body or query-string value it cannot parse with a 400 and no code.
  const resolved = isErrorCode(code) ? code : http?.status === 400 ? 'BAD_USER_INPUT' : String(code ?? 'INTERNAL_SERVER_ERROR');
  const status = isErrorCode(resolved) ? STATUS_OF_CODE[resolved] : 500;
  return { error: { message: error.message, extensions: { ...extensions, code: resolved } }, status };
}

/**
 * The response for a failed REST call: the status that fits the first
 * error's `extensions.code` (sofa's default answers 500 for all of them),
 * `Retry-After` for RATE_LIMITED, and `{ errors: [...] }` as GraphQL has it.
 */
export function restErrorResponse(errors: readonly unknown[]): Response {
  const mapped = errors.map(restError);
  const first = mapped[0] ?? restError(undefined);
  const headers: Record<string, string> = {};
  const retryAfter = first.error.extensions.retryAfterSeconds;
  if (first.error.extensions.code === 'RATE_LIMITED' && typeof retryAfter === 'number') {
    headers['retry-after'] = String(Math.max(1, Math.ceil(retryAfter)));
  }
  return Response.json({ errors: mapped.map((entry) => entry.error) }, { status: first.status, headers });
}

type SofaConfig = Parameters<typeof useSofa>[0];

const isUnder = (pathname: string, base: string) => pathname === base || pathname.startsWith(`${base}/`);

/** The requests handed to SOFA (see useRestApi's onRequest). */
const restRequests = new WeakSet<Request>();

/**
 * Whether yoga's context belongs to a REST call: its document is SOFA's,
 * generated from the schema for the route, never one the caller sent (a
 * request under /api reaches nothing but SOFA).
 */
export const isRestRequest = (context: unknown): boolean => {
  const { request } = context as { request?: Request };
  return request !== undefined && restRequests.has(request);
};

/**
 * Fields REST answers leave out. SOFA answers with every field of the
 * returned type, so without this a chat, and every message through its chat,
 * would come with a page of its history (history has its own route,
 * /chats/:chatId/messages), every message with a page of its thread, and
 * every reaction with its users: lists that grow without a bound a route
 * could set (GraphQL selects them, and pays for them in its cost limit).
 */
const LEFT_OUT_OF_REST = new Set(['Chat.messages', 'Message.replies', 'ReactionGroup.users']);

/** RESTful paths for the operations people use most; every other field keeps sofa's default path. */
const ROUTES: SofaConfig['routes'] = {
  'Mutation.register': { method: 'POST', path: '/register', tags: ['Account'] },
  'Mutation.login': { method: 'POST', path: '/login', tags: ['Account'] },
  'Mutation.logout': { method: 'POST', path: '/logout', tags: ['Account'] },
  'Query.me': { method: 'GET', path: '/me', tags: ['Account'] },
  'Query.sessions': { method: 'GET', path: '/sessions', tags: ['Account'] },
  'Mutation.revokeSession': { method: 'DELETE', path: '/sessions/:id', tags: ['Account'] },
  'Query.users': { method: 'GET', path: '/users', tags: ['Users'] },
  'Query.user': { method: 'GET', path: '/users/:username', tags: ['Users'] },
  'Query.onlineUsers': { method: 'GET', path: '/online-users', tags: ['Users'] },
  'Query.chats': { method: 'GET', path: '/chats', tags: ['Chats'] },
  'Query.publicChats': { method: 'GET', path: '/public-chats', tags: ['Chats'] },
  'Query.chat': { method: 'GET', path: '/chats/:id', tags: ['Chats'] },
  'Mutation.createDirectChat': { method: 'POST', path: '/chats/direct', tags: ['Chats'] },
  'Mutation.createGroupChat': { method: 'POST', path: '/chats/group', tags: ['Chats'] },
  'Mutation.joinChat': { method: 'POST', path: '/chats/:chatId/join', tags: ['Chats'] },
  'Mutation.leaveChat': { method: 'POST', path: '/chats/:chatId/leave', tags: ['Chats'] },
  'Mutation.addChatMember': { method: 'POST', path: '/chats/:chatId/members', tags: ['Chats'] },
  'Mutation.removeChatMember': { method: 'DELETE', path: '/chats/:chatId/members/:username', tags: ['Chats'] },
  'Mutation.markChatRead': { method: 'POST', path: '/chats/:chatId/read', tags: ['Chats'] },
  'Mutation.setChatMessageTtl': { method: 'PUT', path: '/chats/:chatId/ttl', tags: ['Chats'] },
  'Mutation.setTyping': { method: 'POST', path: '/chats/:chatId/typing', tags: ['Chats'] },
  'Query.messages': { method: 'GET', path: '/chats/:chatId/messages', tags: ['Messages'] },
  'Mutation.sendMessage': { method: 'POST', path: '/messages', tags: ['Messages'] },
  'Mutation.editMessage': { method: 'PATCH', path: '/messages', tags: ['Messages'] },
  'Mutation.deleteMessage': { method: 'DELETE', path: '/messages/:id', tags: ['Messages'] },
  'Query.searchMessages': { method: 'GET', path: '/messages/search', tags: ['Messages'] },
  'Mutation.addReaction': { method: 'PUT', path: '/messages/:messageId/reactions/:emoji', tags: ['Messages'] },
  'Mutation.removeReaction': { method: 'DELETE', path: '/messages/:messageId/reactions/:emoji', tags: ['Messages'] },
  'Mutation.pinMessage': { method: 'PUT', path: '/messages/:id/pin', tags: ['Messages'] },
  'Mutation.unpinMessage': { method: 'DELETE', path: '/messages/:id/pin', tags: ['Messages'] },
  'Query.blockedUsers': { method: 'GET', path: '/blocked-users', tags: ['Users'] },
  'Mutation.blockUser': { method: 'PUT', path: '/blocked-users/:username', tags: ['Users'] },
  'Mutation.unblockUser': { method: 'DELETE', path: '/blocked-users/:username', tags: ['Users'] },
};

const SOFA_CONFIG: SofaConfig = {
  basePath: REST_BASE_PATH,
  routes: ROUTES,
  // Typed with fets's Response class; the platform's Response is what fets uses on Node.
  errorHandler: restErrorResponse as unknown as SofaConfig['errorHandler'],
  openAPI: {
    info: {
      title: 'Messenger REST API',
      version: '1.0.0',
      description: 'Generated from the GraphQL schema (schema.graphql). Send `Authorization: Bearer <token>`.',
    },
  },
  // Swagger UI would load its code from a CDN; the document is enough.
  swaggerUI: { endpoint: false },
};

const NO_SUCH_ENDPOINT = () => restErrorResponse([new GraphQLError('No such endpoint.', { extensions: { code: 'NOT_FOUND' } })]);

/**
 * REST endpoints under /api and their OpenAPI document at /api/openapi.json,
 * generated by SOFA from the GraphQL schema and executed through yoga's
 * pipeline (same context, Bearer auth, error masking and rules as /graphql).
 *
 * SOFA (and the OpenAPI and router code it brings) is loaded, and its routes
 * built, on the first request under /api: a server whose clients speak
 * GraphQL never holds it in memory.
 */
export function useRestApi(): Plugin {
  let yoga: Parameters<NonNullable<Plugin['onYogaInit']>>[0]['yoga'] | undefined;
  let schema: GraphQLSchema | undefined;
  let sofa: Promise<Plugin> | undefined;
  const loadSofa = () =>
    (sofa ??= import('@graphql-yoga/plugin-sofa').then(({ useSofa }) => {
      if (!yoga || !schema) throw new Error('A REST request arrived before yoga was initialised.');
      const plugin = useSofa(SOFA_CONFIG) as Plugin;
      plugin.onYogaInit?.({ yoga });
      plugin.onSchemaChange?.({
        schema: filterSchema({ schema, objectFieldFilter: (type, field) => !LEFT_OUT_OF_REST.has(`${type}.${field}`) }),
        replaceSchema: () => {
          throw new Error('REST does not replace the schema.');
        },
      });
      return plugin;
    }));
  return {
    onYogaInit(payload) {
      yoga = payload.yoga;
    },
    onSchemaChange(payload) {
      schema = payload.schema;
    },
    onRequest(payload) {
      const { pathname } = payload.url;
      if (!isUnder(pathname, REST_BASE_PATH)) return;
      // SOFA also offers subscriptions as webhooks: the server would POST
      // events to any URL a caller names. Live updates are graphql-ws's job.
      if (isUnder(pathname, `${REST_BASE_PATH}/webhook`)) {
        payload.endResponse(NO_SUCH_ENDPOINT());
        return;
      }
      restRequests.add(payload.request);
      return loadSofa().then((plugin) => plugin.onRequest?.(payload));
    },
  };
}
