import test from 'ava';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { givenOr, loadProjectFrom, simulatorSettings } from '../../src/config/project.ts';
import { DEFAULT_POLICY, PolicySchema } from '../../src/config/policy.ts';
import { readmeBlock } from '../helpers.ts';

/** A scratch directory with these files (paths relative to it). */
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'agentperf-project-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

const SCENARIO = "export default { name: 'x', run: () => 1 };\n";

test('without a config: the current directory is the root, the defaults apply', async (t) => {
  const dir = project({ 'package.json': '{"name":"p"}' });
  const p = await loadProjectFrom(dir);
  t.is(p.root, dir);
  t.is(p.configFile, undefined);
  t.is(p.baselineDir, join(dir, 'baselines'));
  t.is(p.profileDir, join(dir, 'profiles'));
  t.is(p.agentsFile, undefined);
  t.deepEqual(p.policy, DEFAULT_POLICY);
});

test('found from a subdirectory upward; every path in it resolves against the config file, not the current directory', async (t) => {
  const dir = project({
    'agentperf.config.json': JSON.stringify({
      scenarios: { answer: './perf/answer.ts', other: './perf/many.ts#second' },
      agents: 'conf/agents.json',
      baselines: 'perf/baselines',
      profiles: '/abs/profiles',
    }),
    'perf/answer.ts': SCENARIO,
    'perf/many.ts': SCENARIO,
    'src/deep/er/file.ts': '',
  });
  const p = await loadProjectFrom(join(dir, 'src', 'deep', 'er'));
  t.is(p.root, dir);
  t.is(p.configFile, join(dir, 'agentperf.config.json'));
  t.deepEqual(
    [...p.scenarios],
    [
      ['answer', join(dir, 'perf/answer.ts')],
      ['other', join(dir, 'perf/many.ts#second')],
    ],
  );
  t.is(p.agentsFile, join(dir, 'conf/agents.json'));
  t.is(p.baselineDir, join(dir, 'perf/baselines'));
  t.is(p.profileDir, '/abs/profiles');
  // A project that names scenarios gates them, with the default blocks.
  t.deepEqual(
    p.policy.scenarios.map((s) => [s.name, s.vus, s.warmupMs, s.durationMs]),
    [
      ['answer', 20, 1000, 2000],
      ['other', 20, 1000, 2000],
    ],
  );
});

test("package.json's agentperf key is a config; a package.json without one is passed by on the way up", async (t) => {
  const dir = project({ 'package.json': JSON.stringify({ name: 'root', agentperf: { baselines: 'b' } }), 'pkg/package.json': '{"name":"inner"}' });
  const p = await loadProjectFrom(join(dir, 'pkg'));
  t.is(p.configFile, join(dir, 'package.json'));
  t.is(p.baselineDir, join(dir, 'b'));
});

for (const [name, content, type] of [
  ['agentperf.config.ts', "import type {} from 'node:fs';\nconst baselines: string = 'from-ts';\nexport default { baselines };\n", 'module'],
  ['agentperf.config.ts', "const baselines: string = 'from-ts';\nexport default { baselines };\n", undefined],
  ['agentperf.config.mts', "export default { baselines: 'from-ts' };\n", undefined],
  ['agentperf.config.cts', "export = { baselines: 'from-ts' };\n", 'module'],
  ['agentperf.config.mjs', "export default { baselines: 'from-ts' };\n", undefined],
  ['agentperf.config.cjs', "module.exports = { baselines: 'from-ts' };\n", 'module'],
  ['agentperf.config.js', "module.exports = { baselines: 'from-ts' };\n", undefined],
  ['agentperf.config.js', "export default { baselines: 'from-ts' };\n", 'module'],
] as const) {
  test(`a config module: ${name} in a package ${type ? `of "type": "${type}"` : 'without "type"'}`, async (t) => {
    const dir = project({ 'package.json': JSON.stringify({ name: 'p', ...(type ? { type } : {}) }), [name]: content });
    const p = await loadProjectFrom(dir);
    t.is(p.configFile, join(dir, name));
    t.is(p.baselineDir, join(dir, 'from-ts'));
  });
}

