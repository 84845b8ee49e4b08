import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  commit: string;
  /** Tracked files differ from the commit. */
  dirty: boolean;
  date: string;
  database: string;
  pinning: string;
  /** 1-minute load average when the run started and ended: other work on the machine skews every figure. */
  loadAverage: { start: number; end?: number };
}

function git(...args: string[]): string {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

export function machineInfo(database: string, pinning: string): Machine {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    commit: git('rev-parse', '--short', 'HEAD') || 'unknown',
    dirty: git('status', '--porcelain', '--untracked-files=no') !== '',
    date: new Date().toISOString(),
    database,
    pinning,
    loadAverage: { start: loadavg()[0]! },
  };
}

/** A plain-text table: first column left-aligned, the others right-aligned. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((row) => row.map(String))];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  return cells
    .map((row) =>
      row
        .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export const fixed = (value: number | null | undefined, digits = 1) =>
  value === null || value === undefined || Number.isNaN(value) ? '–' : value.toFixed(digits);
export const percent = (share: number | null | undefined) =>
  share === null || share === undefined ? '–' : `${Math.round(share * 100)}%`;
export const count = (value: number) => Math.round(value).toLocaleString('en-US');

export interface TargetCheck {
  target: string;
  measured: string;
  pass: boolean;
}

export const verdict = (pass: boolean) => (pass ? 'PASS' : 'MISS');

interface CoreTicks {
  busy: number;
  steal: number;
  total: number;
}

function coreTicks(): CoreTicks[] {
  try {
    return readFileSync('/proc/stat', 'utf8')
      .split('\n')
      .filter((line) => /^cpu\d+ /.test(line))
      .map((line) => {
        const [user, nice, system, idle, iowait, irq, softirq, steal] = line.split(/\s+/).slice(1, 9).map(Number) as number[];
        return { busy: user! + nice! + system! + irq! + softirq!, steal: steal!, total: user! + nice! + system! + idle! + iowait! + irq! + softirq! + steal! };
      });
  } catch {
    return [];
  }
}

/**
 * Starts watching how busy each core is (from /proc/stat; empty where there
 * is none). The returned function gives, per core, the busy and stolen
 * shares since then: busy minus what our own pinned process used there is
 * foreign work that skews the figures.
 */
export function coreWindow(): () => { busy: number; steal: number }[] {
  const from = coreTicks();
  return () =>
    coreTicks().map((to, core) => {
      const start = from[core];
      const total = start ? to.total - start.total : 0;
      return total > 0 ? { busy: (to.busy - start!.busy) / total, steal: (to.steal - start!.steal) / total } : { busy: 0, steal: 0 };
    });
}
