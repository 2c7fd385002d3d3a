// The agentperf command line: the registry of commands and the one place an error becomes an
// exit code. Each command lives in its own module in src/commands/ (its commander definition
// and its run()); only the command being run is loaded, so `agentperf --help` starts fast.
import { Command, CommanderError } from 'commander';
import { ErrorCode, EXIT_TOOL_FAILURE, isAgentperfError, ScenarioExitError } from './errors.js';
import { VERSION } from './runtime/self.js';

type CommandModule = { command: Command };

interface Leaf {
  load: () => Promise<CommandModule>;
  isDefault?: boolean;
  hidden?: boolean;
}

/** A command, or a group of subcommands (`load run`, `load merge`): its name, its one-line summary, how to load it. */
interface Entry {
  name: string;
  description: string;
  leaves: Leaf[];
}

const single = (name: string, description: string, load: () => Promise<CommandModule>): Entry => ({ name, description, leaves: [{ load }] });

export const REGISTRY: Entry[] = [
  single('init', 'write a starter agentperf.config.json, an example scenario and the CI workflow into this project', () => import('./commands/init.js')),
  single(
    'run',
    'the main job: load, profile, leak check, overhead and gate on the standard plan, with HTML, Markdown and JSON reports',
    () => import('./commands/run.js'),
  ),
  single('report', 're-render the HTML and Markdown reports of a run from its run.json', () => import('./commands/report.js')),
  single('demo', 'a short demo: a few hundred calls through the orchestrator against the simulator, with faults to retry', () => import('./commands/demo.js')),
  single('exec', 'run one agent on one task and print the answer', () => import('./commands/exec.js')),
  single(
    'models',
    "print the model table in use: output limits and prices, the project's `models` merged over the shipped ones",
    () => import('./commands/models.js'),
  ),
  single('simulate', 'run the Messages-API simulator as a standalone server until interrupted', () => import('./commands/simulate.js')),
  single('cache', 'inspect and maintain the signed response cache', () => import('./commands/cache.js')),
  single('serve', 'serve the agents over HTTP (POST /v1/agents/:agent/execute, GET /healthz, /stats, /metrics)', () => import('./commands/serve.js')),
  {
    name: 'load',
    description: 'load-test a scenario: open-loop arrival patterns or closed-loop virtual users',
    leaves: [{ load: () => import('./commands/load.js'), isDefault: true }, { load: () => import('./commands/load-merge.js') }],
  },
  single(
    'profile',
    'profile a scenario under load: CPU profile, flamegraph, bottlenecks, heap sampling; into profiles/<scenario>/<time>/',
    () => import('./commands/profile.js'),
  ),
  single(
    'leak',
    'run a scenario in rounds with GC forced between them; LEAK (exit 1) or CLEAN from the slope of retained bytes',
    () => import('./commands/leak.js'),
  ),
  single('flame', '0x around any Node command: a flamegraph under profiles/flame/<time>/', () => import('./commands/flame.js')),
  single('doctor', 'clinic doctor around any Node command (Node 20; broken upstream on Node 21.7+)', () => import('./commands/doctor.js')),
  {
    name: 'gate',
    description: 'the regression gate: noise-aware verdicts against stored baselines, or paired against a git ref',
    leaves: [
      { load: () => import('./commands/gate.js'), isDefault: true },
      { load: () => import('./commands/gate-block.js'), hidden: true },
      { load: () => import('./commands/gate-overhead.js'), hidden: true },
      { load: () => import('./commands/gate-protocol.js'), hidden: true },
    ],
  },
  {
    name: 'baseline',
    description: 'stored baselines for the gate, one per scenario and environment fingerprint',
    leaves: [{ load: () => import('./commands/baseline-update.js') }, { load: () => import('./commands/baseline-show.js') }],
  },
  single('plan', 'plan a workflow (levels, critical path, parallelism), or generate a random one', () => import('./commands/plan.js')),
  { name: 'workflow', description: 'workflows: DAGs of agent steps', leaves: [{ load: () => import('./commands/workflow-run.js') }] },
  {
    name: 'bench',
    description: 'benchmarks; figures are ratios measured side by side in one run',
    leaves: [
      { load: () => import('./commands/bench-orchestrator.js'), isDefault: true },
      { load: () => import('./commands/bench-cache.js') },
      { load: () => import('./commands/bench-overhead.js') },
      { load: () => import('./commands/bench-load.js') },
      { load: () => import('./commands/bench-profiling.js') },
      { load: () => import('./commands/bench-workflow.js') },
      { load: () => import('./commands/bench-startup.js') },
      { load: () => import('./commands/bench-snapshot.js') },
      { load: () => import('./commands/bench-intervals.js') },
      { load: () => import('./commands/bench-streaming.js') },
    ],
  },
];

