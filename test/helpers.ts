import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentConfig } from '../src/config/agents.ts';
import { ManualClock } from '../src/clock.ts';
import { Orchestrator, type OrchestratorOptions } from '../src/orchestrator/orchestrator.ts';
import { createAnthropicProvider } from '../src/providers/anthropic.ts';
import { messageFor } from '../src/providers/simulator/respond.ts';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../src/providers/simulator/server.ts';
import type { CreateMessageOptions, MessageParams, MessagesProvider, ProviderResult } from '../src/providers/types.ts';

const temporaryDirs: string[] = [];

/** A fresh directory under the system's temporary one, removed by `removeTemporaryDirs`. */
export function temporaryDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temporaryDirs.push(dir);
  return dir;
}

/** Removes every directory `temporaryDir` made: register it with `test.after.always` in the test file. */
export function removeTemporaryDirs(): void {
  for (const dir of temporaryDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export const TEST_AGENTS: AgentConfig[] = [
  {
    name: 'python-expert',
    model: 'claude-sonnet-5-5',
    systemPrompt: 'You are a Python expert.',
    maxTokens: 1024,
    temperature: 0.2,
    cacheable: true,
    version: 1,
  },
  { name: 'legacy-helper', model: 'claude-haiku-4-5', systemPrompt: 'You help.', maxTokens: 512, temperature: 0.5, cacheable: true, version: 1 },
];

/** Waits for a condition without sleeping: yields to the event loop, bounded. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, maxTurns = 200_000): Promise<void> {
  for (let i = 0; i < maxTurns; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A provider whose calls finish only when the test says so. */
export class ControlledProvider implements MessagesProvider {
  readonly name = 'controlled';
  readonly pending: Array<{ params: MessageParams; options: CreateMessageOptions; resolve: (r: ProviderResult) => void; reject: (e: unknown) => void }> = [];
  calls = 0;
  inFlight = 0;
  maxInFlight = 0;
  closed = false;

  createMessage(params: MessageParams, options: CreateMessageOptions): Promise<ProviderResult> {
    this.calls++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise<ProviderResult>((resolve, reject) => {
      this.pending.push({ params, options, resolve, reject });
      options.signal?.addEventListener('abort', () => reject(new Error('aborted by signal')), { once: true });
    }).finally(() => {
      this.inFlight--;
    });
  }

  /** Answers the oldest pending call. */
  answerNext(): void {
    const entry = this.pending.shift();
    if (!entry) throw new Error('no pending call');
    entry.resolve({ ...messageFor(entry.params, 'msg_test'), _request_id: 'req_test' });
  }

  toError(error: unknown): unknown {
    return error;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

export interface SimulatedSetup {
  simulator: RunningSimulator;
  orchestrator: Orchestrator;
  clock: ManualClock;
}

/** The real SDK over real HTTP to an in-process simulator, with a manual clock. */
export async function withSimulator(
  simulatorOptions: SimulatorOptions = {},
  orchestratorOptions: Partial<OrchestratorOptions> = {},
  clock = new ManualClock({ autoAdvanceSleeps: true }),
): Promise<SimulatedSetup> {
  const simulator = await startSimulator(simulatorOptions);
  const orchestrator = new Orchestrator({
    agents: TEST_AGENTS,
    provider: createAnthropicProvider({ apiKey: 'test-key', baseURL: simulator.url, name: 'simulator' }),
    clock,
    random: () => 0.5,
    ...orchestratorOptions,
  });
  return { simulator, orchestrator, clock };
}

export async function teardown(setup: SimulatedSetup): Promise<void> {
  await setup.orchestrator.close({ abortInFlight: true });
  await setup.simulator.close();
}

const CLI = fileURLToPath(new URL('../bin/agentperf.js', import.meta.url));

/** Runs the agentperf CLI in a child process, quietly logged; resolves with its exit code and output. */
export function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      {
        cwd: options.cwd,
        env: { ...process.env, AGENTPERF_LOG_LEVEL: 'silent', ANTHROPIC_API_KEY: '', GITHUB_STEP_SUMMARY: '', ...options.env },
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * The first fenced code block of `language` after the first line of the README that contains
 * `marker`: tests use the README's own examples, so that what it shows is what is tested.
 */
export function readmeBlock(marker: string, language: string): string {
  const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
  const at = readme.indexOf(marker);
  if (at < 0) throw new Error(`README has no ${JSON.stringify(marker)}`);
  const open = readme.indexOf(`\`\`\`${language}\n`, at);
  if (open < 0) throw new Error(`README has no ${language} block after ${JSON.stringify(marker)}`);
  const start = open + language.length + 4;
  return readme.slice(start, readme.indexOf('\n```', start) + 1);
}
