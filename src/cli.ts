// The agentperf command line: parse -> config -> call -> print. No logic worth testing lives here.
import { Command, CommanderError } from 'commander';
import { benchOrchestrator, DEFAULT_ORCHESTRATOR_BENCH } from './bench/orchestrator.js';
import { cacheCommand, type CacheAction } from './commands/cache.js';
import { execCommand } from './commands/exec.js';
import { loadCommand, parseSettings, targetFrom } from './commands/load.js';
import { doctorCommand, flameCommand, leakCommand, profileCommand } from './commands/profile.js';
import { DEFAULT_LEAK_OPTIONS } from './profiling/leak.js';
import { baselineShowCommand, baselineUpdateCommand, gateCommand } from './commands/gate.js';
import { runBlockHere } from './gate/block.js';
import { formatPlan, formatWorkflowRun, planCommand, workflowRunCommand } from './commands/plan.js';
import { generateWorkflow } from './workflow/generate.js';
import { gateSelfTest } from './gate/self-test.js';
import { formatSelfTest } from './report/gate.js';
import { formatLeakReport, formatProfileIndex } from './report/profile.js';
import { mergeHdrLogs } from './load/hdr-log.js';
import { formatMergedHdr } from './report/load.js';
import { DEFAULT_RUN_OPTIONS, runDemo } from './commands/demo.js';
import { AgentperfError, UsageError } from './errors.js';
import { parseFaults } from './providers/simulator/faults.js';
import { parseLatency } from './providers/simulator/latency.js';
import { startSimulator } from './providers/simulator/server.js';
import { formatCacheBench, formatLoadBench, formatOrchestratorBench, formatOverheadBench, formatProfilingBench, formatWorkflowBench } from './report/bench.js';
import { benchWorkflow, DEFAULT_WORKFLOW_BENCH } from './bench/workflow.js';
import { benchProfiling, DEFAULT_PROFILING_BENCH } from './bench/profiling.js';
import { benchLoad, DEFAULT_LOAD_BENCH } from './bench/load.js';
import { benchOverhead, DEFAULT_OVERHEAD_BENCH } from './bench/overhead.js';
import { benchCache, DEFAULT_CACHE_BENCH } from './bench/cache.js';
import { formatCacheReport } from './report/cache.js';
import { formatRunSummary } from './report/run-summary.js';
import { formatRunText, readRunRecord, writeRunReports } from './report/run-report.js';
import { runCommand } from './commands/run.js';
import { dirname, relative, resolve } from 'node:path';
import { parseBytes, parseDurationMs, parseIntegerOption, parseIntervalUs, parseNumberOption } from './units.js';
import { startServe } from './commands/serve.js';
import { STANDARD_LATENCY } from './load/scenarios/agent.js';

const out = (text: string) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);

const program = new Command('agentperf')
  .description('Profile, load-test and gate an LLM-agent orchestrator and its signed response cache.')
  .version('0.1.0')
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(text) });

program
  .command('run')
  .description('the main job: load, profile, leak check, overhead and gate on the standard plan, with HTML, Markdown and JSON reports')
  .option('--scenario <name>', 'scenario to run (cache-hit, cache-miss, mixed, ...)', 'mixed')
  .option('--set <key=value>', 'scenario setting, repeatable', (value: string, previous: string[]) => [...previous, value], [] as string[])
  .option('--quick', 'a shorter run: 8 s of load, a shorter leak check, fewer gate blocks (about a minute)')
  .option('--duration <d>', 'measured load, all phases of the standard plan together (default 20s; 8s with --quick)')
  .option('--rate <n>', 'arrivals per second in the steady phase', '200')
  .option('--spike-rate <n>', 'arrivals per second at the spike', '800')
  .option('--plan <spec>', "custom phases instead of the standard plan, e.g. 'ramp=20->200:5s,steady=200:10s,spike=800:3s'")
  .option('--no-gate', 'skip the gate against the stored baselines')
  .option('--baselines <dir>', 'where the baselines are', 'baselines')
  .option('--policy <file>', 'gate policy file (JSON, overrides the defaults)')
  .option('--out <dir>', 'where the run directory goes (default profiles/run/<timestamp>)')
  .option('--seed <n>', 'simulator seed', '1')
  .option('--metrics-port <n>', 'port of the Prometheus /metrics endpoint during the run (0: any free port)', '9464')
  .option('--live', 'load the real API (needs ANTHROPIC_API_KEY); the leak check, overhead and gate stay on the simulator')
  .action(async (opts) => {
    if (opts.live && !process.env.ANTHROPIC_API_KEY) throw new UsageError('live', '--live needs ANTHROPIC_API_KEY in the environment');
    const { run, files } = await runCommand(
      {
        scenario: opts.scenario,
        settings: parseSettings(opts.set),
        quick: Boolean(opts.quick),
        durationMs: opts.duration === undefined ? undefined : parseDurationMs('duration', opts.duration),
        rate: parseNumberOption('rate', opts.rate, 1, 100_000),
        spikeRate: parseNumberOption('spike-rate', opts.spikeRate, 1, 100_000),
        plan: opts.plan,
        gate: opts.gate,
        live: Boolean(opts.live),
        seed: parseIntegerOption('seed', opts.seed, 0, 2 ** 32 - 1),
        metricsPort: parseIntegerOption('metrics-port', opts.metricsPort, 0, 65_535),
        out: opts.out,
        baselines: opts.baselines,
        policyFile: opts.policy,
        argv: process.argv.slice(2),
      },
      (line) => process.stderr.write(`${line}\n`),
    );
    out(formatRunText(run, files));
    process.exitCode = run.exitCode;
  });

