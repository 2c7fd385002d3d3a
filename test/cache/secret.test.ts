import test from 'ava';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { Writable } from 'node:stream';
import { resolveCacheSecrets } from '../../src/cache/secret.ts';
import { ResponseCache } from '../../src/cache/response-cache.ts';
import { tempRoot } from './helpers.ts';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write: (chunk, _e, done) => {
      lines.push((chunk as Buffer).toString());
      done();
    },
  });
  return { lines, logger: pino({ level: 'debug' }, stream) };
}

test('with no secret set, one is generated once into a 0600 file outside the cache, and logged by path only', async (t) => {
  const root = await tempRoot();
  const secretFile = join(root, 'config', 'cache-secret');
  const { lines, logger } = capture();
  const first = await resolveCacheSecrets({ env: {}, secretFile, logger });
  t.is(first.source, 'generated');
  t.true(first.current.length >= 32);
  t.is((await stat(secretFile)).mode & 0o777, 0o600);
  const second = await resolveCacheSecrets({ env: {}, secretFile, logger });
  t.is(second.source, 'file');
  t.true(second.current.equals(first.current));
  t.true(lines.some((l) => l.includes('generated a random cache secret') && l.includes(secretFile)));
  t.false(
    lines.some((l) => l.includes(first.current.toString())),
    'the secret never reaches the log',
  );
  t.is((await readFile(secretFile, 'utf8')).trim(), first.current.toString());
});

test('concurrent first starts agree on one generated secret', async (t) => {
  const root = await tempRoot();
  const secretFile = join(root, 'cache-secret');
  const all = await Promise.all(Array.from({ length: 8 }, () => resolveCacheSecrets({ env: {}, secretFile })));
  t.is(new Set(all.map((s) => s.current.toString())).size, 1);
});

test('--require-secret and NODE_ENV=production refuse to start without AGENTPERF_CACHE_SECRET', async (t) => {
  const root = await tempRoot();
  for (const options of [{ env: {}, requireSecret: true }, { env: { NODE_ENV: 'production' } }]) {
    const error = await t.throwsAsync(resolveCacheSecrets({ ...options, secretFile: join(root, 's') }));
    t.is((error as { code?: string }).code, 'AP_ERR_CACHE_SECRET');
  }
  const ok = await resolveCacheSecrets({ env: { NODE_ENV: 'production', AGENTPERF_CACHE_SECRET: 'p'.repeat(32) } });
  t.is(ok.source, 'env');
});

test('a secret under 32 bytes is refused, and the error does not contain it', async (t) => {
  const short = 'short-secret-value';
  for (const name of ['AGENTPERF_CACHE_SECRET', 'AGENTPERF_CACHE_SECRET_PREVIOUS']) {
    const error = await t.throwsAsync(resolveCacheSecrets({ env: { AGENTPERF_CACHE_SECRET: 'c'.repeat(32), [name]: short } }));
    t.is((error as { code?: string }).code, 'AP_ERR_CACHE_SECRET');
    t.true(error.message.includes(name));
    t.false(error.message.includes(short));
  }
});

test('a memory-only cache needs no secret at all', async (t) => {
  const cache = await ResponseCache.open({ memoryMaxBytes: 1024 });
  t.deepEqual(cache.stats().tiers, []);
  await cache.close();
});
