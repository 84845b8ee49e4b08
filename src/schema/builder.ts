import SchemaBuilder from '@pothos/core';
import ComplexityPlugin from '@pothos/plugin-complexity';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { getNamedType, isListType, isNonNullType, type GraphQLOutputType } from 'graphql';
import { DateTimeResolver } from 'graphql-scalars';
import type { Context } from '../context.ts';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../domain/paging.ts';
import { AppError, notFound } from '../errors.ts';
import type PrismaTypes from '../generated/pothos-types.ts';
import { getDatamodel } from '../generated/pothos-types.ts';
import { canSeeNode } from './access.ts';

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  AuthScopes: { loggedIn: boolean };
  AuthContexts: { loggedIn: Context & { viewer: NonNullable<Context['viewer']> } };
  Scalars: { DateTime: { Input: Date; Output: Date } };
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: true;
}>({
  // Relay before scope-auth, so authScopes see decoded global IDs.
  plugins: [RelayPlugin, ScopeAuthPlugin, PrismaPlugin, ComplexityPlugin],
  defaultFieldNullability: false,
  defaultInputFieldRequiredness: true,
  prisma: {
    client: (ctx) => ctx.prisma,
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    onUnusedQuery: process.env.NODE_ENV === 'production' ? null : 'error',
  },
  // Field costs for the cost limit (src/server/limits.ts, which enforces it).
  complexity: { disabled: true, fieldComplexity: fieldCost },
  relay: {
    cursorType: 'String',
    clientMutationId: 'omit',
    nodesQueryOptions: false,
    nodeQueryOptions: {
      // Hidden and missing nodes are alike: null.
      resolve: async (_root, { id }, ctx, _info, resolveNode) => {
        const node = await resolveNode(id);
        return node && (await canSeeNode(ctx, id.typename, node)) ? node : null;
      },
    },
  },
  scopeAuth: {
    authorizeOnSubscribe: true,
    // Type checks (src/schema/access.ts) run once per object, failing the
    // field that returned it, instead of once per field of the object.
    runScopesOnType: true,
    authScopes: (context) => ({ loggedIn: context.viewer !== null }),
    // An object the viewer may not see is NOT_FOUND, exactly like one that
    // does not exist (the resolvers throw the same for a missing id).
    unauthorizedError: (_parent, context, info) =>
      context.viewer
        ? notFound(getNamedType(info.returnType).name)
        : new AppError('UNAUTHENTICATED', 'Sign in first: send a valid token.'),
  },
});

/**
 * Extensions of a field whose value depends on who asks (an email shown only
 * to its owner, a direct chat's name, unread counts). Subscriptions selecting
 * one are executed per subscriber; others once per event for everyone (see
 * src/server/shared-execution.ts).
 */
export const VIEWER_DEPENDENT = { viewerDependent: true } as const;

/** The arguments that size a page: the only ones a field's cost reads (src/server/limits.ts relies on it). */
export const PAGE_SIZE_ARGUMENTS = ['first', 'last'] as const;

/** How many items a list field of this kind stands for, when it says nothing itself. */
const LIST_ITEMS = 10;

const isList = (type: GraphQLOutputType): boolean => isListType(isNonNullType(type) ? type.ofType : type);

/**
 * What a field costs: 1, and its selection times the items it returns: a
 * page (a field taking first/last) as many as it asks for (the default page
 * when it does not say), any other list LIST_ITEMS. A connection's edges are
 * its page, already counted.
 */
function fieldCost(args: Record<string, unknown>, _ctx: unknown, field: { name: string; type: GraphQLOutputType; args: readonly { name: string }[] }) {
  if (field.args.some((arg) => arg.name === 'first')) {
    const size = PAGE_SIZE_ARGUMENTS.map((name) => args[name]).find((value): value is number => typeof value === 'number') ?? DEFAULT_PAGE_SIZE;
    return { field: 1, multiplier: Math.min(Math.max(size, 0), MAX_PAGE_SIZE) };
  }
  if (!isList(field.type)) return 1;
  // The plugin multiplies every list by 10 unless told otherwise.
  return { field: 1, multiplier: field.name === 'edges' ? 1 : LIST_ITEMS };
}

builder.addScalarType('DateTime', DateTimeResolver, {
  description: 'An ISO-8601 UTC timestamp, e.g. 2026-11-22T10:00:00.000Z',
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
