/**
 * What leaks, from three heap snapshots (baseline, target, final) taken a few rounds apart:
 * the memlab idea. Objects allocated between the baseline and the target that are still alive
 * in the final snapshot, grouped by class, keeping the classes whose instance count grew in
 * both intervals; each with one retainer path, so the user sees what holds them. The snapshots
 * are read as streams (snapshot-stream.ts), so a heap of any size is analysed in memory that
 * grows with its number of classes and 2 bytes a node of the final snapshot, never with the file.
 */
import { EdgeCounts, edgePass, firstPass, nodesPass, stringPass } from './snapshot-stream.js';

/**
 * What V8 keeps for the JIT (code, bytecode, feedback, object shapes): it grows for hundreds
 * of iterations while code warms up and tiers up, and is not the program retaining anything.
 * memlab leaves these out of its leak reports too.
 */
export const ENGINE_CLASSES: ReadonlySet<string> = new Set(['(compiled code)', '(system)', '(object shape)']);
/** Node types of V8's own code and metadata: hidden classes (Maps, 'object shape' since V8 11), code, internals. */
const ENGINE_TYPES: ReadonlySet<string> = new Set(['code', 'hidden', 'object shape']);

const TYPE_LABELS: Record<string, string> = {
  string: '(string)',
  'concatenated string': '(string)',
  'sliced string': '(string)',
  array: '(array)',
  closure: '(closure)',
  code: '(compiled code)',
  hidden: '(system)',
  'object shape': '(object shape)',
  number: '(number)',
  regexp: '(regexp)',
  symbol: '(symbol)',
  bigint: '(bigint)',
};
const NAMED_TYPES = new Set(['object', 'native', 'synthetic']);

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

/** One snapshot, summarized: instances and bytes by class, the largest object id, the program's bytes. */
interface Summary {
  counts: Map<string, number>;
  maxId: number;
  /** Self size of every node but V8's JIT code and metadata. */
  programBytes: number;
}

/**
 * A class key while reading nodes, before the strings are known: the name's index for objects
 * (named by their constructor), and minus one minus the type for everything else.
 */
const PROTO = Buffer.from('__proto__');

const keyOf = (typeName: string, type: number, name: number) => (NAMED_TYPES.has(typeName) ? name : -1 - type);

async function summarize(
  file: string,
  extra?: { fromId: number; toId: number; keepEdgeCounts: boolean },
): Promise<{
  summary: Summary;
  leaked: Map<string, { count: number; bytes: number; sample: number }>;
  edgeCounts?: EdgeCounts;
  engineNodes?: Uint8Array;
  protoName: number;
  nameOfKey: (key: number) => string;
  nodeTypes: string[];
  layout: Awaited<ReturnType<typeof firstPass>>;
  strings: Map<number, string>;
}> {
  const byKey = new Map<number, number>();
  const leakedByKey = new Map<number, { count: number; bytes: number; sample: number }>();
  let nodeTypes: string[] = [];
  let maxId = 0;
  let programBytes = 0;
  let edgeCounts: EdgeCounts | undefined;
  let engineNodes: Uint8Array | undefined;
  let protoName = -1;
  const strings = new Map<number, string>();
  const layout = await firstPass(file, {
    onMeta: (meta) => {
      nodeTypes = meta.nodeTypes;
      if (extra?.keepEdgeCounts) {
        edgeCounts = new EdgeCounts(meta.nodeCount);
        engineNodes = new Uint8Array(meta.nodeCount);
      }
    },
    onNode: (node) => {
      const typeName = nodeTypes[node.type];
      const key = keyOf(typeName, node.type, node.name);
      byKey.set(key, (byKey.get(key) ?? 0) + 1);
      // V8's own ids (a counter, in the order objects are first seen); the embedder's native and
      // synthetic nodes carry ids of another kind, and are left out of the largest.
      if (node.id > maxId && typeName !== 'native' && typeName !== 'synthetic') maxId = node.id;
      if (!ENGINE_TYPES.has(typeName)) programBytes += node.selfSize;
      edgeCounts?.set(node.ordinal, node.edgeCount);
      if (engineNodes && ENGINE_TYPES.has(typeName)) engineNodes[node.ordinal] = 1;
      if (extra && node.id > extra.fromId && node.id <= extra.toId) {
        const entry = leakedByKey.get(key) ?? { count: 0, bytes: 0, sample: node.ordinal };
        entry.count++;
        entry.bytes += node.selfSize;
        leakedByKey.set(key, entry);
      }
    },
    wantString: (index, raw) => {
      if (raw.equals(PROTO)) protoName = index;
      return byKey.has(index);
    },
    onString: (index, value) => strings.set(index, value),
  });
  const nameOfKey = (key: number) => (key >= 0 ? (strings.get(key) ?? `(string ${key})`) : (TYPE_LABELS[nodeTypes[-1 - key]] ?? `(${nodeTypes[-1 - key]})`));
  const counts = new Map<string, number>();
  for (const [key, n] of byKey) counts.set(nameOfKey(key), (counts.get(nameOfKey(key)) ?? 0) + n);
  const leaked = new Map<string, { count: number; bytes: number; sample: number }>();
  for (const [key, e] of leakedByKey) {
    const name = nameOfKey(key);
    const into = leaked.get(name);
    if (into) {
      into.count += e.count;
      into.bytes += e.bytes;
    } else leaked.set(name, { ...e });
  }
  return { summary: { counts, maxId, programBytes }, leaked, edgeCounts, engineNodes, protoName, nameOfKey, nodeTypes, layout, strings };
}

