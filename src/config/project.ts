/**
 * The project config: `agentperf.config.{ts,mts,cts,js,mjs,cjs,json}` or the `agentperf` key of
 * package.json, found from the current directory upward. It names the user's scenarios, their
 * agents file, the gate policy, where baselines and profiles live, and the simulator's
 * settings. Every relative path in it resolves against the directory of the file that holds it
 * (the project's root); paths given on the command line resolve against the current directory.
 * Never against agentperf's own install directory.
 */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { MODEL_IDS, MODELS } from './models.js';
import { ConfigError } from '../errors.js';
import { importUserModule } from '../runtime/user-module.js';
import { DEFAULT_POLICY, mergePolicy, projectDefaultPolicy, type GatePolicy } from './policy.js';
import { parseConfig, readJsonFile } from './read.js';
import type { RedisSpec } from '../redis/link.js';

export const CONFIG_FILES = [
  'agentperf.config.ts',
  'agentperf.config.mts',
  'agentperf.config.cts',
  'agentperf.config.js',
  'agentperf.config.mjs',
  'agentperf.config.cjs',
  'agentperf.config.json',
] as const;

const PRICE = z.number().min(0).max(10_000);
/** A model's prices to override, each optional (USD per million tokens). */
export const ModelPricesOverrideSchema = z
  .object({ inputPerMTok: PRICE, outputPerMTok: PRICE, cacheReadPerMTok: PRICE, cacheWritePerMTok: PRICE, cacheWrite1hPerMTok: PRICE })
  .partial()
  .strict();

const SCENARIO_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;

export const ProjectConfigSchema = z
  .object({
    /** Scenario name -> module (relative to the config file), `./file.ts` or `./file.ts#exportName`. */
    scenarios: z.record(z.string().regex(SCENARIO_NAME, 'must be a name of letters, digits, _ . and - (at most 64)'), z.string().min(1)).default({}),
    /** The agents file the built-in agent scenarios, exec, serve and workflows use. */
    agents: z.string().min(1).optional(),
    /** Gate policy overrides, over the defaults (see `agentperf gate --help`). */
    gate: z.record(z.string(), z.unknown()).optional(),
    baselines: z.string().min(1).default('baselines'),
    profiles: z.string().min(1).default('profiles'),
    simulator: z
      .object({
        latency: z.string().min(1).optional(),
        faults: z.string().optional(),
        /** The organisation's rate limits, `rpm=50,itpm=40000,otpm=8000`: 429s with retry-after, as the API gives. */
        limits: z.string().min(1).optional(),
        /** Requests in flight past this are 529 overloaded. */
        capacity: z.number().int().min(1).max(1_000_000).optional(),
        seed: z
          .number()
          .int()
          .min(0)
          .max(2 ** 32 - 1)
          .optional(),
      })
      .strict()
      .default({}),
    /**
     * The shared cache tier in Redis (off unless a URL is given here, by AGENTPERF_REDIS_URL or
     * by --redis): instances sharing it share their answers.
     */
    redis: z
      .object({
        url: z.string().min(1).optional(),
        /** Prefix of every key: tenants sharing one Redis use different ones. */
        namespace: z.string().min(1).optional(),
        /** Each Redis operation's budget, ms: past it the call goes on without Redis. */
        timeoutMs: z.number().positive().max(60_000).optional(),
      })
      .strict()
      .optional(),
    /**
     * Client-side rate limits per model id for `exec` and `serve` (calls wait on our side instead
     * of earning 429s); shared by every instance on the Redis when one is configured.
     */
    rateLimits: z
      .record(
        z.string(),
        z
          .object({
            requestsPerMinute: z.number().int().positive().max(1e9).optional(),
            tokensPerMinute: z.number().int().positive().max(1e12).optional(),
          })
          .strict(),
      )
      .superRefine((limits, ctx) => {
        for (const id of Object.keys(limits)) {
          if (!MODELS.has(id))
            ctx.addIssue({ code: 'custom', path: [id], message: `must be a model agentperf knows (${MODEL_IDS.join(', ')}), got ${JSON.stringify(id)}` });
        }
      })
      .optional(),
    /** How `gate --against` installs the other side's dependencies; default from its lockfile. */
    install: z.string().min(1).optional(),
    /**
     * Prices per model id, USD per million tokens, merged over the shipped table
     * (src/config/models.ts): what your contract pays, or a change the table has not caught up with.
     */
    models: z
      .record(z.string(), ModelPricesOverrideSchema)
      .superRefine((models, ctx) => {
        for (const id of Object.keys(models)) {
          if (!MODELS.has(id))
            ctx.addIssue({ code: 'custom', path: [id], message: `must be a model agentperf knows (${MODEL_IDS.join(', ')}), got ${JSON.stringify(id)}` });
        }
      })
      .optional(),
  })
  .strict();

