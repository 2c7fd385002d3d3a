import test from 'ava';
import { readFile } from 'node:fs/promises';
import { METRICS } from '../../instrumentation/names.ts';

test('the Grafana dashboard only queries metrics agentperf exports', async (t) => {
  const dashboard = JSON.parse(await readFile(new URL('../../grafana/agentperf-dashboard.json', import.meta.url), 'utf8')) as { panels: Array<{ targets: Array<{ expr: string }> }> };
  const exported = Object.values(METRICS).map((name) => name.replaceAll('.', '_'));
  const names = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((target) => target.expr.replace(/by \([^)]*\)|\{[^}]*\}/g, '').match(/\b(agentperf|gen_ai)_[a-z_]+/g) ?? [])));
  t.true(names.size >= 10);
  for (const name of names) {
    const base = name.replace(/_(total|bucket|sum|count)$/, '');
    t.true(exported.includes(base), `${name} is not an exported metric`);
  }
});
