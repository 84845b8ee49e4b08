import { lexicographicSortSchema } from 'graphql';
import { builder } from './builder.ts';
import './user.ts';
import './session.ts';
import './chat.ts';
import './message.ts';
import './presence.ts';
import './typing.ts';

export const schema = lexicographicSortSchema(builder.toSchema());
