/**
 * Resident memory of the server as operators start it: `npm start` (the
 * README's command, with package.json's runtime settings), on a new database
 * (the first start applies the migrations) and again on the same database.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { ROOT, sleep } from './ipc.ts';

export interface StartRow {
  start: string;
  rssMB: number;
  /** From spawning `npm start` to its "server listening" line (includes the build). */
  readyMs: number;
}

/** How long after "server listening" the reading is taken: start-up timers and lazy work settle. */
const SETTLE_MS = 3_000;

/** The node flags and environment `npm start` runs the server with (package.json `config`). */
export function productionRuntime(): { nodeArgs: string[]; env: Record<string, string> } {
  const { config } = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as {
    config: { nodeFlags: string; mallocMmapThreshold: string };
  };
  return { nodeArgs: config.nodeFlags.split(/\s+/).filter(Boolean), env: { MALLOC_MMAP_THRESHOLD_: config.mallocMmapThreshold } };
}

const rssMB = (pid: number) => {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((entry) => entry.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1]) / 1024;
};

async function startOnce(databaseUrl: string): Promise<{ rssMB: number; readyMs: number }> {
  const started = performance.now();
  const child = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATABASE_URL: databaseUrl, LOG_LEVEL: 'info', REDIS_URL: '' },
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    // pino's line carries the server's own pid (npm's is the group's).
    const pid = await new Promise<number>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (!line.startsWith('{')) return;
        const entry = JSON.parse(line) as { msg?: string; pid?: number };
        if (entry.msg === 'server listening' && entry.pid) resolve(entry.pid);
      });
      void exited.then(() => reject(new Error('npm start exited before it listened')));
    });
    const readyMs = performance.now() - started;
    await sleep(SETTLE_MS);
    return { rssMB: rssMB(pid), readyMs };
  } finally {
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
  }
}

export async function startScenario(dir: string): Promise<StartRow[]> {
  const databaseUrl = `file:${dir}/start.db`;
  const first = await startOnce(databaseUrl);
  const again = await startOnce(databaseUrl);
  return [
    { start: 'new database (applies migrations)', ...first },
    { start: 'existing database', ...again },
  ];
}
