import type { Instrumentation } from '../../instrumentation/start.js';
import { loadAgents, type AgentConfig } from '../config/agents.js';
import { currentProject, givenOr, type Project } from '../config/project.js';
import { openStack, type Stack, type StackOptions } from '../stack.js';

/** What a command that calls agents runs on: its project, its agents, telemetry and the stack. */
export interface CommandStack<I extends Instrumentation | undefined> {
  project: Project;
  agents: AgentConfig[];
  instrumentation: I;
  stack: Stack;
  /** Closes the stack, then stops the telemetry (which flushes it). */
  close(): Promise<void>;
}

export interface CommandStackOptions<I extends Instrumentation | undefined> {
  /** `--agents`: else the project's agents file, else the shipped one. */
  agentsFile?: string;
  /** How this command's telemetry starts (`exec` only when configured; `serve` always). */
  instrumentation: () => Promise<I>;
  /** The stack this command wants, given its project (the simulator's settings and the model prices come from there). */
  stack: (project: Project) => Omit<StackOptions, 'agents' | 'instrumentation'>;
}

/**
 * The sequence every agent-calling command (`exec`, `serve`, `demo`, `workflow run`) begins
 * with: the project, its agents, telemetry, then the stack; a stack that fails to open stops the
 * telemetry it started, so a failed start leaves nothing behind.
 */
export async function openCommandStack<I extends Instrumentation | undefined>(options: CommandStackOptions<I>): Promise<CommandStack<I>> {
  const project = await currentProject();
  const agents = await loadAgents(givenOr(options.agentsFile, project.agentsFile));
  const instrumentation = await options.instrumentation();
  const stack = await openStack({ ...options.stack(project), agents, instrumentation }).catch(async (error: unknown) => {
    await instrumentation?.stop();
    throw error;
  });
  return {
    project,
    agents,
    instrumentation,
    stack,
    async close() {
      await stack.close();
      await instrumentation?.stop();
    },
  };
}
