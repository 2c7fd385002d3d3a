import test from 'ava';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers.ts';

// The index is only a fast path for the next open: a cache disk that refuses it (read-only,
// full, or, as here where tests run as root too, a directory where the index file goes) must
// cost a warning, never the answer `exec` already has, nor crash `cache verify`/`prune`/`stats`.

test('an index that cannot be saved: exec still prints its answer (a cache hit), the cache commands still report, no temp file is left', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'agentperf-unwritable-'));
  const dir = join(root, 'cache');
  const env = { AGENTPERF_CACHE_ROOTS: root, AGENTPERF_LOG_LEVEL: 'warn' };
  try {
    const first = await runCli(['exec', 'python-expert', 'Explain generators', '--cache-dir', dir, '--json'], { env });
    t.is(first.code, 0, first.stderr);
    rmSync(join(dir, 'index.bin'));
    mkdirSync(join(dir, 'index.bin', 'in-the-way'), { recursive: true });

    const hit = await runCli(['exec', 'python-expert', 'Explain generators', '--cache-dir', dir, '--json'], { env });
    t.is(hit.code, 0, hit.stderr);
    t.true((JSON.parse(hit.stdout) as { cached: boolean }).cached, 'answered from the cache');
    t.regex(hit.stderr, /the cache index could not be saved \(EISDIR\); the next open rebuilds it from the entries/);
    for (const [action, says] of [
      ['verify', /verified 1 entries: all signatures valid/],
      ['prune', /pruned 0/],
      ['stats', /disk tier: 1 entries/],
    ] as const) {
      const result = await runCli(['cache', action, '--cache-dir', dir], { env });
      t.is(result.code, 0, `${action}: ${result.stderr}`);
      t.regex(result.stdout, says);
    }
    t.deepEqual(readdirSync(join(dir, 'tmp')), [], 'no half-written index left');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
