import test from 'ava';
import { chmod, mkdir, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveCacheDir } from '../../src/cache/path-safety.ts';
import { tempRoot } from './helpers.ts';

test('a directory under the root is created with mode 0700 and returned resolved', async (t) => {
  const root = await tempRoot();
  const dir = await resolveCacheDir(join(root, 'a', 'b'), [root]);
  t.is(dir, join(root, 'a', 'b'));
  t.is((await stat(dir)).mode & 0o777, 0o700);
});

const hostile: Array<[string, (root: string) => Promise<string>]> = [
  ['a .. segment', async (root) => `${root}/a/../../etc`],
  ['a .. segment that stays inside', async (root) => `${root}/a/../b`],
  ['an absolute path outside the root', async () => '/etc/agentperf'],
  ['the parent of the root', async (root) => join(root, '..')],
  ['a sibling sharing the prefix', async (root) => `${root}-evil/cache`],
  [
    'a symlink that leaves the root',
    async (root) => {
      const outside = await tempRoot();
      await symlink(outside, join(root, 'link'));
      return join(root, 'link', 'cache');
    },
  ],
  [
    'a world-writable directory',
    async (root) => {
      await mkdir(join(root, 'open'), { mode: 0o700 });
      await chmod(join(root, 'open'), 0o777);
      return join(root, 'open', 'cache');
    },
  ],
  [
    'a group-writable root',
    async (root) => {
      await chmod(root, 0o770);
      return join(root, 'cache');
    },
  ],
];

for (const [title, make] of hostile) {
  test(`refuses ${title}`, async (t) => {
    const root = await tempRoot();
    const error = await t.throwsAsync(resolveCacheDir(await make(root), [root]));
    t.is((error as { code?: string }).code, 'AP_ERR_CACHE_PATH');
    t.is((error as { exitCode?: number }).exitCode, 2);
  });
}
