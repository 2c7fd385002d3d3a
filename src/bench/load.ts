import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UsageError } from '../errors.js';
import { runEngine, spinningWaker, systemWaker, type Waker } from '../load/engine.js';
import { ArrivalSchedule, stagesOf } from '../load/patterns.js';
import { readProcStat } from '../load/monitor.js';
import { runLoadTest, type LoadReport } from '../load/run.js';
import { cacheHitScenario } from '../scenarios/agent.js';
import { rootLogger } from '../logger.js';
import { orderForRound } from '../measure/interleave.js';
import { cliNodeArgs, nodeArgsForModule, siblingModule } from '../runtime/self.js';
import { median } from '../stats/percentiles.js';
import { withChildCpu } from './child-cpu.js';
import { KNOWN_LATENCY_MS } from './targets.js';

export interface LoadBenchOptions {
  /** In-process: the scheduled rate against a no-op target, and how many runs. */
  rate: number;
  runs: number;
  runMs: number;
  /** HTTP against autocannon: interleaved rounds, each tool for `httpMs`, at each connection count. */
  rounds: number;
  httpMs: number;
  connections: number[];
  /** The soak run (0: skipped): a steady rate of cache hits for this long. */
  soakMs: number;
  soakRate: number;
  /** The scheduler's own cost: these rates against a no-op target, each waker, interleaved runs of `schedulerMs`. */
  schedulerRates: number[];
  schedulerRuns: number;
  schedulerMs: number;
  /** `load --workers N` against the trivial server at each N, interleaved rounds (closed loop, `connections[last]` users). */
  workers: number[];
  workerRounds: number;
}

// 10 connections is autocannon's default; 50 loads the server harder.
export const DEFAULT_LOAD_BENCH: LoadBenchOptions = {
  rate: 100_000,
  runs: 3,
  runMs: 4_000,
  rounds: 6,
  httpMs: 3_000,
  connections: [10, 50],
  soakMs: 0,
  soakRate: 2_000,
  schedulerRates: [500, 5_000],
  schedulerRuns: 3,
  schedulerMs: 3_000,
  workers: [1, 2],
  workerRounds: 3,
};

export interface ToolRun {
  perSec: number;
  cpuUsPerRequest: number;
}

export interface LoadBenchResult {
  options: LoadBenchOptions;
  inProcess: {
    /** Medians over the runs. */
    scheduledPerSec: number;
    startedPerSec: number;
    lagP99Ms: number;
    lagMaxMs: number;
    runs: Array<{ startedPerSec: number; lagP99Ms: number; dropped: number }>;
  };
  http: Array<{
    connections: number;
    agentperfPerSec: number;
    autocannonPerSec: number;
    /** Median of the per-round ratios agentperf / autocannon. */
    ratio: number;
    /** Medians over the rounds: each generator's CPU (user + system) per completed request, µs. */
    cpuUsPerRequest: { agentperf: number; autocannon: number; wrk?: number };
    /** Median of the per-round ratios of CPU per request, agentperf / autocannon (target: at most 1). */
    cpuRatio: number;
    rounds: Array<{ agentperf: ToolRun; autocannon: ToolRun; wrk?: ToolRun; first: 'agentperf' | 'autocannon' | 'wrk' }>;
  }>;
  /** The sleeping scheduler beside the spinning one it replaced, run for run. */
  scheduler: Array<{
    rate: number;
    waker: 'sleeping' | 'spinning';
    /** Medians over the runs: process CPU in % of one core, and the scheduling lag. */
    cpuPctOfCore: number;
    lagP99Ms: number;
    lagMaxMs: number;
    runs: Array<{ cpuPctOfCore: number; lagP99Ms: number; startedPerSec: number }>;
  }>;
  /** A target of known latency at the lowest rate: corrected percentiles under each waker. */
  knownLatency: Array<{ waker: 'sleeping' | 'spinning'; p50Ms: number; p99Ms: number; runs: Array<{ p50Ms: number; p99Ms: number }> }>;
  /** Throughput of a no-op HTTP target with the load spread over N worker threads, and the target's CPU. */
  workerScaling: Array<{ workers: number; perSec: number; targetCpuPct: number; runs: Array<{ perSec: number; targetCpuPct: number }> }>;
  soak?: {
    durationMs: number;
    rate: number;
    /** RSS once warm (a minute in, or a tenth of the run if shorter) and at the end. */
    rssWarmBytes: number;
    rssEndBytes: number;
    rssGrowthPct: number;
    heapWarmBytes: number;
    heapEndBytes: number;
    completed: number;
    errors: number;
  };
  elapsedMs: number;
}

