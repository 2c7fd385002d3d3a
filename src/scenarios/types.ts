import type { Logger } from '../logger.js';

/** Where an agent scenario sends its calls: the orchestrator itself, or `agentperf serve`. */
export type AgentTarget = { kind: 'in-process' } | { kind: 'http'; url: string };

export interface ScenarioContext {
  target: AgentTarget;
  /** Scenario-specific settings from `--set key=value` (the http scenario's url, method, body...). */
  settings: Readonly<Record<string, string>>;
  seed: number;
  log: Logger;
}

/**
 * One workload, driven the same way by the load engine, the profiler, the leak detector and
 * the gate (DESIGN.md, seam 2). `run` is one iteration: it resolves on success and throws (or
 * rejects) on failure; the engine times it and counts errors by type.
 */
export interface Scenario<State = unknown> {
  name: string;
  description: string;
  setup(context: ScenarioContext): Promise<State>;
  /** One iteration: a value, or a promise of one. */
  run(state: State, iteration: number): unknown;
  teardown(state: State): Promise<void>;
  /** A local process serving the target, for the resource monitor (e.g. the simulator's). */
  targetPid?(state: State): number | undefined;
  /**
   * Counts the scenario keeps that the load report shows (the agent scenarios: upstream
   * attempts and retries by reason). Read when measuring starts and when it ends; the report
   * gives the difference, so warm-up is not in it.
   */
  counters?(state: State): Record<string, number>;
}

/**
 * A scenario as a module writes it: `description` is optional (an empty one is filled in), the
 * rest as the `Scenario` interface says.
 */
export type ScenarioDefinition<State> = Omit<Scenario<State>, 'description'> & { description?: string };

/** Lets a scenario module be written with types and no casts. */
export function defineScenario<State>(scenario: ScenarioDefinition<State>): Scenario<State> {
  return { ...scenario, description: scenario.description ?? '' };
}
