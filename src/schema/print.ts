import { writeFileSync } from 'node:fs';
import { printSchema } from 'graphql';
import { schema } from './index.ts';

/** The committed schema.graphql: what clients and codegen read. A test fails when it is stale. */
export const printedSchema = () => `${printSchema(schema)}\n`;

if (process.argv[1] === import.meta.filename) {
  writeFileSync(new URL('../../schema.graphql', import.meta.url), printedSchema());
  console.log('wrote schema.graphql');
}
