import { readFileSync } from 'node:fs';

/** The parts of a V8 .cpuprofile (Profiler.stop, --cpu-prof) this summary reads. */
interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    hitCount?: number;
    children?: number[];
  }[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  /** Sampled time, ms (idle included). */
  totalMs: number;
  /** Share of sampled time the thread was idle (waiting on I/O). */
  idle: number;
  /** Where busy time went, by package or source file; shares are of busy time. */
  byOwner: { owner: string; share: number }[];
  /** Functions by self time; shares are of busy time. */
  topFunctions: { fn: string; where: string; share: number }[];
}

const SPECIAL = new Set(['(garbage collector)', '(program)', '(idle)', '(root)']);

/** Who a frame belongs to: an npm package, a project file, Node's internals or V8 itself. */
function ownerOf(url: string, functionName: string): string {
  if (SPECIAL.has(functionName)) return functionName;
  if (url.startsWith('node:')) return 'node (internals)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const parts = url.slice(modules + 'node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const source = /\/(src|test)\/(.*)$/.exec(url);
  if (source) return `${source[1]}/${source[2]}`;
  return url === '' ? '(native)' : url.replace(/^file:\/\//, '');
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) return url.slice(modules + 'node_modules/'.length);
  const source = /\/((src|test)\/.*)$/.exec(url);
  return source ? source[1]! : url.replace(/^file:\/\//, '');
}

/** Self time per function and per owner, from samples and their time deltas (or hit counts). */
export function summarizeProfile(profile: CpuProfile, top = 15): ProfileSummary {
  const selfUs = new Map<number, number>();
  if (profile.samples && profile.timeDeltas) {
    for (let i = 0; i < profile.samples.length; i += 1) {
      const id = profile.samples[i]!;
      selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, profile.timeDeltas[i] ?? 0));
    }
  } else {
    const interval = (profile.endTime - profile.startTime) / Math.max(1, profile.nodes.reduce((n, node) => n + (node.hitCount ?? 0), 0));
    for (const node of profile.nodes) selfUs.set(node.id, (node.hitCount ?? 0) * interval);
  }
  // Native frames (no URL: SQLite, JSON, crypto...) are attributed to the nearest JavaScript caller.
  const parent = new Map<number, number>();
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const callerOf = (id: number) => {
    for (let at = parent.get(id); at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame;
      if (frame.url) return frame;
    }
    return null;
  };
  let total = 0;
  let idle = 0;
  const byFunction = new Map<string, { fn: string; where: string; us: number }>();
  const byOwner = new Map<string, number>();
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (us === 0) continue;
    total += us;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idle += us;
      continue;
    }
    const fn = functionName || '(anonymous)';
    const caller = url || SPECIAL.has(functionName) ? null : callerOf(node.id);
    const where = url
      ? `${shortUrl(url)}:${lineNumber + 1}`
      : caller
        ? `native, called from ${caller.functionName || '(anonymous)'} ${shortUrl(caller.url)}:${caller.lineNumber + 1}`
        : '';
    const key = `${fn} ${where}`;
    const entry = byFunction.get(key) ?? { fn, where, us: 0 };
    entry.us += us;
    byFunction.set(key, entry);
    const owner = caller ? `${ownerOf(caller.url, caller.functionName)} (native)` : ownerOf(url, functionName);
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + us);
  }
  const busy = Math.max(1, total - idle);
  return {
    totalMs: total / 1000,
    idle: total > 0 ? idle / total : 0,
    byOwner: [...byOwner]
      .map(([owner, us]) => ({ owner, share: us / busy }))
      .sort((a, b) => b.share - a.share)
      .slice(0, top),
    topFunctions: [...byFunction.values()]
      .map(({ fn, where, us }) => ({ fn, where, share: us / busy }))
      .sort((a, b) => b.share - a.share)
      .slice(0, top),
  };
}

export function summarizeProfileFile(file: string, top = 15): ProfileSummary {
  return summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, top);
}

/** The summary as indented text lines. */
export function formatProfile(summary: ProfileSummary): string[] {
  const pct = (share: number) => `${(share * 100).toFixed(1).padStart(5)}%`;
  return [
    `  sampled ${summary.totalMs.toFixed(0)} ms, idle ${pct(summary.idle).trim()}; busy time by owner:`,
    ...summary.byOwner.slice(0, 10).map(({ owner, share }) => `    ${pct(share)}  ${owner}`),
    '  top functions by self time (share of busy time):',
    ...summary.topFunctions.map(({ fn, where, share }) => `    ${pct(share)}  ${fn}  ${where}`),
  ];
}

// `tsx test/bench/profile.ts file.cpuprofile…` prints the summary of saved profiles.
if (import.meta.url === `file://${process.argv[1]}`) {
  for (const file of process.argv.slice(2)) {
    console.log(file);
    console.log(formatProfile(summarizeProfileFile(file, 20)).join('\n'));
  }
}
