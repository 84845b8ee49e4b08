/** Global setup of the sqlite project when there is no Postgres: says, before and after the run, that Postgres was not tested. */
const notice =
  '*** postgres: SKIPPED: no Postgres server binaries found (pg_config --bindir, /usr/lib/postgresql/*/bin). ' +
  'Only SQLite was tested; install postgresql (e.g. apt-get install postgresql) to test both providers. ***';

export default function setup() {
  console.warn(`\n${notice}\n`);
  return () => console.warn(`\n${notice}\n`);
}
