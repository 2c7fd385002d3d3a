// Baselines are input like any other: hand-edited, truncated, planted. Each hostile file below is
// refused by the gate with AP_ERR_BASELINE (exit 2) naming the file and the field, before any
// block runs; files that are not baselines are passed over with a note.
import test from 'ava';
import { openSync, writeSync, closeSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BASELINE_SCHEMA, MAX_BASELINE_BYTES, type Baseline } from '../../src/config/baseline.ts';
import { DEFAULT_POLICY } from '../../src/config/policy.ts';
import { missingBaselineError, readBaselineSet, writeBaseline } from '../../src/gate/baseline.ts';
import { currentFingerprint, fingerprintId } from '../../src/gate/fingerprint.ts';
import type { BlockResult } from '../../src/measure/block.ts';
import { removeTemporaryDirs, runCli, temporaryDir } from '../helpers.ts';

test.after.always(removeTemporaryDirs);

const block = (i: number): BlockResult => ({
  p50Ms: 40 + i,
  p95Ms: 120,
  p99Ms: 200,
  throughput: 400,
  completed: 1000,
  errors: 0,
  peakRssBytes: 2e8,
  heapAfterGcBytes: 3e7,
  cpuUsPerIteration: 900,
  busyUsPerIteration: 500,
  busySource: 'thread-cpu',
});

function baseline(overrides: Partial<Baseline> = {}): Baseline {
  return {
    schema: BASELINE_SCHEMA,
    scenario: 'mixed',
    fingerprint: currentFingerprint(),
    calibration: { threads: 2, samples: [10, 10.2, 9.9] },
    createdAt: '2026-12-01T00:00:00.000Z',
    spec: { scenario: 'mixed', settings: {}, vus: 20, warmupMs: 1000, durationMs: 2000, seed: 1 },
    blocks: [block(0), block(1), block(2)],
    policy: DEFAULT_POLICY,
    ...overrides,
  };
}

/** The baselines directory a gate on this machine reads `mixed` from, holding one file with `content`. */
async function planted(content: string | ((file: string) => void)): Promise<{ dir: string; file: string }> {
  const dir = temporaryDir('agentperf-hostile-');
  const file = join(dir, `mixed.${fingerprintId(currentFingerprint())}.json`);
  if (typeof content === 'string') await writeFile(file, content);
  else content(file);
  return { dir, file };
}

const valid = () => JSON.parse(JSON.stringify(baseline())) as Record<string, unknown>;

const HOSTILE: Array<[string, () => Promise<{ dir: string; file: string }>, RegExp]> = [
  ['calibration: null', () => planted(JSON.stringify({ ...valid(), calibration: null })), /: calibration must be an object|: calibration .*got null/],
  ['blocks: "x"', () => planted(JSON.stringify({ ...valid(), blocks: 'x' })), /: blocks .*got "x"/],
  [
    'errors: 1e9 with completed: 1',
    () => planted(JSON.stringify({ ...valid(), blocks: [{ ...block(0), errors: 1e9, completed: 1 }, block(1)] })),
    /: blocks\[0\]\.errors must be at most completed/,
  ],
  ['a negative latency', () => planted(JSON.stringify({ ...valid(), blocks: [{ ...block(0), p50Ms: -5 }, block(1)] })), /: blocks\[0\]\.p50Ms /],
  ['600 blocks, over the bound', () => planted(JSON.stringify({ ...valid(), blocks: Array.from({ length: 600 }, (_, i) => block(i)) })), /: blocks .*500/],
  [
    '600,000 blocks (169 MB)',
    () =>
      planted((file) => {
        const fd = openSync(file, 'w');
        const head = JSON.stringify({ ...valid(), blocks: [] }).replace('"blocks":[]', '"blocks":[');
        writeSync(fd, head);
        const one = JSON.stringify(block(0));
        const chunk = Array.from({ length: 10_000 }, () => one).join(',');
        for (let i = 0; i < 60; i++) writeSync(fd, (i ? ',' : '') + chunk);
        writeSync(fd, ']}');
        closeSync(fd);
      }),
    new RegExp(`a baseline must be at most ${MAX_BASELINE_BYTES / 2 ** 20} MiB, got 1\\d\\d\\.\\d MiB: not read`),
  ],
  [
    'nested 100,000 deep',
    () => planted(`{"schema":"${BASELINE_SCHEMA}","blocks":${'['.repeat(100_000)}${']'.repeat(100_000)}}`),
    /a baseline must be nested at most 64 deep/,
  ],
  [
    'a __proto__ key',
    () => planted(JSON.stringify(valid()).replace('"spec":{', '"spec":{"__proto__":{"polluted":true},')),
    /: __proto__ is not allowed as a key anywhere in a baseline/,
  ],
  [
    'a constructor key at the top',
    () => planted(JSON.stringify({ constructor: { prototype: {} }, ...valid() })),
    /: (constructor|prototype) is not allowed as a key anywhere in a baseline/,
  ],
  ['not JSON (truncated)', () => planted(JSON.stringify(valid()).slice(0, 200)), /a baseline must be valid JSON/],
  [
    'an older format',
    () => planted(JSON.stringify({ schema: 'agentperf.baseline/v2', scenario: 'mixed' })),
    /recorded in an older format \(agentperf\.baseline\/v2; this agentperf reads agentperf\.baseline\/v3\)/,
  ],
  [
    'a file named for another scenario',
    () => planted(JSON.stringify({ ...valid(), scenario: 'cache-hit', spec: { ...(valid().spec as object), scenario: 'cache-hit' } })),
    /scenario: the file is named for scenario mixed but its scenario field says "cache-hit"|named for scenario mixed/,
  ],
];

