import { readFile } from 'node:fs/promises';

/**
 * Just enough of V8's `.heapsnapshot` format to say what leaks: the flat node and edge arrays
 * and the string table, read through the field lists in `snapshot.meta`.
 */
export interface HeapSnapshot {
  nodes: number[];
  edges: number[];
  strings: string[];
  nodeFieldCount: number;
  edgeFieldCount: number;
  nodeTypes: string[];
  edgeTypes: string[];
  /** Offsets of the node fields this reads. */
  f: { type: number; name: number; id: number; selfSize: number; edgeCount: number; edgeType: number; edgeName: number; edgeTo: number };
  /** Index into `edges` (in fields) of each node's first edge. */
  firstEdge: Uint32Array;
}

interface RawSnapshot {
  snapshot: { meta: { node_fields: string[]; edge_fields: string[]; node_types: [string[]]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

export function parseHeapSnapshot(text: string): HeapSnapshot {
  const raw = JSON.parse(text) as RawSnapshot;
  const meta = raw.snapshot.meta;
  const nf = meta.node_fields;
  const ef = meta.edge_fields;
  const f = {
    type: nf.indexOf('type'),
    name: nf.indexOf('name'),
    id: nf.indexOf('id'),
    selfSize: nf.indexOf('self_size'),
    edgeCount: nf.indexOf('edge_count'),
    edgeType: ef.indexOf('type'),
    edgeName: ef.indexOf('name_or_index'),
    edgeTo: ef.indexOf('to_node'),
  };
  const nodeCount = raw.nodes.length / nf.length;
  const firstEdge = new Uint32Array(nodeCount);
  let edgeIndex = 0;
  for (let i = 0; i < nodeCount; i++) {
    firstEdge[i] = edgeIndex;
    edgeIndex += raw.nodes[i * nf.length + f.edgeCount]! * ef.length;
  }
  return { nodes: raw.nodes, edges: raw.edges, strings: raw.strings, nodeFieldCount: nf.length, edgeFieldCount: ef.length, nodeTypes: meta.node_types[0], edgeTypes: meta.edge_types[0], f, firstEdge };
}

export async function readHeapSnapshot(file: string): Promise<HeapSnapshot> {
  return parseHeapSnapshot(await readFile(file, 'utf8'));
}

const TYPE_LABELS: Record<string, string> = { string: '(string)', 'concatenated string': '(string)', 'sliced string': '(string)', array: '(array)', closure: '(closure)', code: '(compiled code)', hidden: '(system)', number: '(number)', regexp: '(regexp)', symbol: '(symbol)', bigint: '(bigint)' };

/** What DevTools' summary view groups a node under: the constructor for objects, a kind otherwise. */
export function classOf(s: HeapSnapshot, node: number): string {
  const base = node * s.nodeFieldCount;
  const type = s.nodeTypes[s.nodes[base + s.f.type]!]!;
  if (type === 'object' || type === 'native' || type === 'synthetic') return s.strings[s.nodes[base + s.f.name]!]!;
  return TYPE_LABELS[type] ?? `(${type})`;
}

function nodeCount(s: HeapSnapshot): number {
  return s.nodes.length / s.nodeFieldCount;
}

function idsOf(s: HeapSnapshot): Set<number> {
  const ids = new Set<number>();
  for (let i = 0; i < nodeCount(s); i++) ids.add(s.nodes[i * s.nodeFieldCount + s.f.id]!);
  return ids;
}

/** Bytes of the program's objects in a snapshot: every node's self size but V8's JIT code and metadata. */
export function programBytes(s: HeapSnapshot): number {
  let bytes = 0;
  for (let i = 0; i < nodeCount(s); i++) if (!ENGINE_CLASSES.has(classOf(s, i))) bytes += s.nodes[i * s.nodeFieldCount + s.f.selfSize]!;
  return bytes;
}

export interface LeakedClass {
  className: string;
  /** Objects allocated between the baseline and the target snapshots still alive in the final one. */
  count: number;
  bytes: number;
  /** Instances in the baseline, target and final snapshots: a class that leaks grows in both intervals. */
  counts: [number, number, number];
  /** One leaked object's chain of retainers, from a GC root to it. */
  retainerPath: string[];
}

function countsByClass(s: HeapSnapshot): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < nodeCount(s); i++) {
    const c = classOf(s, i);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  return counts;
}

/**
 * The memlab idea: objects allocated between the baseline and the target snapshots that are
 * still alive in the final one, grouped by class, keeping the classes whose instance count
 * grew in both intervals; each with one retainer path, so the user sees what holds them.
 */
/**
 * What V8 keeps for the JIT (code, bytecode, feedback, object shapes): it grows for hundreds
 * of iterations while code warms up and tiers up, and is not the program retaining anything.
 * memlab leaves these out of its leak reports too.
 */
export const ENGINE_CLASSES: ReadonlySet<string> = new Set(['(compiled code)', '(system)']);

export function findLeakedClasses(baseline: HeapSnapshot, target: HeapSnapshot, final: HeapSnapshot, top = 5): LeakedClass[] {
  const inBaseline = idsOf(baseline);
  const inTarget = idsOf(target);
  const countsA = countsByClass(baseline);
  const countsB = countsByClass(target);
  const countsC = countsByClass(final);
  const leaked = new Map<string, { count: number; bytes: number; sample: number }>();
  for (let i = 0; i < nodeCount(final); i++) {
    const base = i * final.nodeFieldCount;
    const id = final.nodes[base + final.f.id]!;
    if (inBaseline.has(id) || !inTarget.has(id)) continue;
    const c = classOf(final, i);
    const entry = leaked.get(c) ?? { count: 0, bytes: 0, sample: i };
    entry.count++;
    entry.bytes += final.nodes[base + final.f.selfSize]!;
    leaked.set(c, entry);
  }
  const grown = [...leaked]
    .filter(([c]) => (countsB.get(c) ?? 0) > (countsA.get(c) ?? 0) && (countsC.get(c) ?? 0) > (countsB.get(c) ?? 0))
    .sort((a, b) => b[1].bytes - a[1].bytes)
    .slice(0, top);
  const retainers = grown.length ? retainersOf(final) : undefined;
  return grown.map(([className, e]) => ({
    className,
    count: e.count,
    bytes: e.bytes,
    counts: [countsA.get(className) ?? 0, countsB.get(className) ?? 0, countsC.get(className) ?? 0],
    retainerPath: retainerPath(final, retainers!, e.sample),
  }));
}

interface Retainers {
  /** For each node, its retainers as (node, edge) pairs, flattened: CSR offsets and values. */
  offsets: Uint32Array;
  from: Uint32Array;
  edge: Uint32Array;
}

function retainersOf(s: HeapSnapshot): Retainers {
  const n = nodeCount(s);
  const counts = new Uint32Array(n + 1);
  const edgeCount = s.edges.length / s.edgeFieldCount;
  for (let e = 0; e < edgeCount; e++) counts[s.edges[e * s.edgeFieldCount + s.f.edgeTo]! / s.nodeFieldCount + 1]!++;
  for (let i = 1; i <= n; i++) counts[i]! += counts[i - 1]!;
  const offsets = counts.slice();
  const fill = counts.slice();
  const from = new Uint32Array(edgeCount);
  const edge = new Uint32Array(edgeCount);
  for (let node = 0; node < n; node++) {
    const start = s.firstEdge[node]!;
    const end = node + 1 < n ? s.firstEdge[node + 1]! : s.edges.length;
    for (let e = start; e < end; e += s.edgeFieldCount) {
      const to = s.edges[e + s.f.edgeTo]! / s.nodeFieldCount;
      const slot = fill[to]!++;
      from[slot] = node;
      edge[slot] = e;
    }
  }
  return { offsets, from, edge };
}

function edgeLabel(s: HeapSnapshot, e: number): string {
  const type = s.edgeTypes[s.edges[e + s.f.edgeType]!]!;
  const nameOrIndex = s.edges[e + s.f.edgeName]!;
  if (type === 'element' || type === 'hidden') return `[${nameOrIndex}]`;
  return `.${s.strings[nameOrIndex]}`;
}

/** The shortest chain of strong references from the root (node 0) to `target`, as labels. */
function retainerPath(s: HeapSnapshot, r: Retainers, target: number): string[] {
  const previous = new Map<number, { node: number; edge: number }>();
  const queue = [target];
  previous.set(target, { node: -1, edge: -1 });
  for (let head = 0; head < queue.length && head < 200_000; head++) {
    const node = queue[head]!;
    if (node === 0) break;
    for (let k = r.offsets[node]!; k < r.offsets[node + 1]!; k++) {
      const e = r.edge[k]!;
      const type = s.edgeTypes[s.edges[e + s.f.edgeType]!];
      if (type === 'weak' || type === 'shortcut') continue;
      const from = r.from[k]!;
      if (previous.has(from)) continue;
      previous.set(from, { node, edge: e });
      queue.push(from);
    }
  }
  if (!previous.has(0)) return [classOf(s, target), '(no path from a GC root found)'];
  const path: string[] = [];
  for (let node = 0; node !== target; ) {
    const step = previous.get(node)!;
    path.push(`${node === 0 ? '(root)' : classOf(s, node)}${edgeLabel(s, step.edge)}`);
    node = step.node;
  }
  path.push(classOf(s, target));
  return path;
}