/** autocannon is what `bench load` compares against; agentperf does not ship it. */
function autocannonBin(): string {
  const require = createRequire(pathToFileURL(join(process.cwd(), 'package.json')).href);
  for (const from of [require, createRequire(import.meta.url)]) {
    try {
      return join(from.resolve('autocannon/package.json'), '..', 'autocannon.js');
    } catch {
      // not installed there; try the next place
    }
  }
  throw new UsageError('autocannon', 'bench load measures agentperf side by side with autocannon, which is not installed: npm install --save-dev autocannon');
}

/** Runs a command to its end and returns its stdout; rejects on a non-zero exit. */
function runProcess(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AGENTPERF_LOG_LEVEL: 'warn' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${err.slice(-500)}`))));
  });
}

/** The in-process generator against a no-op target: can it hold the rate, and how late does it start iterations? */
async function inProcessRuns(options: LoadBenchOptions): Promise<LoadBenchResult['inProcess']> {
  const runs: LoadBenchResult['inProcess']['runs'] = [];
  let scheduledPerSec = 0;
  let lagMaxMs = 0;
  for (let i = 0; i < options.runs; i++) {
    const warmupMs = 1000;
    const schedule = new ArrivalSchedule(stagesOf({ kind: 'constant', rate: options.rate, durationMs: warmupMs + options.runMs }));
    const result = await runEngine(() => undefined, { mode: { kind: 'open', schedule, maxInFlight: 1_000_000 }, warmupMs, drainTimeoutMs: 10_000 });
    scheduledPerSec = result.targetRate ?? 0;
    lagMaxMs = Math.max(lagMaxMs, result.schedulingLag.max);
    runs.push({ startedPerSec: (result.started / options.runMs) * 1000, lagP99Ms: result.schedulingLag.p99, dropped: result.dropped });
  }
  return { scheduledPerSec, startedPerSec: median(runs.map((r) => r.startedPerSec)), lagP99Ms: median(runs.map((r) => r.lagP99Ms)), lagMaxMs, runs };
}

const WAKERS: Record<'sleeping' | 'spinning', Waker> = { sleeping: systemWaker, spinning: spinningWaker };

/** One open-loop run at `rate`; the process's CPU (all threads) over it, as % of one core. */
async function timedRun(rate: number, runMs: number, waker: Waker, iteration: () => unknown) {
  const warmupMs = 500;
  const schedule = new ArrivalSchedule(stagesOf({ kind: 'constant', rate, durationMs: warmupMs + runMs }));
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  const result = await runEngine(iteration, { mode: { kind: 'open', schedule, maxInFlight: 1_000_000 }, warmupMs, drainTimeoutMs: 10_000, waker });
  const cpu = process.cpuUsage(cpuBefore);
  const cpuPctOfCore = ((cpu.user + cpu.system) / 1000 / (performance.now() - wallBefore)) * 100;
  return { result, cpuPctOfCore };
}

/**
 * The scheduler's own cost and accuracy, the sleeping waker beside the spinning one: against a
 * no-op target at each rate (CPU and lag), and against a target of known latency (the
 * corrected percentiles must not move). Runs alternate which waker goes first.
 */
async function schedulerRuns(options: LoadBenchOptions): Promise<Pick<LoadBenchResult, 'scheduler' | 'knownLatency'>> {
  const names = ['sleeping', 'spinning'] as const;
  const perCell = new Map<string, LoadBenchResult['scheduler'][number]['runs']>();
  const lagMax = new Map<string, number>();
  const known = new Map<string, Array<{ p50Ms: number; p99Ms: number }>>();
  const sleep = () => new Promise<void>((resolve) => setTimeout(resolve, KNOWN_LATENCY_MS));
  for (let run = 0; run < options.schedulerRuns; run++) {
    const order = orderForRound(names, run);
    for (const rate of options.schedulerRates) {
      for (const name of order) {
        const { result, cpuPctOfCore } = await timedRun(rate, options.schedulerMs, WAKERS[name], () => undefined);
        const key = `${rate}/${name}`;
        (perCell.get(key) ?? perCell.set(key, []).get(key)!).push({
          cpuPctOfCore,
          lagP99Ms: result.schedulingLag.p99,
          startedPerSec: (result.started / options.schedulerMs) * 1000,
        });
        lagMax.set(key, Math.max(lagMax.get(key) ?? 0, result.schedulingLag.max));
      }
    }
    for (const name of order) {
      const { result } = await timedRun(Math.min(...options.schedulerRates), options.schedulerMs, WAKERS[name], sleep);
      (known.get(name) ?? known.set(name, []).get(name)!).push({ p50Ms: result.latency.p50, p99Ms: result.latency.p99 });
    }
  }
  const scheduler: LoadBenchResult['scheduler'] = [];
  for (const rate of options.schedulerRates) {
    for (const name of names) {
      const runs = perCell.get(`${rate}/${name}`)!;
      scheduler.push({
        rate,
        waker: name,
        cpuPctOfCore: median(runs.map((r) => r.cpuPctOfCore)),
        lagP99Ms: median(runs.map((r) => r.lagP99Ms)),
        lagMaxMs: lagMax.get(`${rate}/${name}`)!,
        runs,
      });
    }
  }
  const knownLatency = names.map((name) => {
    const runs = known.get(name)!;
    return { waker: name, p50Ms: median(runs.map((r) => r.p50Ms)), p99Ms: median(runs.map((r) => r.p99Ms)), runs };
  });
  return { scheduler, knownLatency };
}

type Generator = 'agentperf' | 'autocannon' | 'wrk';

/** wrk when it is on the PATH (Debian: apt-get install wrk); the comparison goes on without it. */
function wrkBin(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const file = join(dir, 'wrk');
    if (existsSync(file)) return file;
  }
  return undefined;
}

/**
 * HTTP mode side by side with autocannon (and wrk when installed) against the same trivial
 * server (its own process), each tool in its own process, rotating which goes first; the same
 * connections, one request in flight on each, no warmup. Each reports requests per second and
 * CPU per request: the generator process's user + system time over the requests it completed
 * (agentperf: its resource monitor around the run; autocannon: its process around the run;
 * wrk: its whole process).
 */
async function httpRounds(
  options: LoadBenchOptions,
  connections: number,
  dir: string,
  autocannon: string,
  wrk: string | undefined,
): Promise<LoadBenchResult['http'][number]> {
  const server = await trivialServer();
  try {
    const port = server.port;
    const url = `http://127.0.0.1:${port}/`;
    const seconds = Math.max(1, Math.round(options.httpMs / 1000));
    const tools: Record<Generator, () => Promise<ToolRun>> = {
      agentperf: async () => {
        const file = join(dir, 'http.json');
        await runProcess(process.execPath, [
          ...cliNodeArgs(),
          'load',
          'http',
          '--set',
          `url=${url}`,
          '--set',
          `connections=${connections}`,
          '--vus',
          String(connections),
          '--duration',
          `${seconds}s`,
          '--warmup',
          '0s',
          '--no-progress',
          '--json',
          file,
        ]);
        const report = JSON.parse(readFileSync(file, 'utf8')) as LoadReport;
        if (report.result.errors > 0) throw new Error(`agentperf saw ${report.result.errors} errors from the trivial server`);
        return { perSec: report.result.throughput, cpuUsPerRequest: report.resources.generator.cpuUs / report.result.completed };
      },
      autocannon: async () => {
        const out = await runProcess(process.execPath, [
          ...nodeArgsForModule(siblingModule(import.meta.url, 'autocannon-runner')),
          autocannon,
          url,
          String(connections),
          String(seconds),
        ]);
        const result = JSON.parse(out) as { requests: number; errors: number; non2xx: number; duration: number; cpuUs: number };
        if (result.errors > 0 || result.non2xx > 0) throw new Error(`autocannon saw ${result.errors} errors from the trivial server`);
        return { perSec: result.requests / result.duration, cpuUsPerRequest: result.cpuUs / result.requests };
      },
      wrk: async () => {
        // One thread: the same single-threaded comparison as the other two.
        const { out, cpuUs } = await withChildCpu(wrk!, ['-t1', `-c${connections}`, `-d${seconds}s`, url]);
        const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
        const perSec = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
        if (!(requests > 0) || /Non-2xx|Socket errors/.test(out)) throw new Error(`wrk did not measure cleanly: ${out.slice(-300)}`);
        return { perSec, cpuUsPerRequest: cpuUs / requests };
      },
    };
    const present: Generator[] = wrk ? ['agentperf', 'autocannon', 'wrk'] : ['agentperf', 'autocannon'];
    const rounds: LoadBenchResult['http'][number]['rounds'] = [];
    for (let round = 0; round < options.rounds; round++) {
      const order = orderForRound(present, round);
      const measured: Partial<Record<Generator, ToolRun>> = {};
      for (const tool of order) measured[tool] = await tools[tool]();
      rounds.push({ ...(measured as Record<'agentperf' | 'autocannon', ToolRun> & { wrk?: ToolRun }), first: order[0] });
    }
    const med = (tool: Generator, field: keyof ToolRun) => median(rounds.map((r) => r[tool]![field]));
    return {
      connections,
      agentperfPerSec: med('agentperf', 'perSec'),
      autocannonPerSec: med('autocannon', 'perSec'),
      ratio: median(rounds.map((r) => r.agentperf.perSec / r.autocannon.perSec)),
      cpuUsPerRequest: {
        agentperf: med('agentperf', 'cpuUsPerRequest'),
        autocannon: med('autocannon', 'cpuUsPerRequest'),
        ...(wrk ? { wrk: med('wrk', 'cpuUsPerRequest') } : {}),
      },
      cpuRatio: median(rounds.map((r) => r.agentperf.cpuUsPerRequest / r.autocannon.cpuUsPerRequest)),
      rounds,
    };
  } finally {
    server.stop();
  }
}

