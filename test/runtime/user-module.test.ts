import test from 'ava';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenarioModule } from '../../src/scenarios/index.ts';
import { runCli } from '../helpers.ts';

// Scenario modules as users write them: every extension, in packages with and without
// "type": "module", ESM and CommonJS syntax; each must load and run. Each file sits in a
// directory of its own: beside an x.ts, tsx resolves x.js to the TypeScript file.
const SOURCES: Record<string, string> = {
  'esm.ts': "import { sep } from 'node:path';\nconst s: { name: string; run: () => string } = { name: 'esm-ts', run: () => sep };\nexport default s;\n",
  'esm.mts': "export default { name: 'esm-mts', run: (): number => 1 };\n",
  'cjs.cts': "import path = require('node:path');\nexport = { name: 'cjs-cts', run: () => path.sep };\n",
  'esm.js': "export default { name: 'esm-js', run: () => 1 };\n",
  'esm.mjs': "export default { name: 'esm-mjs', run: () => 1 };\n",
  'cjs.cjs': "module.exports = { name: 'cjs-cjs', run: () => 1 };\n",
  'named.ts': "export const first = { name: 'first', run: () => 1 };\nexport const second = { name: 'second', run: () => 2 };\n",
};

for (const type of ['module', undefined]) {
  const dir = mkdtempSync(join(tmpdir(), 'agentperf-modules-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'user', ...(type ? { type } : {}) }));
  const place = (file: string, source: string) => {
    mkdirSync(join(dir, file.replace('.', '-')));
    writeFileSync(join(dir, file.replace('.', '-'), file), source);
  };
  for (const [file, source] of Object.entries(SOURCES)) place(file, source);
  // CommonJS syntax in a .ts or .js file belongs to a package without "type": "module".
  if (!type) {
    place('cjs.ts', "import path = require('node:path');\nmodule.exports = { name: 'cjs-ts', run: () => path.sep };\n");
    place('cjs.js', "module.exports = { name: 'cjs-js', run: () => 1 };\n");
  }
  const files = [...Object.keys(SOURCES).filter((f) => f !== 'named.ts'), ...(type ? [] : ['cjs.ts', 'cjs.js'])];
  for (const file of files) {
    test(`a ${file} scenario in a package ${type ? 'of "type": "module"' : 'without "type"'} loads and runs`, async (t) => {
      const scenario = await loadScenarioModule(join(dir, file.replace('.', '-'), file));
      t.is(scenario.name, file.replace('.', '-'));
      t.not(await scenario.run(undefined, 0), undefined);
      t.is(typeof scenario.setup, 'function');
    });
  }
  test(`file#export picks a named export (package ${type ?? 'without type'})`, async (t) => {
    t.is((await loadScenarioModule(`${join(dir, 'named-ts', 'named.ts')}#second`)).name, 'second');
    const error = await t.throwsAsync(loadScenarioModule(`${join(dir, 'named-ts', 'named.ts')}#third`));
    t.is((error as { code?: string }).code, 'AP_ERR_SCENARIO');
    t.regex(error.message, /must export a scenario object named third/);
  });
}

test('from the built CLI (no tsx preloaded): a .ts scenario with ESM syntax in a package without "type" runs under load', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'agentperf-modules-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'commonjs-user' }));
  writeFileSync(join(dir, 'helper.ts'), 'export const answer = (i: number): number => i * 2;\n');
  writeFileSync(
    join(dir, 'scenario.ts'),
    "import { answer } from './helper';\nexport default { name: 'typeless', run: (_: unknown, i: number) => answer(i) };\n",
  );
  const { code, stdout, stderr } = await runCli(['load', './scenario.ts', '--vus', '2', '--duration', '300ms', '--warmup', '0s', '--no-progress'], {
    cwd: dir,
  });
  t.is(code, 0, stderr);
  t.regex(stdout, /scenario typeless \(closed loop/);
});
