import { findSourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { CpuProfile } from './cpu.js';

/** V8's pseudo-frames: not code of the program, shown apart from it. */
const SPECIAL: Record<string, 'gc' | 'idle' | 'program' | 'root'> = { '(garbage collector)': 'gc', '(idle)': 'idle', '(program)': 'program', '(root)': 'root' };

export interface FunctionCost {
  name: string;
  /** `file:line` in the source the user wrote (TypeScript lines mapped through source maps). */
  location: string;
  selfMs: number;
  totalMs: number;
  selfPct: number;
  totalPct: number;
}

export interface Bottlenecks {
  totalMs: number;
  /** Garbage collection, idle and V8's own (program) time, apart from the functions. */
  gcMs: number;
  idleMs: number;
  programMs: number;
  bySelf: FunctionCost[];
  byTotal: FunctionCost[];
}

/**
 * A frame's place in the original source: generated positions mapped back when a source map
 * exists, and the path relative to `root` (the project's root, so that `src/service.ts:30`
 * reads the same from any directory the command was run in) when the file is under it.
 */
export function sourceLocation(frame: CpuProfile['nodes'][number]['callFrame'], root: string = process.cwd()): string {
  if (!frame.url) return '(native)';
  const line = frame.lineNumber;
  const column = frame.columnNumber;
  try {
    const map = findSourceMap(frame.url) ?? (frame.url.startsWith('file:') ? findSourceMap(fileURLToPath(frame.url)) : undefined);
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- needed: findEntry is typed SourceMapping | {} and tsc cannot read the fields off {}
    const entry = map?.findEntry(line, column) as { originalSource?: string; originalLine?: number } | undefined;
    if (entry?.originalSource !== undefined && entry.originalLine !== undefined) return `${displayPath(entry.originalSource, root)}:${entry.originalLine + 1}`;
  } catch {
    // No map for this script: the generated position is the best there is.
  }
  return `${displayPath(frame.url, root)}:${line + 1}`;
}

function displayPath(url: string, root: string): string {
  const path = url.startsWith('file:') ? fileURLToPath(url) : url;
  const prefix = root.endsWith('/') ? root : `${root}/`;
  return path.startsWith(prefix) ? path.slice(prefix.length) : path;
}

/**
 * Self and total time per function (name and source location), from the samples: self is
 * where a sample landed, total is every function on its stack (counted once per sample even
 * when recursive).
 */
export function findBottlenecks(profile: CpuProfile, top = 15, root?: string): Bottlenecks {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keyOf = new Map<number, string>();
  const info = new Map<string, { name: string; location: string; self: number; total: number }>();
  let gc = 0;
  let idle = 0;
  let program = 0;
  let total = 0;

  const key = (id: number): string | undefined => {
    const cached = keyOf.get(id);
    if (cached !== undefined) return cached;
    const frame = byId.get(id)!.callFrame;
    if (SPECIAL[frame.functionName] && !frame.url) return undefined;
    const location = sourceLocation(frame, root);
    const name = frame.functionName || '(anonymous)';
    const k = `${name} ${location}`;
    keyOf.set(id, k);
    if (!info.has(k)) info.set(k, { name, location, self: 0, total: 0 });
    return k;
  };

  const durations = sampleDurationsUs(profile);
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    const ms = durations[i] / 1000;
    total += ms;
    const special = SPECIAL[byId.get(id)?.callFrame.functionName ?? ''];
    if (special === 'gc') gc += ms;
    else if (special === 'idle') idle += ms;
    else if (special === 'program') program += ms;
    const selfKey = key(id);
    if (selfKey) info.get(selfKey)!.self += ms;
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = key(cur);
      if (k && !seen.has(k)) {
        seen.add(k);
        info.get(k)!.total += ms;
      }
    }
  }
  const costs = [...info.values()].map((f) => ({
    name: f.name,
    location: f.location,
    selfMs: f.self,
    totalMs: f.total,
    selfPct: total ? (100 * f.self) / total : 0,
    totalPct: total ? (100 * f.total) / total : 0,
  }));
  return {
    totalMs: total,
    gcMs: gc,
    idleMs: idle,
    programMs: program,
    bySelf: [...costs].sort((a, b) => b.selfMs - a.selfMs).slice(0, top),
    byTotal: [...costs].sort((a, b) => b.totalMs - a.totalMs).slice(0, top),
  };
}

/**
 * How long each sample stands for, in µs: until the next sample (as Chrome DevTools reads a
 * profile: timeDeltas[i] is the gap before sample i), the last one until the profile's end.
 */
export function sampleDurationsUs(profile: CpuProfile): number[] {
  const n = profile.samples.length;
  const durations = new Array<number>(n);
  let timestamp = profile.startTime;
  for (let i = 0; i < n; i++) {
    timestamp += profile.timeDeltas[i] ?? 0;
    durations[i] = i + 1 < n ? Math.max(0, profile.timeDeltas[i + 1] ?? 0) : Math.max(0, profile.endTime - timestamp);
  }
  return durations;
}

/**
 * Folded stacks (`root;caller;callee count`), the input of flamegraph.pl, inferno and
 * speedscope; counts are samples.
 */
export function foldedStacks(profile: CpuProfile, root?: string): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stackOf = new Map<number, string>();
  const counts = new Map<string, number>();
  for (const id of profile.samples) {
    let stack = stackOf.get(id);
    if (stack === undefined) {
      const frames: string[] = [];
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const frame = byId.get(cur)!.callFrame;
        if (frame.functionName === '(root)') continue;
        frames.push(`${frame.functionName || '(anonymous)'}${frame.url ? ` ${sourceLocation(frame, root)}` : ''}`.replace(/[;\n]/g, '_'));
      }
      stack = frames.reverse().join(';');
      stackOf.set(id, stack);
    }
    counts.set(stack, (counts.get(stack) ?? 0) + 1);
  }
  return [...counts].map(([stack, count]) => `${stack} ${count}`).join('\n') + '\n';
}
