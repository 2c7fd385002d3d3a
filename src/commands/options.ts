// What several commands share: printing, repeatable options, the scenario options, and waiting
// for Ctrl-C. Command definitions only; no command logic lives here.
import { Command } from 'commander';
import { CONFIG_FILES, type Project } from '../config/project.js';
import { UsageError } from '../errors.js';
import type { AgentTarget } from '../scenarios/types.js';
import { parseIntegerOption } from '../units.js';

/** Results go to stdout (tables, JSON); progress and logs go to stderr. */
export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function progressToStderr(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Commander's accumulator for a repeatable option (`--set a=1 --set b=2`). */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** `--seed N`, as every simulator-driven command takes it. */
export function parseSeed(text: string): number {
  return parseIntegerOption('seed', text, 0, 2 ** 32 - 1);
}

/** `--set key=value` pairs. */
export function parseSettings(pairs: readonly string[]): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError('set', `--set takes KEY=VALUE, got ${JSON.stringify(pair)}`);
    settings[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return settings;
}

/** `--target URL`: an HTTP target, or in-process when absent. */
export function targetFrom(target: string | undefined): AgentTarget {
  if (!target) return { kind: 'in-process' };
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new UsageError('target', `target must be an http(s) URL such as http://127.0.0.1:8080, got ${JSON.stringify(target)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError('target', `target must use http or https, got ${JSON.stringify(url.protocol)}`);
  return { kind: 'http', url: url.href };
}

/** A simulator setting's default: commander's own (a value), or the project's config and then this (`project`). */
type SimulatorDefault = { value: string } | { project: string };

const defaultNote = (d: SimulatorDefault) => ('project' in d ? ` (default: the project's, else ${d.project})` : '');

/**
 * The flags of every command that runs the stack (`exec`, `serve`, `demo`, `workflow run`,
 * `cache`), declared once: which agents, the simulator or the real API and the simulator's
 * settings, and the disk cache. Each command takes the groups it has.
 */
export function withStackFlags(
  command: Command,
  which: { agents?: boolean; live?: boolean; latency?: SimulatorDefault; faults?: SimulatorDefault; seed?: SimulatorDefault; cache?: boolean; redis?: boolean },
): Command {
  if (which.agents) command.option('--agents <file>', "agents config file (default: the project's, else the shipped agents.json)");
  if (which.latency)
    command.option(
      '--latency <spec>',
      `simulator latency: fixed:MS | uniform:MIN-MAX | lognormal:MEDIAN,P99 [+MS/token]${defaultNote(which.latency)}`,
      'value' in which.latency ? which.latency.value : undefined,
    );
  if (which.faults)
    command.option(
      '--faults <spec>',
      `simulator faults: TYPE:RATE,... (429, 500, 529, hang, reset, malformed)${defaultNote(which.faults)}`,
      'value' in which.faults ? which.faults.value : undefined,
    );
  if (which.seed) command.option('--seed <n>', `simulator seed${defaultNote(which.seed)}`, 'value' in which.seed ? which.seed.value : undefined);
  if (which.cache) {
    command.option('--cache-dir <dir>', 'response cache directory (default ~/.cache/agentperf/responses)');
    command.option('--require-secret', 'refuse to start without AGENTPERF_CACHE_SECRET');
  }
  if (which.redis)
    command.option(
      '--redis <url>',
      "the shared cache tier in Redis, redis://host:port (default: AGENTPERF_REDIS_URL, else the project config's redis.url; off without one)",
    );
  if (which.live) command.option('--live', 'call the real API (needs ANTHROPIC_API_KEY)');
  return command;
}

/** The flags withScenarioOptions adds, as commander parses them. */
export interface ScenarioFlags {
  target?: string;
  set: string[];
  seed: string;
}

/** What every scenario-driven command (load, profile, leak) takes about the scenario. */
export function withScenarioOptions(command: Command): Command {
  return command
    .option('--target <url>', 'agent scenarios: POST to `agentperf serve` at this URL instead of in-process; http: the URL')
    .option(
      '--set <key=value>',
      'scenario setting, repeatable (url, method, body, header.NAME, agent, latency, warm, cacheMaxBytes, connections ...)',
      collect,
      [],
    )
    .option('--seed <n>', 'seed for the simulator', '1');
}

/** Resolves on SIGINT or SIGTERM: how the long-running servers (serve, simulate) wait to be stopped. */
export function untilInterrupted(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

/**
 * Says on stderr, when no config was found, what the command works with instead: outside a
 * project a command would otherwise measure agentperf's own demo without a word.
 */
export function sayWhenNoConfig(project: Pick<Project, 'configFile' | 'root'>, using: string): void {
  if (project.configFile !== undefined) return;
  progressToStderr(`agentperf: no config found from ${project.root} upward (${CONFIG_FILES.join(', ')}, or an "agentperf" key in package.json): ${using}`);
}
