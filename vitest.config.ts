import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql 16 ships ESM (index.mjs, what Vite picks for our sources) and CJS
    // (index.js, what Node picks for Pothos and yoga). Two copies break
    // graphql's instanceof checks, so sources get the one Node uses.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Every file starts real servers and databases: give slow CI machines room.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
