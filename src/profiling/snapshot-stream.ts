/**
 * V8 heap snapshots (`.heapsnapshot`) read as a stream, never as one string: a 1 GB heap
 * writes a file of several GB, far past the longest string V8 can hold (reading one whole is
 * what failed with "Invalid string length"). The file is V8's fixed layout, `{"snapshot":{meta},
 * "nodes":[...],"edges":[...], ...,"strings":[...]}`; the nodes and edges are integers read one
 * at a time, and only what the leak report needs is kept:
 *
 * - per class (constructor or kind), instances and bytes, and the largest object id: a few
 *   entries per class, whatever the heap's size;
 * - for the final snapshot, each node's edge count (16 bits, the rare larger counts apart), so
 *   that retainer paths can be found by reading the edges again, level by level, without holding
 *   them: 2 bytes a node, against some 35 of heap for the node.
 *
 * Objects are told apart by id: V8 gives each new object a higher id, so an object with an id
 * above the baseline's largest and at most the target's largest was allocated between the two.
 */
import { createReadStream } from 'node:fs';

interface Meta {
  nodeFields: string[];
  edgeFields: string[];
  nodeTypes: string[];
  edgeTypes: string[];
  nodeCount: number;
  edgeCount: number;
}

/** Byte offsets of the sections, found on the first pass, so later passes read only what they need. */
interface Layout {
  meta: Meta;
  edgesStart: number;
  stringsStart: number;
}

const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** How much of a file is read at a time: 1 MiB (tests set it small to cross every boundary). */
let chunkBytes = 1 << 20;
export function setSnapshotChunkBytes(bytes: number): void {
  chunkBytes = bytes;
}

/** Reads `file` from `start` in chunks, stopping when `consume` returns false. */
async function readFrom(file: string, start: number, consume: (chunk: Buffer, offset: number) => boolean): Promise<void> {
  const stream = createReadStream(file, { start, highWaterMark: chunkBytes });
  let offset = start;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (!consume(chunk, offset)) break;
      offset += chunk.length;
    }
  } finally {
    stream.destroy();
  }
}

/**
 * A tokenizer for one section of integers (`[1,2,3,...]` after its key): hands each number to
 * `onNumber` and returns how far it read, or -1 while the section goes on into the next chunk.
 */
/** A section's array: everything up to its opening bracket is skipped, once. */
abstract class ArrayReader {
  private started = false;

  /** Where the array's contents start in `chunk` (from `from`), or -1 while its bracket is still ahead. */
  protected skipOpening(chunk: Buffer, from: number): number {
    if (this.started) return from;
    const open = chunk.indexOf(OPEN_BRACKET, from);
    if (open < 0) return -1;
    this.started = true;
    return open + 1;
  }
}

class IntegerArrayReader extends ArrayReader {
  private value = 0;
  private inNumber = false;

  constructor(private readonly onNumber: (n: number) => void) {
    super();
  }

  /** Feeds bytes from `from`; returns the index just past the closing bracket, or -1. */
  feed(chunk: Buffer, from: number): number {
    let i = this.skipOpening(chunk, from);
    if (i < 0) return -1;
    let value = this.value;
    let inNumber = this.inNumber;
    for (; i < chunk.length; i++) {
      const c = chunk[i];
      if (c >= 0x30 && c <= 0x39) {
        value = value * 10 + (c - 0x30);
        inNumber = true;
      } else {
        if (inNumber) {
          this.onNumber(value);
          value = 0;
          inNumber = false;
        }
        if (c === CLOSE_BRACKET) {
          this.value = 0;
          this.inNumber = false;
          return i + 1;
        }
      }
    }
    this.value = value;
    this.inNumber = inNumber;
    return -1;
  }
}

/** A tokenizer for the strings section: hands each string (decoded) and its index to `onString`. */
class StringArrayReader extends ArrayReader {
  private index = 0;
  private parts: Buffer[] = [];
  private inString = false;
  private escaped = false;

  constructor(private readonly onString: (index: number, value: () => string, raw: Buffer) => void) {
    super();
  }

  feed(chunk: Buffer, from: number): number {
    let i = this.skipOpening(chunk, from);
    if (i < 0) return -1;
    let start = this.inString ? i : -1;
    for (; i < chunk.length; i++) {
      const c = chunk[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) {
          this.parts.push(chunk.subarray(start, i));
          const raw = Buffer.concat(this.parts);
          this.parts = [];
          this.inString = false;
          // Decoded only when wanted: JSON.parse of the quoted token handles every escape.
          this.onString(this.index++, () => JSON.parse(`"${raw.toString('utf8')}"`) as string, raw);
        }
      } else if (c === QUOTE) {
        this.inString = true;
        start = i + 1;
      } else if (c === CLOSE_BRACKET) {
        return i + 1;
      }
    }
    if (this.inString) this.parts.push(chunk.subarray(start));
    return -1;
  }
}