/** Starts the trivial server in its own process; resolves with its port and pid. */
async function trivialServer(): Promise<{ port: number; pid: number; stop(): void }> {
  const server = spawn(process.execPath, nodeArgsForModule(siblingModule(import.meta.url, 'trivial-server')), { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    server.stdout.once('data', (d) => resolve(Number(String(d).trim())));
    server.once('exit', (code) => reject(new Error(`the trivial server exited with ${code}`)));
  });
  return { port, pid: server.pid!, stop: () => server.kill() };
}

/**
 * `load http --workers N` against the trivial server (its own process) at each N, rounds
 * interleaved: throughput, and the server's CPU (read from /proc) to show when it is the
 * limit. On a 2-core machine the generator and a single-threaded server share two cores.
 */
async function workerScaling(options: LoadBenchOptions, dir: string): Promise<LoadBenchResult['workerScaling']> {
  const server = await trivialServer();
  const users = options.connections.at(-1) ?? 50;
  const seconds = Math.max(1, Math.round(options.httpMs / 1000));
  try {
    const runs = new Map<number, Array<{ perSec: number; targetCpuPct: number }>>();
    for (let round = 0; round < options.workerRounds; round++) {
      const order = orderForRound(options.workers, round);
      for (const workers of order) {
        const file = join(dir, `workers-${workers}.json`);
        const before = readProcStat(server.pid);
        await runProcess(process.execPath, [
          ...cliNodeArgs(),
          'load',
          'http',
          '--set',
          `url=http://127.0.0.1:${server.port}/`,
          '--set',
          `connections=${Math.ceil(users / workers)}`,
          '--vus',
          String(users),
          '--workers',
          String(workers),
          '--duration',
          `${seconds}s`,
          '--warmup',
          '0s',
          '--no-progress',
          '--json',
          file,
        ]);
        const after = readProcStat(server.pid);
        const report = JSON.parse(readFileSync(file, 'utf8')) as LoadReport;
        // Over the time the load ran (the server idles while the CLI starts and stops).
        const targetCpuPct = before && after ? ((after.cpuS - before.cpuS) / (report.result.measuredMs / 1000)) * 100 : Number.NaN;
        (runs.get(workers) ?? runs.set(workers, []).get(workers)!).push({ perSec: report.result.throughput, targetCpuPct });
      }
    }
    return options.workers.map((workers) => {
      const r = runs.get(workers)!;
      return { workers, perSec: median(r.map((x) => x.perSec)), targetCpuPct: median(r.map((x) => x.targetCpuPct)), runs: r };
    });
  } finally {
    server.stop();
  }
}

