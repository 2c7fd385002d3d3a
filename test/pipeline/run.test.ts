import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PIPELINE_STEPS, type RunRecord } from '../../src/pipeline/pipeline.ts';
import { runCli } from '../helpers.ts';

const CHROMIUM = '/usr/bin/chromium';

const root = mkdtempSync(join(tmpdir(), 'agentperf-run-'));
const runDir = join(root, 'run');
const baselines = join(root, 'baselines');

// One real run for the file (about a minute): the pipeline end to end, as `npm start` runs it
// but --quick. Its gate compares with a baseline recorded here first, on this machine: the
// committed baselines belong to the machine that wrote them, and a test must not depend on them.
let outcome: Promise<{ code: number; stdout: string; stderr: string }> | undefined;
const quickRun = () =>
  (outcome ??= (async () => {
    // A few short overhead pairs in the baseline, so that the run's gate judges the overhead against it.
    const policy = join(root, 'baseline-policy.json');
    writeFileSync(policy, JSON.stringify({ overhead: { pairs: 3, sliceIterations: 200, warmupPairs: 1 } }));
    const recorded = await runCli(['baseline', 'update', '--blocks', '5', '--baselines', baselines, '--policy', policy], { timeoutMs: 240_000 });
    if (recorded.code !== 0) throw new Error(`baseline update failed: ${recorded.stderr.slice(-2000)}`);
    return runCli(['run', '--quick', '--out', runDir, '--baselines', baselines, '--metrics-port', '0'], { timeoutMs: 240_000 });
  })());

