import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ErrorCode, isAgentperfError, ScenarioSetupError, UsageError, ValidationError } from '../errors.js';
import { currentProject, splitModuleExport, type Project } from '../config/project.js';
import { importUserModule } from '../runtime/user-module.js';
import type { Scenario } from './types.js';

/**
 * The built-in scenarios by name, each loaded only when asked for. A process that runs the
 * user's scenario (a gate block, say) then loads none of the orchestrator, the SDK or fastify on
 * agentperf's behalf: on both sides of a paired gate, only the user's code brings its packages.
 */
export const BUILT_IN_SCENARIOS: Readonly<Record<string, () => Promise<Scenario<unknown>>>> = {
  'cache-hit': async () => (await import('./agent.js')).cacheHitScenario,
  'cache-miss': async () => (await import('./agent.js')).cacheMissScenario,
  mixed: async () => (await import('./agent.js')).mixedScenario,
  'mixed-stream': async () => (await import('./agent.js')).mixedStreamScenario,
  'sdk-app': async () => (await import('./sdk-app.js')).sdkAppScenario,
  http: async () => (await import('./http.js')).httpScenario,
  synthetic: async () => (await import('./synthetic.js')).syntheticScenario,
  service: async () => (await import('./service.js')).serviceScenario,
  workflow: async () => (await import('./workflow.js')).workflowScenario,
};

/** Every scenario a name can mean in this project: its own (from the config) first, then the built-in ones. */
export function scenarioNames(project: Project): string[] {
  return [...new Set([...project.scenarios.keys(), ...Object.keys(BUILT_IN_SCENARIOS)])];
}

/** Whether a name or path is a path to a module (`./scenarios/x.ts`), not a scenario's name. */
export const isModulePath = (nameOrFile: string) => /[/\\]/.test(nameOrFile) || /\.[cm]?[jt]s$/.test(nameOrFile);

/**
 * A scenario by name (the project's own, from its config, before the built-in ones of the same
 * name) or a module file (relative to the current directory). A project scenario takes the
 * name the config gives it, whatever its module calls itself: baselines and reports use it.
 */
export async function resolveScenario(nameOrFile: string, project?: Project): Promise<Scenario<unknown>> {
  const where = project ?? (await currentProject());
  const configured = where.scenarios.get(nameOrFile);
  if (configured) return withSetupErrors({ ...(await loadScenarioModule(configured)), name: nameOrFile });
  if (Object.hasOwn(BUILT_IN_SCENARIOS, nameOrFile)) return withSetupErrors(await BUILT_IN_SCENARIOS[nameOrFile]());
  if (!isModulePath(nameOrFile)) {
    throw new ValidationError(
      ErrorCode.SCENARIO,
      'scenario',
      `scenario must be one of ${scenarioNames(where).join(', ')} or a module file, got ${JSON.stringify(nameOrFile)}`,
    );
  }
  return withSetupErrors(await loadScenarioModule(nameOrFile));
}

/**
 * A scenario whose setup throws says so in one line, with its own message and where it was
 * thrown (`AP_ERR_SCENARIO_SETUP`, exit 4): a measurement that could not start is neither a
 * regression nor bad usage. Only bad input the setup found (a `--set` value) stays what it is.
 */
export function withSetupErrors<State>(scenario: Scenario<State>): Scenario<State> {
  return {
    ...scenario,
    setup: async (context) => {
      try {
        return await scenario.setup(context);
      } catch (error) {
        // Bad input found by the setup (a setting out of range) stays bad input, exit 2.
        if (error instanceof ScenarioSetupError || (isAgentperfError(error) && error.exitCode === 2)) throw error;
        throw new ScenarioSetupError(scenario.name, error);
      }
    },
  };
}

/** A scenario module (`file`, or `file#exportName` for one of its named exports), relative to the current directory. */
export async function loadScenarioModule(spec: string): Promise<Scenario<unknown>> {
  const { file, exportName } = splitModuleExport(spec);
  const path = resolve(file);
  if (!existsSync(path)) throw new UsageError('scenario', `scenario file ${JSON.stringify(file)} does not exist`);
  let module: Record<string, unknown>;
  try {
    module = await importUserModule(path);
  } catch (error) {
    throw new ValidationError(ErrorCode.SCENARIO, 'scenario', `scenario file ${JSON.stringify(file)} failed to load: ${(error as Error).message}`);
  }
  const candidate = (exportName ? module[exportName] : (module.default ?? module.scenario)) as Partial<Scenario<unknown>> | undefined;
  const problem = describeScenarioProblem(candidate, exportName);
  if (problem) throw new ValidationError(ErrorCode.SCENARIO, `scenario.${problem.field}`, `scenario file ${JSON.stringify(file)}: ${problem.message}`);
  return withDefaults(candidate as Scenario<unknown>);
}

/** What a scenario module's export lacks, if anything. */
export function describeScenarioProblem(candidate: unknown, exportName?: string): { field: string; message: string } | undefined {
  if (candidate === null || typeof candidate !== 'object')
    return exportName
      ? { field: exportName, message: `must export a scenario object named ${exportName}` }
      : { field: 'default', message: 'must export a scenario object as default (or as `scenario`)' };
  const s = candidate as Record<string, unknown>;
  if (typeof s.name !== 'string' || s.name.length === 0) return { field: 'name', message: 'name must be a non-empty string' };
  if (typeof s.run !== 'function') return { field: 'run', message: 'run must be a function (state, iteration) => Promise' };
  for (const hook of ['setup', 'teardown'] as const) {
    if (s[hook] !== undefined && typeof s[hook] !== 'function') return { field: hook, message: `${hook} must be a function when given` };
  }
  return undefined;
}

/** Fills in the optional parts of a user scenario. */
export function withDefaults(scenario: Scenario<unknown>): Scenario<unknown> {
  return {
    ...scenario,
    description: scenario.description ?? '',
    // Called on the scenario itself, so its own `this` holds.
    setup: scenario.setup ? (context) => scenario.setup(context) : () => Promise.resolve(undefined),
    teardown: scenario.teardown ? (state) => scenario.teardown(state) : () => Promise.resolve(),
  };
}