program
  .command('report')
  .description('re-render the HTML and Markdown reports of a run from its run.json')
  .argument('<run.json>', 'the run record written by agentperf run')
  .option('--out <dir>', 'where to write report.html and report.md (default: beside the run.json)')
  .action(async (file: string, opts) => {
    const run = await readRunRecord(file);
    const dir = opts.out ?? dirname(file);
    // The flamegraph and profile stay beside run.json: links from elsewhere point back there.
    const linkFrom = (path: string) => relative(resolve(dir), resolve(dirname(file), path));
    run.profile = { ...run.profile, cpuprofile: linkFrom(run.profile.cpuprofile), flamegraph: run.profile.flamegraph && linkFrom(run.profile.flamegraph) };
    const files = await writeRunReports(run, dir, { json: false });
    out(`${files.html}\n${files.markdown}`);
  });

program
  .command('demo')
  .description('a short demo: a few hundred calls through the orchestrator against the simulator, with faults to retry, summarised')
  .option('--calls <n>', 'number of calls', String(DEFAULT_RUN_OPTIONS.calls))
  .option('--concurrency <n>', 'calls in flight at once', String(DEFAULT_RUN_OPTIONS.concurrency))
  .option('--agents <file>', 'agents config file (default: the shipped agents.json)')
  .option('--latency <spec>', 'simulator latency: fixed:MS | uniform:MIN-MAX | lognormal:MEDIAN,P99 [+MS/token]', DEFAULT_RUN_OPTIONS.latency)
  .option('--faults <spec>', 'simulator faults: TYPE:RATE,... (429, 500, 529, hang, reset, malformed)', DEFAULT_RUN_OPTIONS.faults)
  .option('--seed <n>', 'simulator seed', String(DEFAULT_RUN_OPTIONS.seed))
  .option('--metrics-port <n>', 'port of the Prometheus /metrics endpoint during the run (0: any free port)', String(DEFAULT_RUN_OPTIONS.metricsPort))
  .option('--live', 'call the real API (needs ANTHROPIC_API_KEY)')
  .option('--json', 'print the summary as JSON')
  .action(async (opts) => {
    const summary = await runDemo({
      metricsPort: parseIntegerOption('metrics-port', opts.metricsPort, 0, 65_535),
      calls: parseIntegerOption('calls', opts.calls, 1, 1_000_000),
      concurrency: parseIntegerOption('concurrency', opts.concurrency, 1, 10_000),
      agentsFile: opts.agents,
      live: opts.live,
      latency: opts.latency,
      faults: opts.faults,
      seed: parseIntegerOption('seed', opts.seed, 0, 2 ** 32 - 1),
    });
    out(opts.json ? JSON.stringify(summary, null, 2) : formatRunSummary(summary));
    if (summary.counters.succeeded === 0) process.exitCode = 1;
  });

program
  .command('exec')
  .description('run one agent on one task and print the answer')
  .argument('<agent>', 'agent name from the agents file')
  .argument('<task>', 'the task, sent as user content')
  .option('--json', 'print the whole result object as JSON')
  .option('--agents <file>', 'agents config file (default: the shipped agents.json)')
  .option('--temperature <t>', 'override the agent temperature (0 to 1)')
  .option('--max-tokens <n>', "override the agent's maxTokens")
  .option('--timeout <duration>', 'overall deadline, e.g. 30s')
  .option('--cache-dir <dir>', 'response cache directory (default ~/.cache/agentperf/responses)')
  .option('--no-cache', 'neither read nor write the response cache')
  .option('--refresh', 'skip the cache read, store the fresh answer')
  .option('--require-secret', 'refuse to start without AGENTPERF_CACHE_SECRET')
  .option('--live', 'call the real API (needs ANTHROPIC_API_KEY)')
  .action(async (agent: string, task: string, opts) => {
    const result = await execCommand(agent, task, {
      agentsFile: opts.agents,
      live: opts.live,
      useCache: opts.cache,
      cacheDir: opts.cacheDir,
      requireSecret: opts.requireSecret,
      cache: opts.refresh ? 'refresh' : undefined,
      temperature: opts.temperature === undefined ? undefined : Number(opts.temperature),
      maxTokens: opts.maxTokens === undefined ? undefined : Number(opts.maxTokens),
      deadlineMs: opts.timeout === undefined ? undefined : parseDurationMs('timeout', opts.timeout),
    });
    out(opts.json ? JSON.stringify(result, null, 2) : result.output);
  });