/** Commander reports its own usage errors; every command exits 2 on them, with one line. */
function quiet(command: Command): Command {
  command.exitOverride().configureOutput({ outputError: (text, write) => write(text) });
  for (const sub of command.commands) quiet(sub);
  return command;
}

/** The command the arguments name (`agentperf help load` names load too). */
function invoked(argv: readonly string[]): string | undefined {
  const words = argv.filter((a) => !a.startsWith('-'));
  return words[0] === 'help' ? words[1] : words[0];
}

/** The program with the invoked command loaded whole and every other one as a name and a summary. */
async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command('agentperf').description('Profile, load-test and gate an LLM-agent orchestrator and its signed response cache.').version(VERSION);
  const wanted = invoked(argv);
  for (const entry of REGISTRY) {
    if (entry.name !== wanted) {
      program.command(entry.name).description(entry.description);
      continue;
    }
    const leaves = await Promise.all(entry.leaves.map(async (leaf) => ({ ...leaf, command: (await leaf.load()).command })));
    if (leaves.length === 1 && leaves[0].command.name() === entry.name) {
      program.addCommand(leaves[0].command);
      continue;
    }
    const group = program.command(entry.name).description(entry.description);
    for (const leaf of leaves) group.addCommand(leaf.command, { isDefault: leaf.isDefault, hidden: leaf.hidden });
  }
  return quiet(program);
}

/** How long a failed command may take to close what it opened before the process is ended. */
const EXIT_GRACE_MS = 5_000;

const argv = process.argv.slice(2);
let finished = false;
// A command whose process ends before it finished was cut short by code agentperf does not own
// (a scenario's setup calling process.exit(0), say): that is a failure with a code, never the
// exit code that code chose.
// An interruption (Ctrl-C, a CI cancel: 128 + the signal) ends as it is; an uncaught exception
// in agentperf's own code is said as one (Node has printed its stack), never blamed on a scenario.
let crashed = false;
process.on('uncaughtExceptionMonitor', () => (crashed = true));
process.on('exit', (code) => {
  if (finished || code === 130 || code === 143) return;
  if (crashed) {
    process.stderr.write(`agentperf: ${ErrorCode.INTERNAL}: an uncaught exception ended the command (above)\n`);
    process.exitCode = EXIT_TOOL_FAILURE;
    return;
  }
  const error = new ScenarioExitError(
    argv
      .filter((a) => !a.startsWith('-'))
      .slice(0, 2)
      .join(' '),
    code,
  );
  process.stderr.write(`agentperf: ${error.code}: ${error.message}\n`);
  process.exitCode = error.exitCode;
});

try {
  await (await buildProgram(argv)).parseAsync(argv, { from: 'user' });
  finished = true;
} catch (error) {
  finished = true;
  if (error instanceof CommanderError) {
    process.exitCode = error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help' ? 0 : 2;
  } else if (isAgentperfError(error)) {
    process.stderr.write(`agentperf: ${error.code}: ${error.message}\n`);
    process.exitCode = error.exitCode;
  } else {
    // Not one of agentperf's errors: a bug or a broken environment, never a verdict.
    process.stderr.write(`agentperf: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = EXIT_TOOL_FAILURE;
  }
  // A failed command must end even when something it started is still open (a user's scenario
  // whose setup failed half-way, a socket of a library): our own parts close what they opened,
  // and this is the net under code we do not own. Unref'd, so a clean exit is not delayed.
  setTimeout(() => {
    process.stderr.write(`agentperf: exiting with handles still open after the error (${EXIT_GRACE_MS / 1000} s grace)\n`);
    process.exit();
  }, EXIT_GRACE_MS).unref();
}