for (const [what, make, message] of HOSTILE) {
  test(`a hostile baseline (${what}) is refused before any block runs: exit 2, AP_ERR_BASELINE naming the file and the field`, async (t) => {
    const { dir, file } = await make();
    const started = performance.now();
    const result = await runCli(['gate', '--baselines', dir], { timeoutMs: 60_000 });
    const elapsedMs = performance.now() - started;
    t.log(`${what}: exit ${result.code} in ${elapsedMs.toFixed(0)} ms`);
    t.is(result.code, 2, result.stderr);
    t.true(result.stderr.startsWith(`agentperf: AP_ERR_BASELINE: ${file}: `), result.stderr);
    t.regex(result.stderr, message);
    t.is(result.stderr.trim().split('\n').length, 1, 'one line, no stack');
    t.notRegex(result.stdout, /PASS|FAIL/);
    // Not a speed target: a guard against the hang (the exact Mann-Whitney count of a huge baseline ran for minutes).
    t.true(elapsedMs < 15_000, `${elapsedMs} ms`);
  });
}

test('a file that is not a baseline is passed over with a note, and does not block the baselines beside it', async (t) => {
  const dir = temporaryDir('agentperf-notes-');
  const file = await writeBaseline(dir, baseline());
  await writeFile(join(dir, 'notes.json'), 'these are my notes, not JSON');
  await writeFile(join(dir, 'README.md'), '# baselines');
  const set = await readBaselineSet(dir, currentFingerprint());
  t.is(set.baselines.length, 1);
  t.is(set.baselines[0].file, file);
  t.regex(set.baselines[0].sha256, /^[0-9a-f]{64}$/);
  t.deepEqual(set.notes, ['notes.json is not named like a baseline (<scenario>.<class-id>.json): passed over']);
  const shown = await runCli(['baseline', 'show', '--baselines', dir]);
  t.is(shown.code, 0, shown.stderr);
  t.regex(shown.stdout, /^mixed \(/);
  t.regex(shown.stdout, /SHA-256 [0-9a-f]{64}/);
});

test('the SHA-256 is of the file as stored, and writing then reading gives the baseline back', async (t) => {
  const dir = temporaryDir('agentperf-roundtrip-');
  const file = await writeBaseline(dir, baseline());
  const [stored] = (await readBaselineSet(dir, currentFingerprint())).baselines;
  if (!stored) throw new Error('the baseline written was not read back');
  const { createHash } = await import('node:crypto');
  t.is(
    stored.sha256,
    createHash('sha256')
      .update(await readFile(file))
      .digest('hex'),
  );
  t.deepEqual(stored.baseline.blocks, baseline().blocks);
  t.deepEqual(stored.baseline.policy, DEFAULT_POLICY);
});

test('a baseline of another class is refused with the differences and the paired mode named', async (t) => {
  const dir = temporaryDir('agentperf-baselines-');
  const other = { ...currentFingerprint(), cpuModel: 'Some Other CPU', node: '99.0' };
  await writeBaseline(dir, baseline({ fingerprint: other }));
  t.deepEqual((await readBaselineSet(dir, currentFingerprint())).baselines, [], "another class's baseline is not read as this one's");
  const error = await missingBaselineError(dir, 'mixed', currentFingerprint());
  t.is((error as { code?: string }).code, 'AP_ERR_BASELINE_FINGERPRINT');
  t.regex(error.message, /cpuModel: Some Other CPU → /);
  t.regex(error.message, /gate --against <git-ref>/);
  const gate = await runCli(['gate', '--baselines', dir]);
  t.is(gate.code, 2);
  t.regex(gate.stderr, /AP_ERR_BASELINE_FINGERPRINT/);
  const missing = await missingBaselineError(dir, 'cache-hit', currentFingerprint());
  t.is((missing as { code?: string }).code, 'AP_ERR_NO_BASELINE');
});