/** A steady rate of in-process cache hits for a long time: memory must stay flat. */
async function soakRun(options: LoadBenchOptions): Promise<NonNullable<LoadBenchResult['soak']>> {
  const { report } = await runLoadTest({
    scenario: cacheHitScenario,
    context: { target: { kind: 'in-process' }, settings: {}, seed: 1, log: rootLogger },
    shape: {
      kind: 'open',
      pattern: `constant ${options.soakRate}/s`,
      stages: stagesOf({ kind: 'constant', rate: options.soakRate, durationMs: options.soakMs }),
      maxInFlight: 10_000,
    },
    warmupMs: 0,
    drainTimeoutMs: 10_000,
    thresholds: [],
  });
  const samples = report.resources.generator.samples;
  const warmAtS = Math.min(60, options.soakMs / 10_000);
  const warm = samples.find((s) => s.atS >= warmAtS) ?? samples[0];
  const end = samples.at(-1)!;
  return {
    durationMs: options.soakMs,
    rate: options.soakRate,
    rssWarmBytes: warm.rssBytes,
    rssEndBytes: end.rssBytes,
    rssGrowthPct: ((end.rssBytes - warm.rssBytes) / warm.rssBytes) * 100,
    heapWarmBytes: warm.heapUsedBytes ?? 0,
    heapEndBytes: end.heapUsedBytes ?? 0,
    completed: report.result.completed,
    errors: report.result.errors,
  };
}

export async function benchLoad(options: LoadBenchOptions = DEFAULT_LOAD_BENCH): Promise<LoadBenchResult> {
  const startedAt = performance.now();
  const autocannon = autocannonBin(); // refused before anything runs when it is missing
  const dir = mkdtempSync(join(tmpdir(), 'agentperf-bench-load-'));
  try {
    const inProcess = await inProcessRuns(options);
    const { scheduler, knownLatency } = await schedulerRuns(options);
    const http: LoadBenchResult['http'] = [];
    const wrk = wrkBin();
    for (const connections of options.connections) http.push(await httpRounds(options, connections, dir, autocannon, wrk));
    const scaling = await workerScaling(options, dir);
    const soak = options.soakMs > 0 ? await soakRun(options) : undefined;
    return { options, inProcess, scheduler, knownLatency, http, workerScaling: scaling, soak, elapsedMs: performance.now() - startedAt };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