export type ProjectConfig = z.output<typeof ProjectConfigSchema>;

/** What `defineConfig` takes: the config as written, every field optional. */
export type ProjectConfigInput = z.input<typeof ProjectConfigSchema>;

/** Types an `agentperf.config.ts` without any cast: `export default defineConfig({ ... })`. */
export function defineConfig(config: ProjectConfigInput): ProjectConfigInput {
  return config;
}

/** The user's project as agentperf sees it. */
export interface Project {
  /** Where the project's relative paths start: the config file's directory, or the current directory without one. */
  root: string;
  /** The config file (package.json when the config is its `agentperf` key); undefined without one. */
  configFile: string | undefined;
  config: ProjectConfig;
  /** Scenario name -> absolute module path. */
  scenarios: ReadonlyMap<string, string>;
  baselineDir: string;
  profileDir: string;
  /** The agents file, absolute; undefined: agentperf's shipped agents.json. */
  agentsFile: string | undefined;
  /** The gate policy: the defaults, then the project's scenarios, then its `gate` section. */
  policy: GatePolicy;
}

/** The nearest config from `dir` upward: its path and raw content. */
async function findConfig(dir: string): Promise<{ file: string; raw: unknown } | undefined> {
  for (let at = resolve(dir); ; at = dirname(at)) {
    for (const name of CONFIG_FILES) {
      const file = join(at, name);
      if (existsSync(file)) return { file, raw: name.endsWith('.json') ? await readJsonFile(file, 'config') : await loadConfigModule(file) };
    }
    const manifest = join(at, 'package.json');
    if (existsSync(manifest)) {
      const pkg = (await readJsonFile(manifest, 'package.json')) as { agentperf?: unknown } | null;
      if (pkg && typeof pkg === 'object' && pkg.agentperf !== undefined) return { file: manifest, raw: pkg.agentperf };
    }
    if (dirname(at) === at) return undefined;
  }
}

async function loadConfigModule(file: string): Promise<unknown> {
  let module: Record<string, unknown>;
  try {
    module = await importUserModule(file);
  } catch (error) {
    throw new ConfigError('config', `the config module failed to load: ${(error as Error).message}`, file);
  }
  if (module.default === undefined)
    throw new ConfigError('config', 'the config module must export the config as default (export default defineConfig({ ... }))', file);
  return module.default;
}

const within = (root: string, path: string) => (isAbsolute(path) ? path : resolve(root, path));

/** `./file.ts#name` names one export of a module; without `#`, its default export. */
export function splitModuleExport(spec: string): { file: string; exportName: string | undefined } {
  const match = /^(.*)#([A-Za-z_$][\w$]*)$/.exec(spec);
  return match ? { file: match[1], exportName: match[2] } : { file: spec, exportName: undefined };
}

/** Reads and checks the project found from `dir` upward (or the defaults when there is none). */
export async function loadProjectFrom(dir: string): Promise<Project> {
  const found = await findConfig(dir);
  const root = found ? dirname(found.file) : resolve(dir);
  const where = found?.file;
  const config = parseConfig(found?.raw ?? {}, ProjectConfigSchema, where);
  const scenarios = new Map(Object.entries(config.scenarios).map(([name, module]) => [name, within(root, module)]));
  for (const [name, module] of scenarios) {
    const { file } = splitModuleExport(module);
    if (!existsSync(file))
      throw new ConfigError(
        `scenarios.${name}`,
        `scenarios.${name} must name a module file that exists, got ${JSON.stringify(config.scenarios[name])} (${file})`,
        where,
      );
  }
  // A project that names its own scenarios gates them by default, with the default blocks.
  const base: GatePolicy = scenarios.size > 0 ? projectDefaultPolicy([...scenarios.keys()]) : DEFAULT_POLICY;
  const policy = config.gate ? mergePolicy(config.gate, where, base, 'gate') : base;
  return {
    root,
    configFile: where,
    config,
    scenarios,
    baselineDir: within(root, config.baselines),
    profileDir: within(root, config.profiles),
    agentsFile: config.agents === undefined ? undefined : within(root, config.agents),
    policy,
  };
}

