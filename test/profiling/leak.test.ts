import test from 'ava';
import { runCli } from '../helpers.ts';
import { mkdtempSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findLeakedClasses, parseHeapSnapshot } from '../../src/profiling/snapshot-diff.ts';


const run = (args: string[]) => runCli(args);

test('a scenario that leaks 1 KiB per iteration is a LEAK within 300 iterations, and the leaking class is named', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'agentperf-leak-'));
  const { code, stdout, stderr } = await run(['leak', 'test/fixtures/scenarios/leaky.ts', '--out', out, '--json']);
  t.is(code, 1, stderr);
  const report = JSON.parse(stdout);
  t.is(report.verdict, 'LEAK');
  // 300 iterations: 3 warmup rounds and 12 measured rounds of 20.
  t.is(report.points.at(-1).iterations, 300);
  // About 1 KiB retained per iteration. (Under a loaded machine one late GC can widen the
  // interval; the point estimate and the snapshots stay put.)
  t.true(report.slope.slope > 900 && report.slope.slope < 2000, JSON.stringify(report.slope));
  t.true(report.programBytesPerIteration > 900, String(report.programBytesPerIteration));
  const record = report.leakedClasses.find((c: { className: string }) => c.className === 'LeakyRecord');
  t.truthy(record, JSON.stringify(report.leakedClasses.map((c: { className: string }) => c.className)));
  // 3 rounds of 20 between the baseline and target snapshots: 60 records allocated and kept.
  t.is(record.count, 60);
  t.deepEqual(record.counts, [300, 360, 420]);
  t.true(record.retainerPath.some((step: string) => step.includes('.retained')), record.retainerPath.join(' → '));
  t.deepEqual((await readdir(out)).sort(), ['baseline.heapsnapshot', 'final.heapsnapshot', 'target.heapsnapshot']);
});

test('the orchestrator answering from its cache is CLEAN', async (t) => {
  const { code, stdout, stderr } = await run(['leak', 'cache-hit', '--json']);
  t.is(code, 0, stderr);
  const report = JSON.parse(stdout);
  t.is(report.verdict, 'CLEAN');
  t.true(report.slope.low <= 64, JSON.stringify(report.slope));
  t.is(report.leakedClasses, undefined);
});

test('bad leak input exits 2', async (t) => {
  const unknown = await run(['leak', 'nope']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /AP_ERR_SCENARIO: scenario must be one of/);
  const rounds = await run(['leak', 'cache-hit', '--rounds', '2']);
  t.is(rounds.code, 2);
  t.regex(rounds.stderr, /rounds must be an integer from 3/);
});

/** A three-node heap snapshot in V8's format: root -> holder -> items. */
function snapshot(items: Array<{ id: number; name: string }>): string {
  const strings = ['', '(GC roots)', 'Holder', 'items', ...new Set(items.map((i) => i.name))];
  const nodeFields = ['type', 'name', 'id', 'self_size', 'edge_count', 'trace_node_id', 'detachedness'];
  const nodes: number[] = [9, 1, 1, 0, 1, 0, 0, 3, 2, 3, 32, items.length, 0, 0];
  const edges: number[] = [2, 3, 7];
  items.forEach((item, k) => {
    nodes.push(3, strings.indexOf(item.name), item.id, 40, 0, 0, 0);
    edges.push(1, k, (2 + k) * nodeFields.length);
  });
  return JSON.stringify({
    snapshot: {
      meta: {
        node_fields: nodeFields,
        node_types: [['hidden', 'array', 'string', 'object', 'code', 'closure', 'regexp', 'number', 'native', 'synthetic']],
        edge_fields: ['type', 'name_or_index', 'to_node'],
        edge_types: [['context', 'element', 'property', 'internal', 'hidden', 'shortcut', 'weak']],
      },
    },
    nodes,
    edges,
    strings,
  });
}

test('the snapshot diff keeps classes that grew in both intervals and shows what holds them', (t) => {
  const a = parseHeapSnapshot(snapshot([{ id: 101, name: 'Session' }, { id: 201, name: 'Cached' }]));
  const b = parseHeapSnapshot(snapshot([{ id: 101, name: 'Session' }, { id: 102, name: 'Session' }, { id: 103, name: 'Session' }, { id: 202, name: 'Cached' }]));
  const c = parseHeapSnapshot(snapshot([{ id: 101, name: 'Session' }, { id: 102, name: 'Session' }, { id: 103, name: 'Session' }, { id: 104, name: 'Session' }, { id: 203, name: 'Cached' }]));
  const leaked = findLeakedClasses(a, b, c);
  // Sessions 102 and 103 arrived between a and b and are still there in c; Cached was replaced.
  t.is(leaked.length, 1);
  t.is(leaked[0]!.className, 'Session');
  t.is(leaked[0]!.count, 2);
  t.is(leaked[0]!.bytes, 80);
  t.deepEqual(leaked[0]!.counts, [1, 3, 4]);
  t.deepEqual(leaked[0]!.retainerPath, ['(root).items', 'Holder[1]', 'Session']);
});
