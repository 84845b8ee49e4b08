import type { TestProject } from 'vitest/node';
import { findPostgresBinaries, startCluster } from './helpers/postgres.ts';

/** The postgres project's global setup: one throwaway cluster for the whole run, torn down afterwards. */
export default async function setup(project: TestProject) {
  const binDir = findPostgresBinaries();
  if (!binDir) throw new Error('The postgres project needs the Postgres server binaries (initdb, pg_ctl, psql).');
  const started = Date.now();
  const cluster = await startCluster(binDir);
  console.log(`postgres: throwaway cluster at ${cluster.url} (${binDir}), ready in ${Date.now() - started} ms`);
  project.provide('postgres', { url: cluster.url, binDir: cluster.binDir });
  return () => cluster.stop();
}
