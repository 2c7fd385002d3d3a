import test from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { prometheusFamilies } from './helpers.ts';

// The shipped alerting rules, checked and unit-tested by the real promtool: series that should
// fire and series that should not (prometheus/agentperf-alerts.test.yml).

const dir = fileURLToPath(new URL('../../prometheus/', import.meta.url));
const hasPromtool = (() => {
  try {
    execFileSync('which', ['promtool'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!hasPromtool && process.env.CI) throw new Error('CI must have promtool: .ci/run installs prometheus with apt-get');
const maybe = hasPromtool ? test : test.skip;
const title = (t: string) => (hasPromtool ? t : `${t} (skipped: apt-get install -y prometheus for promtool)`);

const promtool = (args: string[]) =>
  new Promise<{ code: number; out: string }>((resolve) => {
    execFile('promtool', args, { cwd: dir }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });

maybe(title('promtool check rules accepts the alerting rules'), async (t) => {
  const { code, out } = await promtool(['check', 'rules', 'agentperf-alerts.yml']);
  t.is(code, 0, out);
  t.regex(out, /SUCCESS: \d+ rules found/);
});

maybe(title('promtool test rules: every alert fires on the series that should fire it and not on the others'), async (t) => {
  const { code, out } = await promtool(['test', 'rules', 'agentperf-alerts.test.yml']);
  t.is(code, 0, out);
  t.regex(out, /SUCCESS/);
});

test('every metric the rules read is one agentperf exports (by its Prometheus name)', (t) => {
  const rules = readFileSync(`${dir}agentperf-alerts.yml`, 'utf8');
  // Metric names in the expressions, label names (`by (...)`, `{...}` matchers) left out.
  const expressions = [...rules.matchAll(/^\s*expr: (.*)$/gm)].map((m) => m[1].replace(/\b(?:by|without) \([^)]*\)|\{[^}]*\}/g, ''));
  const used = new Set(
    expressions.flatMap((e) => [...e.matchAll(/\b((?:agentperf|gen_ai|http)_[a-z_]+?)(?:_total|_bucket|_count|_sum)?\b(?![:(])/g)].map((m) => m[1])),
  );
  const exported = prometheusFamilies();
  t.true(used.size >= 8, [...used].join(', '));
  for (const name of used) t.true(exported.has(name), `${name} is not an exported metric`);
});
