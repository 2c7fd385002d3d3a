import test from 'ava';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAgents, parseAgents } from '../../src/config/agents.ts';
import { MODELS } from '../../src/config/models.ts';

const valid = { name: 'a', model: 'claude-sonnet-5-5', systemPrompt: 'p', maxTokens: 10, temperature: 0, cacheable: true };

test('the shipped agents.json is valid, uses current models only, and includes the seeds agents', async (t) => {
  const agents = await loadAgents();
  const names = agents.map((a) => a.name);
  for (const name of ['python-expert', 'code-reviewer', 'bug-investigator']) t.true(names.includes(name));
  for (const agent of agents) t.false(MODELS.get(agent.model)!.deprecated ?? false, `${agent.name} uses a deprecated model`);
});

const bad: Array<[string, unknown, string]> = [
  ['an agent name with a slash', { agents: [{ ...valid, name: 'a/b' }] }, 'agents[0].name must match ^[a-zA-Z0-9_-]{1,64}$, got "a/b"'],
  ['an unknown model', { agents: [{ ...valid, model: 'gpt-4' }] }, 'agents[0].model must be a known Claude model id'],
  [
    'maxTokens over the model limit',
    { agents: [{ ...valid, maxTokens: 200_000 }] },
    'agents[0].maxTokens must be an integer from 1 to 128000 (the limit of claude-sonnet-5-5), got 200000',
  ],
  ['a negative maxTokens', { agents: [{ ...valid, maxTokens: -5 }] }, 'agents[0].maxTokens must be at least 1, got -5'],
  ['temperature above 1', { agents: [{ ...valid, temperature: 2 }] }, 'agents[0].temperature must be from 0 to 1, got 2'],
  ['cacheable that is not a boolean', { agents: [{ ...valid, cacheable: 'yes' }] }, 'agents[0].cacheable'],
  ['an unknown field', { agents: [{ ...valid, colour: 'red' }] }, 'agents[0]'],
  ['a duplicate name', { agents: [valid, valid] }, 'agents[1].name is a duplicate of an earlier agent (a)'],
  ['no agents', { agents: [] }, 'agents must list at least one agent'],
];

for (const [title, input, expected] of bad) {
  test(`rejects ${title} with the field and the rule`, (t) => {
    const error = t.throws(() => parseAgents(input, 'agents.json'));
    t.is((error as { code?: string }).code, 'AP_ERR_CONFIG');
    t.true(error.message.includes(expected), error.message);
  });
}

test('an unreadable or non-JSON file is a config error naming the file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'agentperf-agents-'));
  const file = join(dir, 'broken.json');
  await writeFile(file, '{ not json');
  const notJson = await t.throwsAsync(loadAgents(file));
  t.is((notJson as { code?: string }).code, 'AP_ERR_CONFIG');
  t.true(notJson.message.startsWith(file));
  const missing = await t.throwsAsync(loadAgents(join(dir, 'missing.json')));
  t.true(missing.message.includes('ENOENT'));
});
