import test from 'ava';
import { readFile } from 'node:fs/promises';
import { prometheusFamilies } from './helpers.ts';

test('the Grafana dashboard only queries metrics agentperf exports', async (t) => {
  const dashboard = JSON.parse(await readFile(new URL('../../grafana/agentperf-dashboard.json', import.meta.url), 'utf8')) as {
    panels: Array<{ targets: Array<{ expr: string }> }>;
  };
  const exported = prometheusFamilies();
  const names = new Set(
    dashboard.panels.flatMap((p) =>
      p.targets.flatMap((target) => target.expr.replace(/by \([^)]*\)|\{[^}]*\}/g, '').match(/\b(agentperf|gen_ai|http)_[a-z_]+/g) ?? []),
    ),
  );
  t.true(names.size >= 10);
  for (const name of names) {
    const base = name.replace(/_(total|bucket|sum|count)$/, '');
    t.true(exported.has(base), `${name} is not an exported metric`);
  }
});