/** Finds a key (`"nodes":`) in the stream, across chunk boundaries; returns the offset just past it. */
function keyFinder(key: string): (chunk: Buffer, from: number) => number {
  const needle = Buffer.from(`"${key}":`);
  let carry: Buffer = Buffer.alloc(0);
  return (chunk, from) => {
    const view: Buffer = carry.length ? Buffer.concat([carry, chunk.subarray(from)]) : chunk.subarray(from);
    const at = view.indexOf(needle);
    if (at < 0) {
      carry = view.subarray(Math.max(0, view.length - needle.length));
      return -1;
    }
    const past = at + needle.length - carry.length + from;
    carry = Buffer.alloc(0);
    return past;
  };
}

export interface NodeRecord {
  ordinal: number;
  type: number;
  name: number;
  id: number;
  selfSize: number;
  edgeCount: number;
}

export interface FirstPass {
  onMeta?(meta: Meta): void;
  onNode: (node: NodeRecord) => void;
  /** Which strings to decode (asked after every node has been seen: strings come last), given the string's raw JSON bytes. */
  wantString(index: number, raw: Buffer): boolean;
  onString(index: number, value: string): void;
}

/**
 * The first pass over a snapshot: its meta, every node, the strings wanted. Edges are skipped
 * (their section holds only integers and commas, so its end is the next closing bracket).
 */
export async function firstPass(file: string, callbacks: FirstPass): Promise<Layout> {
  let headerText = '';
  let meta: Meta | undefined;
  let state = 'header' as 'header' | 'nodes' | 'find-edges' | 'edges' | 'find-strings' | 'strings' | 'done';
  let edgesStart = -1;
  let stringsStart = -1;
  const findNodes = keyFinder('nodes');
  const findEdges = keyFinder('edges');
  const findStrings = keyFinder('strings');
  let nodesReader: IntegerArrayReader | undefined;
  let edgesOpened = false;
  const stringsReader = new StringArrayReader((index, value, raw) => {
    if (callbacks.wantString(index, raw)) callbacks.onString(index, value());
  });

  await readFrom(file, 0, (chunk, offset) => {
    let i = 0;
    while (i < chunk.length && state !== 'done') {
      if (state === 'header') {
        const past = findNodes(chunk, i);
        if (past < 0) {
          headerText += chunk.subarray(i).toString('latin1');
          if (headerText.length > 1 << 20) throw new SnapshotFormatError(file, 'no "nodes" section in its first megabyte');
          return true;
        }
        headerText += chunk.subarray(i, past).toString('latin1');
        meta = parseHeader(file, headerText);
        callbacks.onMeta?.(meta);
        nodesReader = nodeReader(meta, callbacks.onNode);
        state = 'nodes';
        i = past;
      } else if (state === 'nodes') {
        const past = nodesReader!.feed(chunk, i);
        if (past < 0) return true;
        state = 'find-edges';
        i = past;
      } else if (state === 'find-edges') {
        const past = findEdges(chunk, i);
        if (past < 0) return true;
        edgesStart = offset + past;
        state = 'edges';
        i = past;
      } else if (state === 'edges') {
        if (!edgesOpened) {
          const open = chunk.indexOf(OPEN_BRACKET, i);
          if (open < 0) return true;
          edgesOpened = true;
          i = open + 1;
        }
        const end = chunk.indexOf(CLOSE_BRACKET, i);
        if (end < 0) return true;
        state = 'find-strings';
        i = end + 1;
      } else if (state === 'find-strings') {
        const past = findStrings(chunk, i);
        if (past < 0) return true;
        stringsStart = offset + past;
        state = 'strings';
        i = past;
      } else {
        const past = stringsReader.feed(chunk, i);
        if (past < 0) return true;
        state = 'done';
      }
    }
    return state !== 'done';
  });
  if (!meta || state !== 'done') throw new SnapshotFormatError(file, `it ends inside its ${state} section`);
  return { meta, edgesStart, stringsStart };
}

/** A file that is not a whole V8 heap snapshot. */
export class SnapshotFormatError extends Error {
  constructor(file: string, why: string) {
    super(`${file} is not a whole V8 heap snapshot: ${why}`);
  }
}

function parseHeader(file: string, text: string): Meta {
  const json = text.slice(0, text.lastIndexOf('"nodes":')).replace(/,\s*$/, '');
  let raw: {
    snapshot: {
      meta: { node_fields: string[]; edge_fields: string[]; node_types: [string[]]; edge_types: [string[]] };
      node_count: number;
      edge_count: number;
    };
  };
  try {
    raw = JSON.parse(`${json}}`) as typeof raw;
  } catch (error) {
    throw new SnapshotFormatError(file, `its header does not parse (${(error as Error).message})`);
  }
  const m = raw.snapshot?.meta;
  if (!m || !Number.isInteger(raw.snapshot.node_count) || !Number.isInteger(raw.snapshot.edge_count))
    throw new SnapshotFormatError(file, 'its header has no meta, node_count and edge_count');
  return {
    nodeFields: m.node_fields,
    edgeFields: m.edge_fields,
    nodeTypes: m.node_types[0],
    edgeTypes: m.edge_types[0],
    nodeCount: raw.snapshot.node_count,
    edgeCount: raw.snapshot.edge_count,
  };
}

