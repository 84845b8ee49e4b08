import { encodeGlobalID } from '@pothos/plugin-relay';
import { isObjectType, lexicographicSortSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder.ts';
import './user.ts';
import './session.ts';
import './chat.ts';
import './message.ts';
import './presence.ts';
import './typing.ts';
import './reaction.ts';
import './pin.ts';
import './search.ts';
import './block.ts';

/**
 * Pothos's relay plugin resolves every node's `id` with an `async` resolver,
 * so every object that has an id (each row of a history page, each author)
 * becomes a promise for the executor to wait on: a fifth of a page's CPU
 * (README, "Performance"). Every node here is a prismaNode keyed by its `id`
 * column, so its global ID is encoded in place, as Pothos would encode it.
 */
function resolveNodeIdsInPlace(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || !type.getInterfaces().some((node) => node.name === 'Node')) continue;
    const typeName = type.name;
    type.getFields().id!.resolve = (parent: { id: string }) => encodeGlobalID(typeName, parent.id);
  }
  return schema;
}

export const schema = resolveNodeIdsInPlace(lexicographicSortSchema(builder.toSchema()));
