/**
 * The test suite's own throwaway Postgres: a cluster initdb'd into a
 * temporary folder and started with pg_ctl on a free port, as an unprivileged
 * user (initdb refuses root), and one fresh empty database per test config.
 * Used by test/global-setup-postgres.ts (the cluster) and test/helpers/server.ts
 * (the databases); vitest.config.ts uses findPostgresBinaries to decide
 * whether the postgres project runs at all.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { freePort } from './ports.ts';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** What the postgres project's global setup provides to the test files. */
export interface TestPostgres {
  /** Superuser URL of the cluster's `postgres` database, e.g. postgresql://postgres@127.0.0.1:5433/postgres. */
  url: string;
  /** The folder holding psql, initdb and pg_ctl. */
  binDir: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Provided by test/global-setup-postgres.ts, in the postgres project only. */
    postgres?: TestPostgres;
  }
}

const TOOLS = ['initdb', 'pg_ctl', 'postgres', 'psql'];
const hasTools = (dir: string) => TOOLS.every((tool) => existsSync(path.join(dir, tool)));

/**
 * The folder holding the Postgres server binaries (initdb, pg_ctl, postgres,
 * psql): what `pg_config --bindir` prints, else the newest
 * /usr/lib/postgresql/<version>/bin (Debian keeps them off the PATH). null
 * when there are none.
 */
export function findPostgresBinaries(): string | null {
  try {
    const dir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (hasTools(dir)) return dir;
  } catch {
    // No pg_config on the PATH: look where Debian and Ubuntu install the server.
  }
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((name) => /^\d+$/.test(name)) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  const dir = versions.map((version) => path.join(root, version, 'bin')).find(hasTools);
  return dir ?? null;
}

/** The uid and gid to run Postgres as: ourselves, or when we are root the `postgres` user (else `nobody`). */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    try {
      const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8', stdio: 'pipe' }).trim());
      return { uid: id('-u'), gid: id('-g') };
    } catch {
      // No such user: try the next one.
    }
  }
  throw new Error('Running as root, and there is neither a "postgres" nor a "nobody" user to run Postgres as.');
}

