// report/ is pure (data in, text out): its wording checked against worked values.
import test from 'ava';
import { formatCacheReport } from '../../src/report/cache.ts';
import { describeLoss, formatChange, formatChangeInterval } from '../../src/report/change.ts';

test('a change is worded by its direction, never as a bare signed number', (t) => {
  t.is(formatChange(15, 'lower-is-better'), '15% higher (worse)');
  t.is(formatChange(-3.24, 'lower-is-better'), '3.2% lower (better)');
  t.is(formatChange(-46, 'higher-is-better'), '46% lower (worse)');
  t.is(formatChange(0.01, 'higher-is-better'), 'no change');
  t.is(formatChange(Number.NaN, 'higher-is-better'), '');
});

test('an interval is worded on the side it lies, or across zero', (t) => {
  t.is(formatChangeInterval(12.1, 17.9), '12% to 18% higher');
  t.is(formatChangeInterval(-49.5, -42.1), '42% to 50% lower');
  t.is(formatChangeInterval(-2, 3.1), '2.0% lower to 3.1% higher');
  t.is(formatChangeInterval(-Infinity, 3), 'unbounded');
  t.is(describeLoss(-1, 3), 'between 1.0% gained and 3.0% lost of throughput');
});

test('cache reports: stats, a wrong secret, failures listed by reason, what prune left', (t) => {
  t.is(formatCacheReport({ action: 'stats', tiers: [{ name: 'disk', entries: 3, bytes: 3072 }] }), 'disk tier: 3 entries, 3.0 KiB');
  t.is(
    formatCacheReport({
      action: 'stats',
      tiers: [
        { name: 'disk', entries: 3, bytes: 3072 },
        { name: 'redis', entries: 5, bytes: 512 },
      ],
    }),
    'disk tier: 3 entries, 3.0 KiB\nredis tier: 5 entries, 0.5 KiB',
    'every shared tier, by its name, in read order',
  );
  t.regex(
    formatCacheReport({ action: 'stats', tiers: [{ name: 'disk', entries: 0, bytes: 0 }], foreignSecret: { cacheSecretId: 'aaa', givenSecretId: 'bbb' } }),
    /^WRONG SECRET: .*id aaa; the secret given has id bbb/,
  );
  t.is(formatCacheReport({ action: 'verify', checked: 2, failures: [] }), 'verified 2 entries: all signatures valid');
  t.is(
    formatCacheReport({ action: 'verify', checked: 2, failures: [{ key: 'k', file: '/c/k', reason: 'signature' }] }),
    "verified 2 entries: 1 FAILED (signed with this cache's own secret: tampered with or torn)\n  signature    /c/k",
  );
  t.is(
    formatCacheReport({ action: 'prune', removed: 1, left: [{ key: 'k', file: '/c/k', reason: 'not-a-file', detail: 'a directory' }] }),
    'pruned 1 expired or invalid entries\n  left in place: /c/k (a directory): not an entry; look at it and remove it by hand',
  );
});
