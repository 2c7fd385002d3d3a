import test from 'ava';
import { Calibrator, compareCalibration, cpusInUse } from '../../src/measure/calibration.ts';

test('the calibration runs the reference workload on every CPU the process may use, one sample per call', async (t) => {
  const calibrator = new Calibrator(cpusInUse());
  try {
    const sample = await calibrator.sample(500);
    t.true(sample > 0 && Number.isFinite(sample));
    t.is(calibrator.threads, cpusInUse());
    // Steady, or not within the time allowed: either way it says which, and returns.
    const settled = await calibrator.settle(1_000, 5_000);
    t.true(settled.steady, 'within a band of 1,000% any machine holds still');
    t.is(settled.samples.length, 5);
  } finally {
    await calibrator.close();
  }
});

test('two calibrations compare by their medians, within the band only; another CPU count is never compared', (t) => {
  const stored = { threads: 2, samples: [10, 10.2, 9.8, 30, 9.9] };
  t.is(compareCalibration(stored, { threads: 2, samples: [11, 11.4, 10.9] }, 15).refusal, undefined);
  t.true(Math.abs(compareCalibration(stored, { threads: 2, samples: [11, 11.4, 10.9] }, 15).changePct - 10) < 1e-9);
  const slower = compareCalibration(stored, { threads: 2, samples: [12, 12.1, 11.9] }, 15);
  t.regex(slower.refusal!, /ran the reference workload 20\.0% slower .* at most 15% is accepted/);
  t.regex(compareCalibration(stored, { threads: 4, samples: [10] }, 15).refusal!, /lets the gate use 4 CPUs and the baseline's machine let it use 2/);
});
