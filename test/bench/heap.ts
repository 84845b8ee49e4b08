import { readFileSync } from 'node:fs';

/** The parts of a V8 .heapsnapshot this summary reads. */
interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

const STRING_TYPES = new Set(['string', 'concatenated string', 'sliced string']);

/** Self size and count per kind of object (constructor name, closure name, or a V8 internal kind). */
export function heapByKind(file: string): Map<string, { bytes: number; count: number }> {
  const snapshot = JSON.parse(readFileSync(file, 'utf8')) as HeapSnapshot;
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const kinds = new Map<string, { bytes: number; count: number }>();
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const type = types[snapshot.nodes[i + typeAt]!]!;
    const name = snapshot.strings[snapshot.nodes[i + nameAt]!]!;
    const kind = STRING_TYPES.has(type)
      ? '(strings)'
      : type === 'object' || type === 'closure' || type === 'native'
        ? `${type === 'object' ? '' : `${type} `}${name.length > 60 ? `${name.slice(0, 57)}...` : name}`
        : `(${type}) ${name.startsWith('(') ? name : ''}`.trim();
    const entry = kinds.get(kind) ?? { bytes: 0, count: 0 };
    entry.bytes += snapshot.nodes[i + sizeAt]!;
    entry.count += 1;
    kinds.set(kind, entry);
  }
  return kinds;
}

export interface HeapGrowth {
  kind: string;
  bytesPerSocket: number;
  countPerSocket: number;
}

/** What the heap gained between two snapshots, per socket opened in between, largest first. */
export function heapGrowth(beforeFile: string, afterFile: string, sockets: number, top = 20): HeapGrowth[] {
  const before = heapByKind(beforeFile);
  const after = heapByKind(afterFile);
  return [...after]
    .map(([kind, { bytes, count }]) => ({
      kind,
      bytesPerSocket: (bytes - (before.get(kind)?.bytes ?? 0)) / sockets,
      countPerSocket: (count - (before.get(kind)?.count ?? 0)) / sockets,
    }))
    .sort((a, b) => b.bytesPerSocket - a.bytesPerSocket)
    .slice(0, top);
}

export function formatHeapGrowth(growth: HeapGrowth[]): string[] {
  const total = growth.reduce((sum, entry) => sum + Math.max(0, entry.bytesPerSocket), 0);
  return [
    `  heap gained per socket by kind (top ${growth.length}, ${(total / 1024).toFixed(1)} KB together):`,
    ...growth.map(
      (entry) =>
        `    ${String(Math.round(entry.bytesPerSocket)).padStart(6)} B  ${entry.countPerSocket.toFixed(1).padStart(6)} ×  ${entry.kind}`,
    ),
  ];
}