/**
 * The `install` command a project's config sets, read before its dependencies are installed (a
 * ref checked out for the paired gate): from a JSON config or package.json, as text. A config
 * module is never imported before its install (it may import `agentperf`, and a failed import
 * would stay cached in this process): the lockfile decides, and `progress` says so.
 */
export async function configuredInstall(dir: string, progress: (line: string) => void): Promise<string | undefined> {
  for (let at = resolve(dir); ; at = dirname(at)) {
    for (const name of CONFIG_FILES) {
      const file = join(at, name);
      if (!existsSync(file)) continue;
      if (!name.endsWith('.json')) {
        progress(`  ${file} is a module, read once its dependencies are installed: installing by the lockfile (or --install)`);
        return undefined;
      }
      const parsed = parseConfig(await readJsonFile(file, 'config'), ProjectConfigSchema, file);
      return parsed.install;
    }
    const manifest = join(at, 'package.json');
    if (existsSync(manifest)) {
      const pkg = (await readJsonFile(manifest, 'package.json')) as { agentperf?: unknown } | null;
      if (pkg && typeof pkg === 'object' && pkg.agentperf !== undefined) return parseConfig(pkg.agentperf, ProjectConfigSchema, manifest).install;
    }
    if (dirname(at) === at) return undefined;
  }
}

const projects = new Map<string, Promise<Project>>();

/** The project of the current directory, read once per process. */
export function currentProject(dir: string = process.cwd()): Promise<Project> {
  const key = resolve(dir);
  let project = projects.get(key);
  if (!project) {
    project = loadProjectFrom(key);
    projects.set(key, project);
    project.catch(() => projects.delete(key));
  }
  return project;
}

/** A path given on the command line resolves against the current directory; without one, the project's default. */
export function givenOr(given: string | undefined, fallback: string): string;
export function givenOr(given: string | undefined, fallback: string | undefined): string | undefined;
export function givenOr(given: string | undefined, fallback: string | undefined): string | undefined {
  return given === undefined ? fallback : resolve(given);
}

/** The simulator's settings a command runs with: its own flags first, then the project's config, then the command's defaults. */
/**
 * The shared Redis tier, if any: `--redis` over AGENTPERF_REDIS_URL over the project config's
 * `redis.url`; the namespace and budget from AGENTPERF_REDIS_NAMESPACE or the config.
 */
export function redisSettings(project: Project, given: { redis?: string }, env: NodeJS.ProcessEnv = process.env): RedisSpec | undefined {
  const configured = project.config.redis;
  const url = given.redis ?? (env.AGENTPERF_REDIS_URL || undefined) ?? configured?.url;
  if (url === undefined) return undefined;
  const namespace = (env.AGENTPERF_REDIS_NAMESPACE || undefined) ?? configured?.namespace;
  return { url, ...(namespace === undefined ? {} : { namespace }), ...(configured?.timeoutMs === undefined ? {} : { timeoutMs: configured.timeoutMs }) };
}

export function simulatorSettings(
  project: Project,
  given: { latency?: string; faults?: string; seed?: number; limits?: string; capacity?: number },
  defaults: { latency: string; faults?: string; seed: number },
): { latency: string; faults: string | undefined; seed: number; limits?: string; capacity?: number } {
  const configured = project.config.simulator;
  const limits = given.limits ?? configured.limits;
  const capacity = given.capacity ?? configured.capacity;
  return {
    latency: given.latency ?? configured.latency ?? defaults.latency,
    faults: (given.faults ?? configured.faults ?? defaults.faults) || undefined,
    seed: given.seed ?? configured.seed ?? defaults.seed,
    ...(limits === undefined ? {} : { limits }),
    ...(capacity === undefined ? {} : { capacity }),
  };
}
