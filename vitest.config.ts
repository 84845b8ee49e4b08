import { availableParallelism } from 'node:os';
import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';
import { findPostgresBinaries } from './test/helpers/postgres.ts';

// Every test file runs twice: against SQLite, and against the suite's own
// throwaway Postgres cluster when the Postgres server binaries are installed.
// `npm test -- --project sqlite` runs one provider only.
const postgresBinaries = findPostgresBinaries();
const projects: TestProjectInlineConfiguration[] = [];
if (postgresBinaries) {
  projects.push(
    { extends: true, test: { name: 'sqlite' } },
    { extends: true, test: { name: 'postgres', globalSetup: ['test/global-setup-postgres.ts'] } },
  );
} else {
  // Said before the run and again after its summary (by that global setup's teardown).
  projects.push({ extends: true, test: { name: 'sqlite', globalSetup: ['test/global-setup-no-postgres.ts'] } });
}

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
    // Files mostly wait on servers, databases and timers. At least two
    // workers, so that the two providers' runs overlap even on two cores.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    projects,
  },
});
