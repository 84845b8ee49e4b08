/**
 * The database servers the Postgres and two-instance scenarios start for
 * themselves, pinned to a core: a throwaway Postgres cluster with production
 * durability (fsync and synchronous commits on) and a Redis without
 * persistence. Each reports the CPU its processes used, so the harness can
 * show it beside the messenger's and count it as ours on its core.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { createDatabase, findPostgresBinaries, startCluster } from '../helpers/postgres.ts';
import { freePort } from '../helpers/ports.ts';

export interface DatabaseServer {
  url: string;
  /** CPU milliseconds its processes (and those that exited) have used so far. */
  cpuMs(): number;
  stop(): Promise<void>;
  /** Immediate stop (by pid), for the harness's watchdog and signal handlers. */
  kill(): void;
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** utime + stime + cutime + cstime of `pid` (its exited children included), in ms; 0 once it is gone. */
function ownCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0) * TICK_MS;
  } catch {
    return 0;
  }
}

const parentOf = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return -1;
  }
};

/** CPU ms of `root` and its live children (Postgres forks a backend per connection). */
function treeCpuMs(root: number): number {
  const pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number);
  return ownCpuMs(root) + pids.filter((pid) => parentOf(pid) === root).reduce((sum, pid) => sum + ownCpuMs(pid), 0);
}

/** Why the Postgres scenarios cannot run here, or null when they can. */
export function postgresMissing(): string | null {
  return findPostgresBinaries() ? null : 'no Postgres server binaries (pg_config --bindir, /usr/lib/postgresql/*/bin)';
}

export const REDIS_SERVER = '/usr/bin/redis-server';

export function redisMissing(): string | null {
  return existsSync(REDIS_SERVER) ? null : `no ${REDIS_SERVER}`;
}

/**
 * A Postgres cluster as a production server runs (durable commits), pinned
 * to `core`, with its default connection limit of 100 raised only as the test
 * cluster's is. `createDatabase` makes a new empty database and returns its URL.
 */
export async function startPostgres(core: number | null): Promise<DatabaseServer & { createDatabase(): string }> {
  const binDir = findPostgresBinaries();
  if (!binDir) throw new Error(postgresMissing()!);
  const cluster = await startCluster(binDir, { durable: true, ...(core === null ? {} : { core }) });
  return {
    url: cluster.url,
    cpuMs: () => treeCpuMs(cluster.pid),
    stop: () => cluster.stop(),
    // An immediate shutdown; startCluster's own watchdog deletes the folder once the harness exits.
    kill: () => signal(cluster.pid, 'SIGQUIT'),
    createDatabase: () => createDatabase(cluster),
  };
}

/** A Redis server on a free port of 127.0.0.1, without persistence, pinned to `core`. */
export async function startRedis(core: number | null): Promise<DatabaseServer> {
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'];
  const [file, argv] = core === null ? [REDIS_SERVER, args] : ['taskset', ['-c', String(core), REDIS_SERVER, ...args]];
  // taskset execs redis-server, so this pid is the server's.
  const child: ChildProcess = spawn(file, argv, { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
    if (await reachable(port)) break;
    if (Date.now() > deadline) throw new Error('redis-server did not listen within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    cpuMs: () => ownCpuMs(child.pid!),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
    kill: () => signal(child.pid!, 'SIGKILL'),
  };
}

function signal(pid: number, name: NodeJS.Signals) {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