test('run --quick: every stage runs and the JSON, Markdown and HTML reports are written; the exit code follows the gate', async (t) => {
  t.timeout(300_000);
  const { code, stdout, stderr } = await quickRun();
  t.true(existsSync(join(runDir, 'run.json')), stderr.slice(-2000));
  const run = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as RunRecord;
  t.is(code, run.verdict === 'FAIL' ? 1 : 0);
  t.is(run.schema, 'agentperf.run/v4');
  t.deepEqual(
    run.phases.map((p) => p.name),
    ['ramp', 'steady', 'spike', 'recovery'],
  );
  t.true(run.series.length >= 8, `one point per second of the 8 s plan, got ${run.series.length}`);
  const spike = run.series.filter((p) => p.targetRate === 800);
  t.true(spike.length >= 1 && spike.some((p) => p.completed > 400), 'the spike shows in the per-second series');
  t.true(run.load.completed > 1000);
  t.is(run.load.errors, 0);
  t.true(run.cache.hitRate! > 0.2 && run.cache.hitRate! < 0.6, `mixed repeats 2 calls in 5: hit rate ${run.cache.hitRate}`);
  t.is(
    run.cache.totals.hits.memory,
    run.series.reduce((s, p) => s + (p.cache.hits.memory ?? 0), 0),
    'the per-second cache counts add up to the totals',
  );
  t.deepEqual(run.distribution.percentiles.length, run.distribution.latencyMs.length);
  t.true(
    run.distribution.latencyMs.every((v, i, a) => i === 0 || v >= a[i - 1]),
    'latency grows with the percentile',
  );
  t.true(run.hdr.agentLatency.count >= run.load.completed, "the instrumentation's HDR histograms saw every measured call");
  t.true(run.hdr.cacheGetMemory.count > 0);
  t.deepEqual(run.hdr.cacheGetTiers, {}, 'the mixed scenario caches in memory only: no shared tier was read');
  t.regex(stdout, /HDR agent calls\s+[\d,]+ recorded: p50/);
  t.is(run.profile.phase, 'steady');
  t.true(existsSync(join(runDir, run.profile.cpuprofile)));
  t.true(existsSync(join(runDir, run.profile.flamegraph!)), run.profile.flamegraphError);
  t.true(run.profile.bottlenecks.bySelf.length > 0);
  // The mixed scenario does not leak: never a LEAK; CLEAN, or INCONCLUSIVE saying why.
  t.true(
    run.leak.verdict === 'CLEAN' || (run.leak.verdict === 'INCONCLUSIVE' && /snapshot interval|straddles/.test(run.leak.note ?? '')),
    JSON.stringify({ verdict: run.leak.verdict, note: run.leak.note, slope: run.leak.slope }),
  );
  // The overhead from paired slices of one process: a figure with its interval, whatever the verdict.
  const o = run.overhead;
  t.true(
    o.pairs >= 2 && Number.isFinite(o.throughputLostPct) && o.throughputLostLowPct <= o.throughputLostPct && o.throughputLostPct <= o.throughputLostHighPct,
    JSON.stringify(o),
  );
  // The CPU added per iteration, with its interval (2 pairs of --quick slices: its sign is noise's to choose).
  t.true(Number.isFinite(o.mainThreadAddedPct) && o.mainThreadLowPct <= o.mainThreadAddedPct && o.mainThreadAddedPct <= o.mainThreadHighPct, JSON.stringify(o));
  // "On" exported what users export: OTLP spans reached the local receiver, none dropped.
  t.true(o.telemetry.spansExported > 0 && o.telemetry.requests > 0 && o.telemetry.bytes > 0, JSON.stringify(o.telemetry));
  t.is(o.telemetry.spansDropped + o.telemetry.spansFailed, 0);
  t.is(run.gate.status, 'judged', 'the baseline recorded on this machine is found');
  // One verdict: the summary's overhead is the gate's overhead row, and the exit code follows the gate alone.
  const gated = run.gate.status === 'judged' ? run.gate.result.scenarios[0].judgement.metrics.find((m) => m.metric === 'overhead') : undefined;
  t.truthy(gated, "the gate judged the overhead against the baseline's");
  t.is(o.verdict, gated!.verdict);
  t.is(o.reason, gated!.reason);
  t.is(run.verdict, run.gate.status === 'judged' ? run.gate.result.overall : run.verdict);
  t.regex(stdout, new RegExp(`observability overhead\\s+${o.verdict === 'PASS' && o.warning ? 'WARN' : o.verdict}:`));
  t.regex(run.command, /^npx agentperf run --quick --out \S+ --baselines \S+ --metrics-port 0$/);
  t.regex(stdout, /^verdict\s+(PASS|FAIL|INCONCLUSIVE)/m);
  t.regex(stdout, /cache hit rate\s+\d+\.\d%/);
  t.regex(stdout, /observability overhead\s+(PASS|WARN|FAIL|INCONCLUSIVE)/);
  for (const [i, name] of PIPELINE_STEPS.entries())
    t.is(stderr.split(`[${i + 1}/${PIPELINE_STEPS.length}]`).length - 1, 1, `progress shows step ${name} exactly once`);
  t.regex(stderr, /Prometheus metrics at http:\/\/127\.0\.0\.1:\d+\/metrics/);
  const markdown = readFileSync(join(runDir, 'report.md'), 'utf8');
  t.regex(markdown, /## The gate/);
  // Every warning is in every report: the terminal, the Markdown and the HTML say the same.
  const html = readFileSync(join(runDir, 'report.html'), 'utf8');
  for (const warning of run.warnings) {
    t.true(stdout.includes(`WARNING: ${warning}`), warning);
    t.true(markdown.includes(`- ${warning}`), warning);
    t.true(html.includes(warning.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')), warning);
  }
});

test('the warnings list is the same in all three reports, whatever it holds (an untrusted generator, a refused gate, a standing limit)', async (t) => {
  const { runWarnings } = await import('../../src/pipeline/pipeline.ts');
  const { renderRunMarkdown, formatRunText } = await import('../../src/report/run-report.ts');
  const { renderRunHtml } = await import('../../src/report/run-html.ts');
  t.timeout(300_000);
  await quickRun();
  const recorded = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as RunRecord;
  const untrusted: RunRecord = {
    ...recorded,
    load: { ...recorded.load, generator: { trusted: false, reasons: ['the event loop lagged 40 ms at p99 (> 10 ms)'] } },
    gate: { status: 'no-baseline', message: 'no baseline for scenario mixed in /x' },
  };
  const run = { ...untrusted, warnings: runWarnings(untrusted) };
  t.true(run.warnings.some((w) => w.startsWith('UNTRUSTED load figures')));
  t.true(run.warnings.some((w) => w.startsWith('not gated: no baseline')));
  const text = formatRunText(run, { dir: runDir, html: 'report.html', markdown: 'report.md', json: 'run.json' });
  const markdown = renderRunMarkdown(run);
  const html = renderRunHtml(run, { js: '', css: '' });
  for (const warning of run.warnings) {
    t.true(text.includes(`WARNING: ${warning}`));
    t.true(markdown.includes(`- ${warning}`));
    t.true(html.includes(warning.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&#39;')), warning);
  }
});

// Without a browser this test is reported as skipped (never as passed), saying how to get one.
const withChromium = existsSync(CHROMIUM) ? test : test.skip;
withChromium(
  `the HTML report in headless Chromium: no console errors, every chart drawn with data, a verdict row per gated metric${existsSync(CHROMIUM) ? '' : ` [skipped: no ${CHROMIUM}; apt-get install -y chromium, as .ci/run does]`}`,
  async (t) => {
    t.timeout(300_000);
    await quickRun();
    const run = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as RunRecord;
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const errors: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(message.text());
      });
      page.on('pageerror', (error) => errors.push(String(error)));
      const requests: string[] = [];
      page.on('request', (request) => requests.push(request.url()));
      await page.goto(`file://${join(runDir, 'report.html')}`);
      await page.waitForLoadState('load');
      t.deepEqual(errors, []);
      t.deepEqual(
        requests.filter((url) => !url.startsWith('file://')),
        [],
        'nothing is fetched from the network',
      );
      const charts = await page.$$eval('.chart', (elements) =>
        elements.map((element) => {
          const canvas = element.querySelector('canvas');
          if (!canvas) return { id: element.id, painted: 0 };
          const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
          let painted = 0;
          for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
          return { id: element.id, painted };
        }),
      );
      t.deepEqual(
        charts.map((c) => c.id),
        ['chart-latency', 'chart-throughput', 'chart-distribution', 'chart-cache'],
      );
      for (const chart of charts) t.true(chart.painted > 2000, `${chart.id} drew ${chart.painted} pixels`);
      // Each chart's series carry data: uPlot's legend lists them, and the record has the points.
      const seriesLabels = await page.$$eval('#chart-latency .u-legend .u-label', (labels) => labels.map((l) => l.textContent));
      t.true(seriesLabels.includes('p99 ms'));
      const rows = await page.$$eval('#verdict-table tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-metric')));
      t.is(run.gate.status, 'judged');
      const gated = run.gate.status === 'judged' ? run.gate.result.scenarios[0].judgement.metrics.map((m) => m.metric) : [];
      t.true(gated.length >= 8);
      t.deepEqual(rows, gated);
      t.true(await page.isVisible('#flamegraph-link'));
      const screenshots = resolve('profiles', 'report-test');
      mkdirSync(screenshots, { recursive: true });
      const shot = join(screenshots, 'report.png');
      await page.screenshot({ path: shot, fullPage: true });
      t.true(readFileSync(shot).length > 50_000);
    } finally {
      await browser.close();
    }
  },
);