test('the gate section overrides the policy field by field, and its errors name gate.<field> and the file', async (t) => {
  const ok = project({ 'agentperf.config.json': JSON.stringify({ gate: { tolerances: { p95: 0.05 }, scenarios: ['mixed', { name: 'cache-hit', vus: 4 }] } }) });
  const p = await loadProjectFrom(ok);
  t.is(p.policy.tolerances.p95, 0.05);
  t.is(p.policy.tolerances.p50, DEFAULT_POLICY.tolerances.p50);
  t.deepEqual(p.policy.scenarios, [
    { name: 'mixed', settings: {}, vus: 20, warmupMs: 1000, durationMs: 2000 },
    { name: 'cache-hit', settings: {}, vus: 4, warmupMs: 1000, durationMs: 2000 },
  ]);
  const bad = project({ 'agentperf.config.json': JSON.stringify({ gate: { tolerances: { p95: -1 } } }) });
  const error = await t.throwsAsync(loadProjectFrom(bad));
  t.is((error as { code?: string }).code, 'AP_ERR_CONFIG');
  t.is((error as { field?: string }).field, 'gate.tolerances.p95');
  t.true(error.message.startsWith(join(bad, 'agentperf.config.json')), error.message);
  t.regex(error.message, /gate\.tolerances\.p95 .*got -1/);
});

test('bad configs are refused naming the field, the rule and the file', async (t) => {
  const cases: Array<[Record<string, string>, string, RegExp]> = [
    [{ 'agentperf.config.json': '{"scenarios": {"a b": "./x.ts"}}' }, 'scenarios.a b', /must be a name of letters/],
    [{ 'agentperf.config.json': '{"scenarios": {"a": "./missing.ts"}}' }, 'scenarios.a', /must name a module file that exists/],
    [{ 'agentperf.config.json': '{"baseline": "typo"}' }, 'baseline', /baseline is not a known field/],
    [{ 'agentperf.config.json': '{"simulator": {"latncy": "fixed:1"}}' }, 'simulator.latncy', /simulator\.latncy is not a known field of simulator/],
    [{ 'agentperf.config.json': '{"simulator": {"seed": -1}}' }, 'simulator.seed', /got -1/],
    [{ 'agentperf.config.json': '{"scenarios": ' }, 'config', /must be valid JSON/],
    [{ 'agentperf.config.mjs': 'export const notDefault = 1;\n' }, 'config', /must export the config as default/],
    [{ 'agentperf.config.mjs': 'throw new Error("boom");\n' }, 'config', /failed to load: boom/],
    [{ 'package.json': '{"name": "p", "agentperf": {"profiles": 5}}' }, 'profiles', /profiles .*got 5/],
    // A __proto__ key would become the prototype of a record's copy and vanish without a word.
    [{ 'agentperf.config.json': '{"gate": {"__proto__": {"alpha": 0.49}}}' }, 'gate.__proto__', /gate\.__proto__ is not a known field, got "__proto__"/],
    [
      { 'agentperf.config.json': '{"scenarios": {"a": "./x.ts"}, "gate": {"scenarios": [{"name": "a", "settings": {"__proto__": {}}}]}}' },
      'gate.scenarios[0].settings.__proto__',
      /is not a known field/,
    ],
  ];
  for (const [files, field, message] of cases) {
    const dir = project(files);
    const error = await t.throwsAsync(loadProjectFrom(dir), undefined, JSON.stringify(files));
    t.is((error as { code?: string }).code, 'AP_ERR_CONFIG', JSON.stringify(files));
    t.is((error as { field?: string }).field, field, JSON.stringify(files));
    t.regex(error.message, message);
    t.true(error.message.startsWith(join(dir, Object.keys(files)[0])), error.message);
  }
});

test('paths on the command line resolve against the current directory; the simulator settings layer flags over config over defaults', async (t) => {
  t.is(givenOr('rel/dir', '/fallback'), join(process.cwd(), 'rel/dir'));
  t.is(givenOr(undefined, '/fallback'), '/fallback');
  const dir = project({ 'agentperf.config.json': JSON.stringify({ simulator: { latency: 'fixed:5', seed: 9 } }) });
  const p = await loadProjectFrom(dir);
  t.deepEqual(simulatorSettings(p, {}, { latency: 'fixed:0', seed: 1 }), { latency: 'fixed:5', faults: undefined, seed: 9 });
  t.deepEqual(simulatorSettings(p, { latency: 'fixed:1', faults: '429:0.1' }, { latency: 'fixed:0', seed: 1 }), {
    latency: 'fixed:1',
    faults: '429:0.1',
    seed: 9,
  });
});

test("the README's default policy is the default policy, field for field", (t) => {
  t.deepEqual(PolicySchema.parse(JSON.parse(readmeBlock('**The policy** (`--policy FILE`', 'json'))), DEFAULT_POLICY);
});
