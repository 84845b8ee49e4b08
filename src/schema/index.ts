import { lexicographicSortSchema } from 'graphql';
import { builder } from './builder.ts';
import './user.ts';
import './session.ts';

export const schema = lexicographicSortSchema(builder.toSchema());
