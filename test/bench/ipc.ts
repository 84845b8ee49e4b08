import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The project root: children run with it as their working directory so `--import tsx` resolves. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

type Handler = (args: any) => unknown;

interface Request {
  id: number;
  cmd: string;
  args?: unknown;
}
interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

/**
 * Child side of the harness's IPC: answers `{ id, cmd, args }` requests with
 * the handler's result, and exits as soon as the parent goes away, so a
 * crashed or killed harness never leaves a server or a load generator behind.
 */
export function serve(handlers: Record<string, Handler>): void {
  process.on('message', async (message: Request) => {
    if (!message || typeof message.id !== 'number') return;
    let reply: Reply;
    try {
      const handler = handlers[message.cmd];
      if (!handler) throw new Error(`unknown command ${message.cmd}`);
      reply = { id: message.id, ok: true, result: await handler(message.args) };
    } catch (error) {
      reply = { id: message.id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
    }
    if (process.connected) process.send!(reply);
  });
  process.on('disconnect', () => process.exit(0));
}

/** Whether `taskset` can pin processes to cores 0 and 1 here. */
export function pinningAvailable(): { ok: boolean; why?: string } {
  const probe = spawnSync('taskset', ['-c', '1', 'true'], { stdio: 'ignore' });
  if (probe.error) return { ok: false, why: 'taskset not found' };
  if (probe.status !== 0) return { ok: false, why: 'taskset cannot use core 1 (fewer than 2 cores?)' };
  return { ok: true };
}

const BOTH_CORES = '0,1';

/** The most file descriptors (sockets) a child may want; 10,000 subscribers need one each, on both sides. */
export const FILE_LIMIT = 65_536;
const RAISE_FILE_LIMIT = `n=$(ulimit -Hn); { [ "$n" = unlimited ] || [ "$n" -gt ${FILE_LIMIT} ]; } && n=${FILE_LIMIT}; ulimit -n "$n"; exec "$@"`;

/** The file limit children get (the hard limit, at most FILE_LIMIT). */
export function childFileLimit(): number {
  const result = spawnSync('sh', ['-c', `${RAISE_FILE_LIMIT.split('; exec')[0]}; ulimit -n`], { encoding: 'utf8' });
  return Number(result.stdout.trim());
}

/** Pins every thread of process `pid` to `core`. */
export function pin(pid: number, core: number): void {
  const result = spawnSync('taskset', ['-a', '-cp', String(core), String(pid)], { stdio: 'ignore' });
  if (result.status !== 0) throw new Error(`taskset could not pin ${pid} to core ${core}`);
}

export interface ChildOptions {
  /** Core to pin to with taskset once the child is ready, or null to run unpinned. */
  core: number | null;
  nodeArgs?: string[];
  env?: Record<string, string>;
}

/** A harness child process (TypeScript via tsx) that answers `call`s over IPC. */
export class Child {
  readonly process: ChildProcess;
  readonly exited: Promise<number | null>;
  /** The child's `{ ready: true, ... }` announcement. */
  readonly ready: Promise<any>;
  private nextId = 1;
  private pending = new Map<number, { resolve: (value: any) => void; reject: (error: Error) => void }>();
  private exitCode: number | null | undefined;

  constructor(
    readonly name: string,
    script: string,
    args: string[],
    options: ChildOptions,
  ) {
    const node = [...(options.nodeArgs ?? []), '--import', 'tsx', fileURLToPath(new URL(script, import.meta.url)), ...args];
    // Children start on both cores (whatever this process is pinned to) so
    // their slow start-up (tsx, Prisma) runs in parallel; each is pinned to
    // its own core once it says it is ready, before anything is measured.
    const command = options.core === null ? [process.execPath, ...node] : ['taskset', '-c', BOTH_CORES, process.execPath, ...node];
    // Node cannot raise its own file limit; the shell lifts the soft limit to the hard one first.
    this.process = spawn('sh', ['-c', RAISE_FILE_LIMIT, 'sh', ...command], {
      cwd: ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.ready = new Promise((resolve, reject) => {
      this.process.on('message', (message: { ready?: boolean }) => {
        if (!message?.ready) return;
        try {
          if (options.core !== null) pin(this.process.pid!, options.core);
          resolve(message);
        } catch (error) {
          reject(error);
        }
      });
      this.process.once('exit', (code, signal) => reject(new Error(`${name} exited before it was ready (${code ?? signal})`)));
    });
    this.ready.catch(() => undefined);
    this.process.on('message', (reply: Reply) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (reply.ok) waiter.resolve(reply.result);
      else waiter.reject(new Error(`${this.name}: ${reply.error}`));
    });
    this.exited = new Promise((resolve) => {
      this.process.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        for (const waiter of this.pending.values()) waiter.reject(new Error(`${this.name} exited (${code ?? signal})`));
        this.pending.clear();
        resolve(code);
      });
    });
  }

  get pid(): number {
    return this.process.pid!;
  }

  get alive(): boolean {
    return this.exitCode === undefined;
  }

  /** Sends one command and resolves with the child's answer; rejects after `timeoutMs`. */
  call<T = any>(cmd: string, args?: unknown, timeoutMs = 60_000): Promise<T> {
    if (!this.alive) return Promise.reject(new Error(`${this.name} is not running`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: ${cmd} took longer than ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.process.send({ id, cmd, args } satisfies Request);
    });
  }

  /** Asks the child to stop, then kills it (this pid only) if it has not exited within `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.alive) return;
    await this.call('stop', undefined, graceMs).catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const exited = await Promise.race([
      this.exited.then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
    ]);
    clearTimeout(timer);
    if (!exited && this.alive) {
      this.process.kill('SIGKILL');
      await this.exited;
    }
  }

  /** Immediate kill, for the watchdog and signal handlers. */
  kill(): void {
    if (this.alive) this.process.kill('SIGKILL');
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** CPU time this process spent since `from`, as a share of one core over `wallMs` (1.0 = one full core). */
export function cpuShare(from: NodeJS.CpuUsage, wallMs: number): number {
  const used = process.cpuUsage(from);
  return wallMs > 0 ? (used.user + used.system) / 1000 / wallMs : 0;
}
