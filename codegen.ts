import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Types for every operation of the web and terminal clients, generated from
 * the committed schema.graphql (as an app team would from our published
 * schema). An operation the schema no longer allows fails generation, and a
 * changed type fails `tsc` in the code that uses it.
 */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['src/client/operations.ts'],
  ignoreNoDocuments: false,
  generates: {
    'src/client/generated/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        scalars: { DateTime: 'string' },
        strictScalars: true,
        enumsAsTypes: true,
        useTypeImports: true,
        avoidOptionals: { field: true, inputValue: false },
      },
    },
  },
};

export default config;