program
  .command('simulate')
  .description('run the Messages-API simulator as a standalone server until interrupted')
  .option('--port <n>', 'port to listen on', '8787')
  .option('--host <host>', 'address to bind', '127.0.0.1')
  .option('--latency <spec>', 'fixed:MS | uniform:MIN-MAX | lognormal:MEDIAN,P99 [+MS/token]', 'fixed:0')
  .option('--faults <spec>', 'TYPE:RATE,... with TYPE one of 429, 500, 529, hang, reset, malformed', '')
  .option('--retry-after <duration>', 'what 429 responses ask clients to wait', '1s')
  .option('--seed <n>', 'seed for latency and fault draws', '1')
  .action(async (opts) => {
    const faults = parseFaults(opts.faults);
    const simulator = await startSimulator({
      port: parseIntegerOption('port', opts.port, 0, 65_535),
      host: opts.host,
      latency: parseLatency(opts.latency),
      faults: { ...faults, retryAfterMs: parseDurationMs('retry-after', opts.retryAfter) },
      seed: parseIntegerOption('seed', opts.seed, 0, 2 ** 32 - 1),
    });
    out(`simulator listening on ${simulator.url} (POST /v1/messages); set ANTHROPIC_BASE_URL=${simulator.url} to point an SDK at it`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await simulator.close();
  });

program
  .command('cache')
  .description('inspect and maintain the signed response cache')
  .argument('<action>', 'stats | verify | clear | prune')
  .option('--cache-dir <dir>', 'response cache directory (default ~/.cache/agentperf/responses)')
  .option('--require-secret', 'refuse to start without AGENTPERF_CACHE_SECRET')
  .option('--json', 'print the report as JSON')
  .action(async (action: string, opts) => {
    if (!['stats', 'verify', 'clear', 'prune'].includes(action)) throw new UsageError('action', `action must be one of stats, verify, clear, prune, got ${JSON.stringify(action)}`);
    const report = await cacheCommand(action as CacheAction, { cacheDir: opts.cacheDir, requireSecret: opts.requireSecret });
    out(opts.json ? JSON.stringify(report, null, 2) : formatCacheReport(report));
    if (report.action === 'verify' && report.failures.length > 0) process.exitCode = 1;
  });

program
  .command('serve')
  .description('serve the agents over HTTP (POST /v1/agents/:agent/execute, GET /healthz, /stats, /metrics)')
  .option('--host <host>', 'address to bind', '127.0.0.1')
  .option('--port <n>', 'port to listen on (0: any free port)', '8080')
  .option('--agents <file>', 'agents config file (default: the shipped agents.json)')
  .option('--latency <spec>', 'simulator latency: fixed:MS | uniform:MIN-MAX | lognormal:MEDIAN,P99 [+MS/token]', STANDARD_LATENCY)
  .option('--faults <spec>', 'simulator faults: TYPE:RATE,...', '')
  .option('--seed <n>', 'simulator seed', '1')
  .option('--max-concurrent <n>', 'upstream calls in flight at once', '100')
  .option('--max-queued <n>', 'calls waiting for a slot; past it 503', '10000')
  .option('--body-limit <size>', 'largest request body (bytes, or 64kb, 1mb)', '1mb')
  .option('--live', 'call the real API (needs ANTHROPIC_API_KEY)')
  .action(async (opts) => {
    const server = await startServe({
      host: opts.host,
      port: parseIntegerOption('port', opts.port, 0, 65_535),
      agentsFile: opts.agents,
      latency: opts.latency,
      faults: opts.faults || undefined,
      seed: parseIntegerOption('seed', opts.seed, 0, 2 ** 32 - 1),
      live: opts.live,
      maxConcurrent: parseIntegerOption('max-concurrent', opts.maxConcurrent, 1, 100_000),
      maxQueued: parseIntegerOption('max-queued', opts.maxQueued, 0, 10_000_000),
      bodyLimitBytes: parseBytes('body-limit', opts.bodyLimit, 64, 64 * 1024 * 1024),
    });
    out(`agentperf serve listening on ${server.url} (POST /v1/agents/:agent/execute, GET /healthz, /stats, /metrics)`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await server.close();
  });

const collect = (value: string, previous: string[]) => [...previous, value];
/** What every scenario-driven command (load, profile, leak) takes about the scenario. */
const withScenarioOptions = (command: Command) =>
  command
    .option('--target <url>', 'agent scenarios: POST to `agentperf serve` at this URL instead of in-process; http: the URL')
    .option('--set <key=value>', 'scenario setting, repeatable (url, method, body, header.NAME, agent, latency, warm, cacheMaxBytes, connections ...)', collect, [])
    .option('--seed <n>', 'seed for the simulator', '1');
const load = program.command('load').description('load-test a scenario: open-loop arrival patterns or closed-loop virtual users');
withScenarioOptions(load.command('run', { isDefault: true }))
  .description('run a scenario (cache-hit, cache-miss, mixed, http, workflow or a module file) under load')
  .argument('<scenario>', 'cache-hit | cache-miss | mixed | http | path/to/scenario.ts')
  .option('--pattern <kind>', 'open-loop arrivals: constant | ramp | spike | step | stages', 'constant')
  .option('--rate <n>', 'iterations per second (constant; the base rate of spike)')
  .option('--from <n>', 'ramp: starting rate per second')
  .option('--to <n>', 'ramp: final rate per second')
  .option('--spike-rate <n>', 'spike: the rate during the spike')
  .option('--spike-at <duration>', 'spike: when it starts (default a third of the way in)')
  .option('--spike-duration <duration>', 'spike: how long it lasts (default a sixth of the run)')
  .option('--stages <list>', 'step: RATE:DURATION,...; stages: FROM->TO:DURATION or RATE:DURATION,...')
  .option('--vus <n>', 'closed loop instead: N virtual users, each starting its next iteration when the last ends')
  .option('--duration <duration>', 'measured duration (constant, ramp, spike, --vus; per level with --scaling)', '30s')
  .option('--warmup <duration>', 'run first at the starting rate, not recorded', '2s')
  .option('--iterations <n>', 'stop after this many measured iterations')
  .option('--max-in-flight <n>', 'open loop: iterations in flight at most; past it arrivals are dropped and counted', '10000')
  .option('--drain-timeout <duration>', 'how long to wait for iterations in flight at the end', '30s')
  .option('--target-pid <pid>', 'a local process serving the target, for the resource monitor')
  .option('--threshold <expr>', "pass/fail criterion, repeatable: 'p95<500ms', 'error_rate<1%', 'throughput>5'", collect, [])
  .option('--json <file>', 'write the versioned summary as JSON')
  .option('--csv <file>', 'stream every measured request to a CSV file')
  .option('--hdr <file>', 'write the latency histograms as an HDR histogram log (see load merge)')
  .option('--scaling <list>', "closed-loop runs at each concurrency, e.g. 1,10,50,100,1000: throughput, p95, speedup")
  .option('--no-progress', 'no live progress line on stderr')
  .action(async (scenario: string, opts) => {
    const result = await loadCommand(scenario, opts);
    out(result.text);
    process.exitCode = result.exitCode;
  });
load
  .command('merge')
  .description('merge HDR logs written by `load --hdr` (e.g. from several generators) into one latency table')
  .argument('<files...>', 'HDR log files')
  .option('--json', 'print the merged percentiles as JSON')
  .action(async (files: string[], opts) => {
    const merged = await mergeHdrLogs(files);
    out(opts.json ? JSON.stringify(merged, null, 2) : formatMergedHdr(merged));
  });

withScenarioOptions(program.command('profile'))
  .description('profile a scenario under load: CPU profile, flamegraph, bottlenecks, heap sampling; into profiles/<scenario>/<time>/')
  .argument('<scenario>', 'cache-hit | cache-miss | mixed | http | path/to/scenario.ts')
  .option('--cpu', 'the CPU profile (with --heap: both; neither: both)')
  .option('--heap', 'the sampling heap profile')
  .option('--snapshot', 'also a heap snapshot at the end (pauses the process; needs about twice the heap)')
  .option('--duration <duration>', 'how long to run the scenario', '10s')
  .option('--warmup <duration>', 'load warmup, left out of the load figures (the profilers run from the end of setup)', '0s')
  .option('--vus <n>', 'closed-loop virtual users', '10')
  .option('--rate <n>', 'open loop at this rate instead of --vus')
  .option('--interval <duration>', 'CPU sampling interval (e.g. 1ms, 100us)', '1ms')
  .option('--heap-interval <size>', 'heap sampling interval in bytes', '512kb')
  .option('--out <dir>', 'output directory (default profiles/<scenario>/<timestamp>/)')
  .option('--json', 'print index.json instead of the tables')
  .action(async (scenario: string, opts) => {
    const { index, dir } = await profileCommand({
      scenario,
      cpu: Boolean(opts.cpu),
      heap: Boolean(opts.heap),
      snapshot: Boolean(opts.snapshot),
      durationMs: parseDurationMs('duration', opts.duration),
      warmupMs: parseDurationMs('warmup', opts.warmup),
      vus: parseIntegerOption('vus', opts.vus, 1, 100_000),
      rate: opts.rate === undefined ? undefined : parseNumberOption('rate', opts.rate, 0.001, 10_000_000),
      cpuIntervalUs: parseIntervalUs('interval', opts.interval),
      heapIntervalBytes: parseBytes('heap-interval', opts.heapInterval, 1024, 2 ** 30),
      outDir: opts.out,
      settings: parseSettings(opts.set),
      target: targetFrom(opts.target),
      seed: parseIntegerOption('seed', opts.seed, 0, 2 ** 32 - 1),
    });
    out(opts.json ? JSON.stringify(index, null, 2) : formatProfileIndex(index, dir));
  });

withScenarioOptions(program.command('leak'))
  .description('run a scenario in rounds with GC forced between them; LEAK (exit 1) or CLEAN from the slope of retained bytes')
  .argument('<scenario>', 'cache-hit | cache-miss | mixed | http | path/to/scenario.ts')
  .option('--rounds <n>', 'measured rounds', String(DEFAULT_LEAK_OPTIONS.rounds))
  .option('--iterations <n>', 'iterations per round', String(DEFAULT_LEAK_OPTIONS.iterationsPerRound))
  .option('--warmup-rounds <n>', 'rounds run before measuring (JIT, caches filling)', String(DEFAULT_LEAK_OPTIONS.warmupRounds))
  .option('--concurrency <n>', 'iterations in flight at once', String(DEFAULT_LEAK_OPTIONS.concurrency))
  .option('--threshold <bytes>', 'LEAK when the 95% lower bound of bytes retained per iteration is above this', String(DEFAULT_LEAK_OPTIONS.thresholdBytesPerIteration))
  .option('--snapshot-rounds <n>', 'rounds between the three snapshots taken on a LEAK', String(DEFAULT_LEAK_OPTIONS.snapshotRounds))
  .option('--out <dir>', 'where the snapshots go (default profiles/<scenario>/<timestamp>/leak)')
  .option('--json', 'print the report as JSON')
  .action(async (scenario: string, opts) => {
    const report = await leakCommand({
      scenario,
      rounds: parseIntegerOption('rounds', opts.rounds, 3, 10_000),
      iterationsPerRound: parseIntegerOption('iterations', opts.iterations, 1, 10_000_000),
      warmupRounds: parseIntegerOption('warmup-rounds', opts.warmupRounds, 0, 10_000),
      concurrency: parseIntegerOption('concurrency', opts.concurrency, 1, 10_000),
      thresholdBytesPerIteration: parseNumberOption('threshold', opts.threshold, 0, 1e12),
      snapshotRounds: parseIntegerOption('snapshot-rounds', opts.snapshotRounds, 1, 10_000),
      outDir: opts.out,
      settings: parseSettings(opts.set),
      target: targetFrom(opts.target),
      seed: parseIntegerOption('seed', opts.seed, 0, 2 ** 32 - 1),
    });
    out(opts.json ? JSON.stringify(report, null, 2) : formatLeakReport(report));
    process.exitCode = report.verdict === 'LEAK' ? 1 : 0;
  });

program
  .command('flame')
  .description('0x around any Node command: a flamegraph under profiles/flame/<time>/')
  .argument('<command...>', 'the command after --, e.g. -- node server.js')
  .option('--out <dir>', 'output directory')
  .action(async (command: string[], opts) => {
    const result = await flameCommand(command, opts.out);
    out(`flamegraph written under ${result.dir}`);
    process.exitCode = result.exitCode;
  });

program
  .command('doctor')
  .description('clinic doctor around any Node command (Node 20; broken upstream on Node 21.7+)')
  .argument('<command...>', 'the command after --, e.g. -- node server.js')
  .option('--out <dir>', 'output directory')
  .action(async (command: string[], opts) => {
    const result = await doctorCommand(command, opts.out);
    out(`clinic doctor report written under ${result.dir}`);
    process.exitCode = result.exitCode;
  });

const gate = program.command('gate').description('the regression gate: noise-aware verdicts against stored baselines, or paired against a git ref');
gate
  .command('run', { isDefault: true })
  .description('run the gated scenarios and judge every metric PASS, FAIL or INCONCLUSIVE (exit 0, 1 or 3)')
  .option('--scenario <name>', 'gate only this scenario, repeatable', collect, [])
  .option('--policy <file>', 'gate policy JSON (defaults: the mixed scenario, 10% tolerances, the seeds\' SLOs)')
  .option('--against <git-ref>', 'the paired mode: the ref in a temporary worktree against this checkout, ABBA blocks (recommended for pull requests)')
  .option('--baselines <dir>', 'where baselines are stored', 'baselines')
  .option('--json <file>', 'also write the result as JSON')
  .option('--self-test', "the gate's own validation: A/A, 10% and 20% slowdowns on the synthetic scenario (about 20 minutes)")
  .option('--gates <n>', 'gates per self-test case', '20')
  .action(async (opts) => {
    if (opts.selfTest) {
      const result = await gateSelfTest(parseIntegerOption('gates', opts.gates, 1, 1_000), (line) => process.stderr.write(`${line}\n`));
      out(formatSelfTest(result));
      process.exitCode = result.rows.every((r) => r.met) ? 0 : 1;
      return;
    }
    const result = await gateCommand({ policyFile: opts.policy, scenarios: opts.scenario.length ? opts.scenario : undefined, against: opts.against, baselineDir: opts.baselines, jsonFile: opts.json });
    out(result.markdown);
    process.exitCode = result.exitCode;
  });
gate
  .command('block', { hidden: true })
  .description('one gate block in this process (the gate runs it in fresh processes)')
  .argument('<spec>', 'the block spec as JSON')
  .action(async (spec: string) => {
    out(JSON.stringify(await runBlockHere(JSON.parse(spec))));
  });

const baseline = program.command('baseline').description('stored baselines for the gate, one per scenario and environment fingerprint');
baseline
  .command('update')
  .description('measure the gated scenarios in fresh-process blocks and store the distribution')
  .option('--scenario <name>', 'only this scenario, repeatable', collect, [])
  .option('--blocks <n>', 'blocks to store', '9')
  .option('--policy <file>', 'gate policy JSON')
  .option('--baselines <dir>', 'where baselines are stored', 'baselines')
  .action(async (opts) => {
    const files = await baselineUpdateCommand({ policyFile: opts.policy, scenarios: opts.scenario.length ? opts.scenario : undefined, blocks: parseIntegerOption('blocks', opts.blocks, 3, 1_000), baselineDir: opts.baselines });
    out(files.map((f) => `wrote ${f}`).join('\n'));
  });
baseline
  .command('show')
  .description('print the stored baselines')
  .option('--baselines <dir>', 'where baselines are stored', 'baselines')
  .action(async (opts) => {
    out(await baselineShowCommand(opts.baselines));
  });

program
  .command('plan')
  .description('plan a workflow (levels, critical path, parallelism), or generate a random one')
  .argument('[workflow]', 'workflow JSON file')
  .option('--json', 'print the plan as JSON')
  .option('--generate <n>', 'print a random workflow of n steps instead (for benchmarks)')
  .option('--edges <m>', 'with --generate: dependencies per step', '3')
  .option('--seed <n>', 'with --generate: random seed', '1')
  .action(async (file: string | undefined, opts) => {
    if (opts.generate !== undefined) {
      out(JSON.stringify(generateWorkflow(parseIntegerOption('generate', opts.generate, 1, 10_000_000), parseIntegerOption('edges', opts.edges, 0, 1000), parseIntegerOption('seed', opts.seed, 0, 2 ** 32 - 1))));
      return;
    }
    if (!file) throw new UsageError('workflow', 'give a workflow file, or --generate N');
    const { workflow, plan } = await planCommand(file);
    out(opts.json ? JSON.stringify(plan, null, 2) : formatPlan(workflow.name ?? file, plan));
  });

const workflowCommand = program.command('workflow').description('workflows: DAGs of agent steps');
workflowCommand
  .command('run')
  .description('execute a workflow through the orchestrator (the simulator unless --live)')
  .argument('<workflow>', 'workflow JSON file')
  .option('--input <text>', 'what {{input}} stands for in the tasks')
  .option('--max-parallel <n>', 'steps running at once', '4')
  .option('--on-error <policy>', 'fail-fast | continue', 'fail-fast')
  .option('--agents <file>', 'agents config file (default: the shipped agents.json)')
  .option('--latency <spec>', 'simulator latency', STANDARD_LATENCY)
  .option('--seed <n>', 'simulator seed', '1')
  .option('--live', 'call the real API (needs ANTHROPIC_API_KEY)')
  .option('--json', 'print the run (every step, its output and timings) as JSON')
  .action(async (file: string, opts) => {
    if (opts.onError !== 'fail-fast' && opts.onError !== 'continue') throw new UsageError('on-error', `on-error must be fail-fast or continue, got ${JSON.stringify(opts.onError)}`);
    const run = await workflowRunCommand(file, {
      input: opts.input,
      maxParallel: parseIntegerOption('max-parallel', opts.maxParallel, 1, 10_000),
      onError: opts.onError,
      agentsFile: opts.agents,
      latency: opts.latency,
      seed: parseIntegerOption('seed', opts.seed, 0, 2 ** 32 - 1),
      live: opts.live,
    });
    out(opts.json ? JSON.stringify(run, null, 2) : formatWorkflowRun(run));
    if (run.status !== 'completed') process.exitCode = 1;
  });

const bench = program.command('bench').description('benchmarks; figures are ratios measured side by side in one run');
bench
  .command('orchestrator', { isDefault: true })
  .description('executeAgent against the bare SDK call on the same simulator, and calls/s in-process')
  .option('--rounds <n>', 'interleaved rounds (medians are reported)', String(DEFAULT_ORCHESTRATOR_BENCH.rounds))
  .option('--calls <n>', 'calls per block', String(DEFAULT_ORCHESTRATOR_BENCH.callsPerBlock))
  .option('--concurrency <list>', 'comma-separated concurrencies', DEFAULT_ORCHESTRATOR_BENCH.concurrencies.join(','))
  .option('--in-process-calls <n>', 'calls for the in-process throughput figure', String(DEFAULT_ORCHESTRATOR_BENCH.inProcessCalls))
  .option('--json', 'print the result as JSON')
  .action(async (opts) => {
    const result = await benchOrchestrator({
      rounds: parseIntegerOption('rounds', opts.rounds, 1, 1_000),
      callsPerBlock: parseIntegerOption('calls', opts.calls, 1, 10_000_000),
      concurrencies: String(opts.concurrency).split(',').map((c) => parseIntegerOption('concurrency', c, 1, 10_000)),
      inProcessCalls: parseIntegerOption('in-process-calls', opts.inProcessCalls, 1, 100_000_000),
    });
    out(opts.json ? JSON.stringify(result, null, 2) : formatOrchestratorBench(result));
  });

bench
  .command('cache')
  .description('memory and disk hit latency, set latency, and opening a 100,000-entry cache')
  .option('--memory-iterations <n>', 'timed memory hits', String(DEFAULT_CACHE_BENCH.memoryIterations))
  .option('--disk-iterations <n>', 'timed disk hits', String(DEFAULT_CACHE_BENCH.diskIterations))
  .option('--open-entries <n>', 'entries in the cache that is reopened', String(DEFAULT_CACHE_BENCH.openEntries))
  .option('--json', 'print the result as JSON')
  .action(async (opts) => {
    const result = await benchCache({
      ...DEFAULT_CACHE_BENCH,
      memoryIterations: parseIntegerOption('memory-iterations', opts.memoryIterations, 10_000, 100_000_000),
      diskIterations: parseIntegerOption('disk-iterations', opts.diskIterations, 1, 10_000_000),
      openEntries: parseIntegerOption('open-entries', opts.openEntries, 1, 10_000_000),
    });
    out(opts.json ? JSON.stringify(result, null, 2) : formatCacheBench(result));
  });

bench
  .command('overhead')
  .description('instrumentation fully on against fully off, alternating blocks in fresh processes')
  .option('--pairs <n>', 'on/off pairs per workload', String(DEFAULT_OVERHEAD_BENCH.pairs))
  .option('--duration <duration>', 'measured time per block', `${DEFAULT_OVERHEAD_BENCH.durationMs}ms`)
  .option('--warmup <duration>', 'unmeasured time per block before it (the JIT warming up)', `${DEFAULT_OVERHEAD_BENCH.warmupMs}ms`)
  .option('--workload <name>', 'standard | memory-hits, repeatable (default both)', collect, [])
  .option('--json', 'print the result as JSON')
  .action(async (opts) => {
    const workloads = (opts.workload as string[]).length ? (opts.workload as string[]) : DEFAULT_OVERHEAD_BENCH.workloads;
    for (const w of workloads) if (w !== 'standard' && w !== 'memory-hits') throw new UsageError('workload', `workload must be standard or memory-hits, got ${JSON.stringify(w)}`);
    const result = await benchOverhead(
      {
        ...DEFAULT_OVERHEAD_BENCH,
        pairs: parseIntegerOption('pairs', opts.pairs, 1, 1_000),
        durationMs: parseDurationMs('duration', opts.duration),
        warmupMs: parseDurationMs('warmup', opts.warmup),
        workloads: workloads as typeof DEFAULT_OVERHEAD_BENCH.workloads,
      },
      (block) => process.stderr.write(`  ${block.spec.workload} ${block.spec.instrumented ? 'on ' : 'off'}: ${Math.round(block.callsPerSec)} calls/s\n`),
    );
    out(opts.json ? JSON.stringify(result, null, 2) : formatOverheadBench(result));
  });

bench
  .command('load')
  .description('the load generator: in-process rate and lag against a no-op target; HTTP side by side with autocannon; an optional soak')
  .option('--rate <n>', 'in-process scheduled rate', String(DEFAULT_LOAD_BENCH.rate))
  .option('--runs <n>', 'in-process runs (medians are reported)', String(DEFAULT_LOAD_BENCH.runs))
  .option('--rounds <n>', 'HTTP rounds against autocannon', String(DEFAULT_LOAD_BENCH.rounds))
  .option('--connections <list>', 'HTTP connections for both tools, comma-separated', DEFAULT_LOAD_BENCH.connections.join(','))
  .option('--soak <duration>', 'also run a steady-rate soak this long (e.g. 10m) and report RSS growth', '0s')
  .option('--soak-rate <n>', 'the soak rate', String(DEFAULT_LOAD_BENCH.soakRate))
  .option('--json', 'print the result as JSON')
  .action(async (opts) => {
    const result = await benchLoad({
      ...DEFAULT_LOAD_BENCH,
      rate: parseIntegerOption('rate', opts.rate, 1, 10_000_000),
      runs: parseIntegerOption('runs', opts.runs, 1, 100),
      rounds: parseIntegerOption('rounds', opts.rounds, 1, 100),
      connections: String(opts.connections).split(',').map((c) => parseIntegerOption('connections', c.trim(), 1, 10_000)),
      soakMs: parseDurationMs('soak', opts.soak),
      soakRate: parseIntegerOption('soak-rate', opts.soakRate, 1, 1_000_000),
    });
    out(opts.json ? JSON.stringify(result, null, 2) : formatLoadBench(result));
  });

bench
  .command('profiling')
  .description('the CPU profiler on the mixed scenario: off, 10 ms and 1 ms sampling, interleaved')
  .option('--rounds <n>', 'interleaved rounds', String(DEFAULT_PROFILING_BENCH.rounds))
  .option('--block <duration>', 'length of each block', `${DEFAULT_PROFILING_BENCH.blockMs}ms`)
  .option('--vus <n>', 'closed-loop users', String(DEFAULT_PROFILING_BENCH.vus))
  .option('--latency <spec>', 'simulator latency', DEFAULT_PROFILING_BENCH.latency)
  .option('--json', 'print the result as JSON')
  .action(async (opts) => {
    const result = await benchProfiling({
      rounds: parseIntegerOption('rounds', opts.rounds, 1, 1_000),
      blockMs: parseDurationMs('block', opts.block),
      vus: parseIntegerOption('vus', opts.vus, 1, 100_000),
      latency: opts.latency,
    });
    out(opts.json ? JSON.stringify(result, null, 2) : formatProfilingBench(result));
  });

bench
  .command('workflow')
  .description('workflow planning time from 1,000 to 1,000,000 steps, and event-bus throughput')
  .option('--sizes <list>', 'workflow sizes', DEFAULT_WORKFLOW_BENCH.sizes.join(','))
  .option('--edges <m>', 'dependencies per step', String(DEFAULT_WORKFLOW_BENCH.edges))
  .option('--json', 'print the result as JSON')
  .action(async (opts) => {
    const result = await benchWorkflow({ sizes: String(opts.sizes).split(',').map((v) => parseIntegerOption('sizes', v.trim(), 1, 10_000_000)), edges: parseIntegerOption('edges', opts.edges, 0, 100) });
    out(opts.json ? JSON.stringify(result, null, 2) : formatWorkflowBench(result));
  });

// Commander reports its own usage errors; make every flavour of bad input exit 2 with one line.
for (const command of [program, ...program.commands, ...bench.commands, ...load.commands, ...gate.commands, ...baseline.commands, ...workflowCommand.commands]) command.exitOverride();

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help' ? 0 : 2;
  } else if (error instanceof AgentperfError) {
    process.stderr.write(`agentperf: ${error.code}: ${error.message}\n`);
    process.exitCode = error.exitCode;
  } else {
    process.stderr.write(`agentperf: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
}