function nodeReader(meta: Meta, onNode: (node: NodeRecord) => void): IntegerArrayReader {
  const f = {
    type: meta.nodeFields.indexOf('type'),
    name: meta.nodeFields.indexOf('name'),
    id: meta.nodeFields.indexOf('id'),
    selfSize: meta.nodeFields.indexOf('self_size'),
    edgeCount: meta.nodeFields.indexOf('edge_count'),
  };
  const width = meta.nodeFields.length;
  const record = new Array<number>(width).fill(0);
  const node: NodeRecord = { ordinal: 0, type: 0, name: 0, id: 0, selfSize: 0, edgeCount: 0 };
  let field = 0;
  let ordinal = 0;
  return new IntegerArrayReader((n) => {
    record[field++] = n;
    if (field < width) return;
    field = 0;
    // One record object reused for every node: the callback copies what it keeps.
    node.ordinal = ordinal++;
    node.type = record[f.type]!;
    node.name = record[f.name]!;
    node.id = record[f.id]!;
    node.selfSize = record[f.selfSize]!;
    node.edgeCount = record[f.edgeCount]!;
    onNode(node);
  });
}

/** Each node's edge count in 2 bytes; the few counts that do not fit, kept apart. */
export class EdgeCounts {
  private readonly small: Uint16Array;
  private readonly large = new Map<number, number>();

  constructor(readonly length: number) {
    this.small = new Uint16Array(length);
  }

  set(node: number, count: number): void {
    if (count < 0xffff) this.small[node] = count;
    else {
      this.small[node] = 0xffff;
      this.large.set(node, count);
    }
  }

  get(node: number): number {
    const v = this.small[node];
    return v === 0xffff ? this.large.get(node)! : v;
  }
}

/**
 * A pass over the edges alone, from where the first pass found them: each edge with the node
 * it leaves (from the nodes' edge counts, kept from the first pass) and the node it reaches.
 * `onEdge` returns false to stop early.
 */
export async function edgePass(
  file: string,
  layout: Layout,
  edgeCounts: EdgeCounts,
  onEdge: (from: number, type: number, nameOrIndex: number, to: number) => boolean | void,
): Promise<void> {
  const { meta } = layout;
  const width = meta.edgeFields.length;
  const ef = { type: meta.edgeFields.indexOf('type'), name: meta.edgeFields.indexOf('name_or_index'), to: meta.edgeFields.indexOf('to_node') };
  const nodeWidth = meta.nodeFields.length;
  const record = new Array<number>(width).fill(0);
  let k = 0;
  let owner = 0;
  let left = edgeCounts.length > 0 ? edgeCounts.get(0) : 0;
  let stop = false;
  const reader = new IntegerArrayReader((n) => {
    record[k++] = n;
    if (k < width) return;
    k = 0;
    while (left === 0 && owner < edgeCounts.length - 1) left = edgeCounts.get(++owner);
    left--;
    if (onEdge(owner, record[ef.type], record[ef.name], record[ef.to] / nodeWidth) === false) stop = true;
  });
  await readFrom(file, layout.edgesStart, (chunk) => !stop && reader.feed(chunk, 0) < 0);
}

/** The nodes at these ordinals (a pass over the nodes, keeping only those). */
export async function nodesPass(file: string, wanted: ReadonlySet<number>): Promise<Map<number, NodeRecord>> {
  const out = new Map<number, NodeRecord>();
  let meta: Meta | undefined;
  const findNodes = keyFinder('nodes');
  let header = '';
  let reader: IntegerArrayReader | undefined;
  await readFrom(file, 0, (chunk) => {
    let i = 0;
    if (!reader) {
      const past = findNodes(chunk, 0);
      if (past < 0) {
        header += chunk.toString('latin1');
        return true;
      }
      header += chunk.subarray(0, past).toString('latin1');
      meta = parseHeader(file, header);
      reader = nodeReader(meta, (node) => {
        if (wanted.has(node.ordinal)) out.set(node.ordinal, { ...node });
      });
      i = past;
    }
    return reader.feed(chunk, i) < 0 && out.size < wanted.size;
  });
  return out;
}

/** The strings at these indices, read from where the first pass found the strings. */
export async function stringPass(file: string, layout: Layout, wanted: ReadonlySet<number>): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  const reader = new StringArrayReader((index, value) => {
    if (wanted.has(index)) out.set(index, value());
  });
  if (wanted.size === 0) return out;
  await readFrom(file, layout.stringsStart, (chunk) => reader.feed(chunk, 0) < 0 && out.size < wanted.size);
  return out;
}
