import SchemaBuilder from '@pothos/core';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { DateTimeResolver } from 'graphql-scalars';
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import type PrismaTypes from '../generated/pothos-types.ts';
import { getDatamodel } from '../generated/pothos-types.ts';
import { canSeeNode } from './node-access.ts';

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
  plugins: [RelayPlugin, ScopeAuthPlugin, PrismaPlugin],
  defaultFieldNullability: false,
  defaultInputFieldRequiredness: true,
  prisma: {
    client: (ctx) => ctx.prisma,
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    onUnusedQuery: process.env.NODE_ENV === 'production' ? null : 'error',
  },
  relay: {
    cursorType: 'String',
    clientMutationId: 'omit',
    nodesQueryOptions: false,
    nodeQueryOptions: {
      resolve: async (_root, { id }, ctx, _info, resolveNode) => ((await canSeeNode(ctx, id)) ? resolveNode(id) : null),
    },
  },
  scopeAuth: {
    authorizeOnSubscribe: true,
    authScopes: (context) => ({ loggedIn: context.viewer !== null }),
    unauthorizedError: () => new AppError('UNAUTHENTICATED', 'Sign in first: send a valid token.'),
  },
});

/**
 * Extensions of a field whose value depends on who asks (an email shown only
 * to its owner, a direct chat's name, unread counts). Subscriptions selecting
 * one are executed per subscriber; others once per event for everyone (see
 * src/server/shared-execution.ts).
 */
export const VIEWER_DEPENDENT = { viewerDependent: true } as const;

builder.addScalarType('DateTime', DateTimeResolver, {
  description: 'An ISO-8601 UTC timestamp, e.g. 2026-11-22T10:00:00.000Z',
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