export interface SnapshotAnalysis {
  /** The program's classes that grew in both intervals, largest first (at most `top`). */
  leakedClasses: LeakedClass[];
  /** The same for V8's own JIT code and metadata, which do not make a leak. */
  engineClasses: LeakedClass[];
  /** The program's bytes (every node but V8's code and metadata) in each snapshot. */
  programBytes: [number, number, number];
}

/** Analyses the three snapshots (see the top of this file). */
export async function analyzeSnapshots(files: readonly [string, string, string], top = 5): Promise<SnapshotAnalysis> {
  const a = await summarize(files[0]);
  const b = await summarize(files[1]);
  const c = await summarize(files[2], { fromId: a.summary.maxId, toId: b.summary.maxId, keepEdgeCounts: true });
  const grownIn = (name: string) =>
    (b.summary.counts.get(name) ?? 0) > (a.summary.counts.get(name) ?? 0) && (c.summary.counts.get(name) ?? 0) > (b.summary.counts.get(name) ?? 0);
  const grown = [...c.leaked].filter(([name]) => grownIn(name)).sort((x, y) => y[1].bytes - x[1].bytes);
  const program = grown.filter(([name]) => !ENGINE_CLASSES.has(name)).slice(0, top);
  const engine = grown.filter(([name]) => ENGINE_CLASSES.has(name));
  const paths = await retainerPaths(
    files[2],
    c,
    program.map(([, e]) => e.sample),
  );
  const describe = ([className, e]: [string, { count: number; bytes: number; sample: number }], path: string[]): LeakedClass => ({
    className,
    count: e.count,
    bytes: e.bytes,
    counts: [a.summary.counts.get(className) ?? 0, b.summary.counts.get(className) ?? 0, c.summary.counts.get(className) ?? 0],
    retainerPath: path,
  });
  return {
    leakedClasses: program.map((entry, i) => describe(entry, paths[i])),
    engineClasses: engine.map((entry) => describe(entry, [])),
    programBytes: [a.summary.programBytes, b.summary.programBytes, c.summary.programBytes],
  };
}

/**
 * At most this many passes over the edges (one per step of a path), and nodes a search
 * remembers: what keeps the search's memory bounded on any heap.
 */
const MAX_DEPTH = 16;
const MAX_VISITED = 200_000;

/**
 * For each target node, a chain of strong references from the root (node 0) to it: a
 * breadth-first search backwards, one pass over the edges per step, all targets at once.
 *
 * The search does not step back from a prototype to the objects that have it (`__proto__`), nor
 * through V8's own code and metadata: every instance refers to its prototype and to its hidden
 * class (Map), so one step back from either reaches every object of the class (1.5 million in a
 * 450 MB heap) and exhausts the search before it reaches a root. No path a developer would
 * follow runs through them.
 */
async function retainerPaths(file: string, snap: Awaited<ReturnType<typeof summarize>>, targets: number[]): Promise<string[][]> {
  if (targets.length === 0) return [];
  const { layout, edgeCounts, engineNodes, protoName, nameOfKey, nodeTypes } = snap;
  const weak = new Set(['weak', 'shortcut'].map((t) => layout.meta.edgeTypes.indexOf(t)));
  const property = layout.meta.edgeTypes.indexOf('property');
  const searches = targets.map((target) => ({
    target,
    frontier: new Set([target]),
    previous: new Map<number, { node: number; type: number; name: number }>([[target, { node: -1, type: -1, name: -1 }]]),
    done: target === 0,
  }));
  for (let depth = 0; depth < MAX_DEPTH && searches.some((s) => !s.done); depth++) {
    const next = searches.map(() => new Set<number>());
    await edgePass(file, layout, edgeCounts!, (from, type, nameOrIndex, to) => {
      if (weak.has(type) || engineNodes![from] || (type === property && nameOrIndex === protoName)) return;
      searches.forEach((s, i) => {
        if (s.done || !s.frontier.has(to) || s.previous.has(from) || s.previous.size >= MAX_VISITED) return;
        s.previous.set(from, { node: to, type, name: nameOrIndex });
        next[i].add(from);
      });
    });
    searches.forEach((s, i) => {
      if (s.done) return;
      if (s.previous.has(0) || next[i].size === 0 || s.previous.size >= MAX_VISITED) s.done = true;
      s.frontier = next[i]!;
    });
  }
  // The labels: classes of the nodes on the paths, and the names of the property edges.
  const edgeTypes = layout.meta.edgeTypes;
  const named = (type: number) => edgeTypes[type] !== 'element' && edgeTypes[type] !== 'hidden';
  const wanted = new Set<number>();
  const onPaths = new Set<number>(targets);
  for (const s of searches) {
    if (!s.previous.has(0)) continue;
    for (let node = 0; node !== s.target;) {
      const step = s.previous.get(node)!;
      if (named(step.type)) wanted.add(step.name);
      onPaths.add(node);
      node = step.node;
    }
  }
  // The classes of the nodes on the paths: one more pass over the nodes, keeping only those.
  const nodes = await nodesPass(file, onPaths);
  const names = await stringPass(file, layout, wanted);
  const classOf = (node: number) => {
    const record = nodes.get(node)!;
    return nameOfKey(keyOf(nodeTypes[record.type], record.type, record.name));
  };
  return searches.map((s) => {
    if (!s.previous.has(0)) return [classOf(s.target), '(no path from a GC root found)'];
    const path: string[] = [];
    for (let node = 0; node !== s.target;) {
      const step = s.previous.get(node)!;
      const label = named(step.type) ? `.${names.get(step.name) ?? step.name}` : `[${step.name}]`;
      path.push(`${node === 0 ? '(root)' : classOf(node)}${label}`);
      node = step.node;
    }
    path.push(classOf(s.target));
    return path;
  });
}