test('report re-renders the same HTML from run.json (elsewhere, linking back to the flamegraph); a file that is not a run record exits 2', async (t) => {
  t.timeout(300_000);
  await quickRun();
  const original = { html: readFileSync(join(runDir, 'report.html'), 'utf8'), markdown: readFileSync(join(runDir, 'report.md'), 'utf8') };
  const inPlace = await runCli(['report', join(runDir, 'run.json')]);
  t.is(inPlace.code, 0, inPlace.stderr);
  t.is(readFileSync(join(runDir, 'report.html'), 'utf8'), original.html);
  t.is(readFileSync(join(runDir, 'report.md'), 'utf8'), original.markdown);
  // Rendered elsewhere, the links lead back to the flamegraph beside run.json.
  const again = join(root, 'again');
  mkdirSync(again);
  const elsewhere = await runCli(['report', join(runDir, 'run.json'), '--out', again]);
  t.is(elsewhere.code, 0, elsewhere.stderr);
  t.true(readFileSync(join(again, 'report.html'), 'utf8').includes('href="../run/flamegraph.html"'));
  const notARun = join(root, 'not-a-run.json');
  writeFileSync(notARun, JSON.stringify({ schema: 'agentperf.load/v1' }));
  const bad = await runCli(['report', notARun]);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /AP_ERR_RUN_RECORD: .*schema must be "agentperf.run\/v4"/);
  // A record of the version before (memory and disk hit counts, one disk histogram; nothing by tier) still renders.
  const current = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as RunRecord;
  const { cacheGetTiers: _tiers, ...v3hdr } = current.hdr;
  const v3counts = ({ hits, ...rest }: RunRecord['cache']['totals'], diskHits: number) => ({ ...rest, memoryHits: hits.memory ?? 0, diskHits });
  const v3 = join(root, 'v3');
  mkdirSync(v3);
  writeFileSync(
    join(v3, 'run.json'),
    JSON.stringify({
      ...current,
      schema: 'agentperf.run/v3',
      hdr: { ...v3hdr, cacheGetDisk: { ...current.hdr.cacheGetMemory } },
      series: current.series.map((p, i) => ({ ...p, cache: v3counts(p.cache, i === 0 ? 7 : 0) })),
      cache: { ...current.cache, totals: v3counts(current.cache.totals, 7) },
    }),
  );
  const old = await runCli(['report', join(v3, 'run.json')]);
  t.is(old.code, 0, old.stderr);
  const oldMarkdown = readFileSync(join(v3, 'report.md'), 'utf8');
  t.regex(oldMarkdown, /HDR cache gets \(disk\)/);
  t.regex(oldMarkdown, new RegExp(`${current.cache.totals.hits.memory} memory hits, 7 disk hits, `));
});

