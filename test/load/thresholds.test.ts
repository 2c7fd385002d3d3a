import test from 'ava';
import { evaluateThresholds, parseThreshold, type ThresholdInputs } from '../../src/load/thresholds.ts';

test('thresholds parse into base units', (t) => {
  t.like(parseThreshold('p95<500ms'), { metric: 'p95', op: '<', value: 500 });
  t.like(parseThreshold('p99 <= 1.5s'), { metric: 'p99', op: '<=', value: 1500 });
  t.like(parseThreshold('p99.9<800us'), { metric: 'p99.9', op: '<', value: 0.8 });
  t.like(parseThreshold('service_p50<20'), { metric: 'service_p50', op: '<', value: 20 });
  t.like(parseThreshold('error_rate<1%'), { metric: 'error_rate', op: '<', value: 0.01 });
  t.like(parseThreshold('error_rate<0.05'), { metric: 'error_rate', value: 0.05 });
  t.like(parseThreshold('throughput>5'), { metric: 'throughput', op: '>', value: 5 });
  t.like(parseThreshold('throughput>=5/s'), { metric: 'throughput', op: '>=', value: 5 });
  t.like(parseThreshold('dropped<=0'), { metric: 'dropped', op: '<=', value: 0 });
});

test('bad threshold expressions are refused with the rule they broke', (t) => {
  const cases: Array<[string, RegExp]> = [
    ['p95', /must be METRIC OP VALUE/],
    ['p95=500ms', /must be METRIC OP VALUE/],
    ['latency<5ms', /metric must be one of/],
    ['p95<5 minutes', /unit of us, ms or s/],
    ['p95<5h', /unit of us, ms or s/],
    ['error_rate<1ms', /percentage/],
    ['error_rate<150%', /at most 100%/],
    ['throughput>5ms', /per second/],
    ['errors<5%', /count and takes no unit/],
  ];
  for (const [expression, rule] of cases) {
    const error = t.throws(() => parseThreshold(expression), undefined, expression);
    t.is((error as { code?: string }).code, 'AP_ERR_THRESHOLD');
    t.regex(error.message, rule, expression);
    t.true(error.message.includes(JSON.stringify(expression)));
  }
});

const stats = (p: number) => ({ p50: p, p90: p * 2, p95: p * 3, p99: p * 4, p999: p * 5, max: p * 6, mean: p * 1.5 });
const inputs: ThresholdInputs = { latency: stats(100), serviceTime: stats(10), completed: 1000, errors: 20, dropped: 5, scheduled: 1005, throughput: 50 };

test('thresholds evaluate against the result, at the boundary too', (t) => {
  const outcomes = evaluateThresholds(
    ['p95<300ms', 'p95<=300ms', 'service_p99<41', 'error_rate<2%', 'error_rate<=2%', 'throughput>49', 'throughput>50', 'dropped<10', 'p99.9<0.4s'].map(
      parseThreshold,
    ),
    inputs,
  );
  t.deepEqual(
    outcomes.map((o) => o.passed),
    [false, true, true, false, true, true, false, true, false],
  );
  t.is(outcomes[3].actual, 0.02);
  t.is(outcomes[8].actual, 500);
});

test('stream thresholds judge the time to first chunk and per output chunk, and fail on a run where nothing streamed', (t) => {
  t.like(parseThreshold('ttfc_p95<400ms'), { metric: 'ttfc_p95', op: '<', value: 400 });
  t.like(parseThreshold('tpoc_p99<0.05s'), { metric: 'tpoc_p99', op: '<', value: 50 });
  t.throws(() => parseThreshold('ttfc_p95<4%'), { code: 'AP_ERR_THRESHOLD', message: /unit of us, ms or s/ });
  const streamed: ThresholdInputs = {
    ...inputs,
    stream: {
      timeToFirstChunk: { p50: 100, p90: 200, p95: 380, p99: 450, p999: 500, max: 520, mean: 150 },
      timePerOutputChunk: { p50: 8, p90: 10, p95: 12, p99: 40, p999: 60, max: 70, mean: 9 },
    },
  };
  const thresholds = ['ttfc_p95<400ms', 'ttfc_p99<400ms', 'tpoc_p99<50ms'].map(parseThreshold);
  t.deepEqual(
    evaluateThresholds(thresholds, streamed).map((o) => [o.actual, o.passed]),
    [
      [380, true],
      [450, false],
      [40, true],
    ],
  );
  const whole = evaluateThresholds(thresholds, inputs);
  t.true(
    whole.every((o) => !o.passed && Number.isNaN(o.actual)),
    'no stream: nothing to pass on',
  );
});
