import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers.ts';

// `agentperf models`: the table in use, with the project's `models` prices merged over the
// shipped ones; exec's cost estimate follows the merged prices; a bad override is refused by field.

function project(config: object): string {
  const dir = mkdtempSync(join(tmpdir(), 'agentperf-models-'));
  writeFileSync(join(dir, 'agentperf.config.json'), JSON.stringify(config));
  return dir;
}

test('the shipped table, then a project price merged over it: models shows it with its source, and exec estimates with it', async (t) => {
  const shipped = await runCli(['models', '--json'], { cwd: project({}) });
  t.is(shipped.code, 0, shipped.stderr);
  const table = JSON.parse(shipped.stdout) as {
    source: { readOn: string; pages: string[] };
    overriddenBy?: string;
    models: Array<{ id: string; source: string; prices: { inputPerMTok: number; outputPerMTok: number; cacheReadPerMTok: number } }>;
  };
  t.is(table.source.readOn, '2026-12-06');
  t.regex(table.source.pages[0], /^https:\/\/platform\.claude\.com\/docs\/en\/about-claude\/pricing$/);
  t.is(table.overriddenBy, undefined);
  t.like(
    table.models.find((m) => m.id === 'claude-sonnet-5-5'),
    { source: 'shipped', prices: { inputPerMTok: 2, outputPerMTok: 10, cacheReadPerMTok: 0.1 } },
  );
  const text = await runCli(['models'], { cwd: project({}) });
  t.regex(text.stdout, /claude-haiku-5-5 .*prompts over 100,000 tokens/);

  const dir = project({ models: { 'claude-sonnet-5-5': { inputPerMTok: 1, outputPerMTok: 5 } } });
  const merged = JSON.parse((await runCli(['models', '--json'], { cwd: dir })).stdout) as typeof table;
  t.is(merged.overriddenBy, join(dir, 'agentperf.config.json'));
  t.like(
    merged.models.find((m) => m.id === 'claude-sonnet-5-5'),
    { source: 'project', prices: { inputPerMTok: 1, outputPerMTok: 5, cacheReadPerMTok: 0.1 } },
  );

  // python-expert runs on claude-sonnet-5-5: its cost estimate halves with the project's prices.
  const cost = async (cwd: string) =>
    JSON.parse((await runCli(['exec', 'python-expert', 'Explain generators', '--no-cache', '--json'], { cwd })).stdout) as {
      estimatedCostUsd: number;
      usage: { inputTokens: number; outputTokens: number };
    };
  const [atShipped, atProject] = [await cost(project({})), await cost(dir)];
  t.true(Math.abs(atShipped.estimatedCostUsd - (atShipped.usage.inputTokens * 2 + atShipped.usage.outputTokens * 10) / 1e6) < 1e-12);
  t.true(Math.abs(atProject.estimatedCostUsd - (atProject.usage.inputTokens * 1 + atProject.usage.outputTokens * 5) / 1e6) < 1e-12);
});

test('a bad models override is refused naming the field and the rule (exit 2)', async (t) => {
  for (const [models, field] of [
    [{ 'claude-sonnet-9': { inputPerMTok: 1 } }, /models\.claude-sonnet-9 .*must be a model agentperf knows/],
    [{ 'claude-sonnet-5-5': { inputPerMTok: -1 } }, /models\.claude-sonnet-5-5\.inputPerMTok/],
    [{ 'claude-sonnet-5-5': { input: 1 } }, /models\.claude-sonnet-5-5\.input is not a known field/],
  ] as const) {
    const result = await runCli(['models'], { cwd: project({ models }) });
    t.is(result.code, 2, result.stderr);
    t.regex(result.stderr, /AP_ERR_CONFIG/);
    t.regex(result.stderr, field);
  }
});