function run(command: string, args: string[], options: { cwd: string; user?: { uid: number; gid: number }; core?: number }) {
  return new Promise<void>((resolve, reject) => {
    // Processes inherit their CPU affinity: pinning pg_ctl pins the server and every backend it forks.
    const [file, argv] = options.core === undefined ? [command, args] : ['taskset', ['-c', String(options.core), command, ...args]];
    const child = spawn(file, argv, {
      cwd: options.cwd,
      ...options.user,
      // Keep the cluster out of this terminal's process group: Ctrl-C reaches
      // vitest, whose teardown then stops the cluster in order.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${path.basename(command)} ${args.join(' ')} exited with ${code}:\n${output}`)),
    );
  });
}

const SERVER_SETTINGS = [
  "listen_addresses = '127.0.0.1'",
  // Every test file starts servers with pools of up to DATABASE_POOL_SIZE connections.
  'max_connections = 300',
  'shared_buffers = 64MB',
  "timezone = 'UTC'",
];
// Durability buys nothing for a cluster that is deleted after the run (unless it is measured, as by the bench).
const NOT_DURABLE = ['fsync = off', 'synchronous_commit = off', 'full_page_writes = off'];

export interface ClusterOptions {
  /** Keep Postgres's default durability (fsync, synchronous commits), as a production server has it. */
  durable?: boolean;
  /** Pin the server and all its processes to this CPU core (taskset). */
  core?: number;
}

/**
 * The locale of the cluster: en_US.UTF-8, as most production databases are
 * created, because ordering and matching of text depend on the collation and
 * the server must behave the same under any. Falls back to C, saying so, on
 * a machine without that locale (`localedef -i en_US -f UTF-8 en_US.UTF-8`).
 */
function clusterLocale(): string {
  const wanted = 'en_US.UTF-8';
  const available = execFileSync('locale', ['-a'], { encoding: 'utf8' }).split('\n');
  if (available.some((name) => name.toLowerCase().replace('-', '') === 'en_us.utf8')) return wanted;
  console.warn(`*** postgres: the ${wanted} locale is not installed; the cluster uses C, so locale-dependent behaviour is not tested. ***`);
  return 'C';
}

/**
 * initdb's a cluster into a new temporary folder and starts it on a free
 * port (trust authentication, superuser `postgres`, reachable on 127.0.0.1
 * only), with the locale of clusterLocale(); not durable unless
 * `options.durable`. `stop` shuts it down and deletes the folder; `pid` is
 * the postmaster's.
 */
export async function startCluster(
  binDir: string,
  options: ClusterOptions = {},
): Promise<TestPostgres & { pid: number; stop(): Promise<void> }> {
  const user = serverUser();
  const base = mkdtempSync(path.join(tmpdir(), 'messenger-pg-'));
  if (user) chownSync(base, user.uid, user.gid);
  const data = path.join(base, 'data');
  const log = path.join(base, 'server.log');
  const tool = (name: string) => path.join(binDir, name);
  const remove = () => rmSync(base, { recursive: true, force: true });
  try {
    await run(tool('initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', `--locale=${clusterLocale()}`, '--no-sync'], {
      cwd: base,
      user,
    });
  } catch (error) {
    remove();
    throw error;
  }
  const start = async (port: number) => {
    // The socket goes into our own folder: /var/run/postgresql may not exist or be ours.
    const settings = [...SERVER_SETTINGS, ...(options.durable ? [] : NOT_DURABLE), `port = ${port}`, `unix_socket_directories = '${base}'`];
    appendFileSync(path.join(data, 'postgresql.conf'), [...settings, ''].join('\n'));
    await run(tool('pg_ctl'), ['start', '-w', '-t', '60', '-D', data, '-l', log], { cwd: base, user, core: options.core });
  };
  // Another process may take the free port before Postgres binds it: then try another.
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort();
    try {
      await start(port);
      watchdog(base, data);
      return {
        url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
        binDir,
        pid: Number(readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]),
        async stop() {
          await run(tool('pg_ctl'), ['stop', '-w', '-D', data, '-m', 'immediate'], { cwd: base, user }).catch(() => {});
          remove();
        },
      };
    } catch (error) {
      if (attempt < 3 && /could not bind|Address already in use/.test(readLog(log))) continue;
      remove();
      throw new Error(`${error instanceof Error ? error.message : error}\n${readLog(log)}`);
    }
  }
}

/**
 * Should this process die without its teardown (SIGKILL, a crash), a
 * detached shell stops the cluster (SIGQUIT: immediate shutdown) and deletes
 * its folder once we are gone; after a normal teardown it finds nothing to do.
 */
function watchdog(base: string, data: string) {
  const script = [
    `while kill -0 ${process.pid} 2>/dev/null; do sleep 2; done`,
    `[ -f '${data}/postmaster.pid' ] && kill -QUIT "$(head -n 1 '${data}/postmaster.pid')" 2>/dev/null && sleep 1`,
    `rm -rf '${base}'`,
  ].join('\n');
  spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' }).unref();
}

const readLog = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '');

let created = 0;

/**
 * Creates a new empty database in the cluster and returns its URL. It is
 * synchronous (through psql) because test configs are built synchronously;
 * the app applies the migrations at start, as on any empty database.
 */
export function createDatabase(postgres: TestPostgres): string {
  created += 1;
  const name = `test_${process.pid}_${created}_${randomBytes(3).toString('hex')}`;
  execFileSync(path.join(postgres.binDir, 'psql'), [postgres.url, '-qAtX', '-v', 'ON_ERROR_STOP=1', '-c', `CREATE DATABASE "${name}"`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const url = new URL(postgres.url);
  url.pathname = `/${name}`;
  return url.href;
}
