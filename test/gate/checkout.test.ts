import test from 'ava';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installPlan } from '../../src/gate/checkout.ts';

function tree(files: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'agentperf-lock-'));
  for (const file of files) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), '');
  }
  return dir;
}

test('the install command follows the nearest lockfile, from the project up to the repository root', (t) => {
  const cases: Array<[string[], string, string]> = [
    [['app/package-lock.json'], 'npm ci --no-audit --no-fund', 'app'],
    [['pnpm-lock.yaml'], 'pnpm install --frozen-lockfile', '.'],
    [['yarn.lock'], 'yarn install --frozen-lockfile', '.'],
    [['yarn.lock', '.yarnrc.yml'], 'yarn install --immutable', '.'],
    [['npm-shrinkwrap.json', 'app/x'], 'npm ci --no-audit --no-fund', '.'],
    [['app/x'], 'npm install --no-audit --no-fund', 'app'],
  ];
  for (const [files, command, where] of cases) {
    const repo = tree(files);
    const plan = installPlan(join(repo, 'app'), repo);
    t.is(plan.command, command, files.join(' '));
    t.is(plan.cwd, where === '.' ? repo : join(repo, 'app'), files.join(' '));
  }
  const repo = tree(['package-lock.json']);
  t.deepEqual(installPlan(repo, repo, 'make deps'), { command: 'make deps', cwd: repo, reason: '--install' });
});