test('bad run options exit 2 naming the option, and leave no run directory behind', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['--plan', 'ramp=10->100:2s'], /plan must have a phase named steady/],
    [['--plan', 'steady'], /plan phase 1 must be NAME=RATE:DURATION/],
    [['--rate', '0'], /rate/],
    [['--duration', 'soon'], /duration/],
    [['--scenario', 'nope'], /scenario must be one of/],
  ];
  for (const [args, message] of cases) {
    const out = join(root, `bad-${args[0].slice(2)}-${args[1]}`);
    const { code, stderr } = await runCli(['run', '--quick', '--no-gate', '--metrics-port', '0', '--out', out, ...args]);
    t.is(code, 2, `${args.join(' ')}: ${stderr.slice(-500)}`);
    t.regex(stderr, message, args.join(' '));
    t.false(existsSync(out), `${args.join(' ')} left ${out}`);
  }
});

withChromium(
  `a run whose scenario streams: the HTML report charts its time to first chunk per second and gives its percentiles${existsSync(CHROMIUM) ? '' : ` [skipped: no ${CHROMIUM}; apt-get install -y chromium, as .ci/run does]`}`,
  async (t) => {
    t.timeout(300_000);
    await quickRun();
    // A real run's record, given the stream figures a streaming scenario's run has (the engine's own fields), re-rendered by `report`.
    const run = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as RunRecord;
    const snapshot = { count: 100, p50: 41, p90: 80, p95: 95, p99: 140, p999: 150, max: 151, mean: 50, stdev: 20 };
    run.load.stream = {
      streams: 100,
      timeToFirstChunk: snapshot,
      timePerOutputChunk: { ...snapshot, p50: 2 },
      outputTokensPerSecond: { ...snapshot, p50: 500 },
    };
    run.series = run.series.map((p, i) => ({ ...p, ttfcP50: 30 + (i % 5), ttfcP95: 90 + (i % 7) }));
    const dir = mkdtempSync(join(tmpdir(), 'agentperf-stream-report-'));
    writeFileSync(join(dir, 'run.json'), JSON.stringify(run));
    const rendered = await runCli(['report', join(dir, 'run.json')]);
    t.is(rendered.code, 0, rendered.stderr);
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(String(error)));
      await page.goto(`file://${join(dir, 'report.html')}`);
      await page.waitForLoadState('load');
      t.deepEqual(errors, []);
      const painted = await page.$eval('#chart-ttfc', (element) => {
        const canvas = element.querySelector('canvas');
        if (!canvas) return 0;
        const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        let n = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
        return n;
      });
      t.true(painted > 2000, `the time-to-first-chunk chart drew ${painted} pixels`);
      const labels = await page.$$eval('#chart-ttfc .u-legend .u-label', (ls) => ls.map((l) => l.textContent));
      t.true(labels.includes('ttfc p95 ms'));
      t.regex(await page.content(), /time to first chunk p50 \/ p95 \/ p99<\/t[dh]><td>41(\.0)? ms \/ 95(\.0)? ms \/ 140(\.0)? ms/);
    } finally {
      await browser.close();
    }
  },
);
