import { z } from 'zod';
import { MODELS, MODEL_IDS } from './models.js';
import { packageFile } from '../runtime/self.js';
import { parseConfig, readJsonFile } from './read.js';

export const AGENT_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

/** The agents file shipped with agentperf; `--agents FILE` replaces it. */
export const DEFAULT_AGENTS_FILE = packageFile('agents.json');

const agentSchema = z
  .object({
    name: z.string().regex(AGENT_NAME_PATTERN, 'must match ^[a-zA-Z0-9_-]{1,64}$'),
    description: z.string().max(1000).optional(),
    model: z.string().refine((m) => MODELS.has(m), { message: `must be a known Claude model id (${MODEL_IDS.join(', ')})` }),
    systemPrompt: z.string().min(1, 'must not be empty').max(100_000, 'must be at most 100000 characters'),
    maxTokens: z.number().int('must be an integer').min(1, 'must be at least 1'),
    temperature: z.number().min(0, 'must be from 0 to 1').max(1, 'must be from 0 to 1'),
    cacheable: z.boolean(),
    /** Bumped by the user whenever the agent's behaviour changes; part of the cache key. */
    version: z.number().int().min(1).default(1),
    /** Per-agent cache TTL, overriding the cache's default. */
    cacheTtlMs: z.number().int().positive().optional(),
    stopSequences: z.array(z.string().min(1)).max(8).optional(),
  })
  .strict()
  .superRefine((agent, ctx) => {
    const model = MODELS.get(agent.model);
    if (model && agent.maxTokens > model.maxOutputTokens) {
      ctx.addIssue({ code: 'custom', path: ['maxTokens'], message: `must be an integer from 1 to ${model.maxOutputTokens} (the limit of ${model.id})` });
    }
  });

export type AgentConfig = z.output<typeof agentSchema>;

const agentsFileSchema = z
  .object({ agents: z.array(agentSchema).min(1, 'must list at least one agent') })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.agents.forEach((agent, i) => {
      if (seen.has(agent.name)) ctx.addIssue({ code: 'custom', path: ['agents', i, 'name'], message: `is a duplicate of an earlier agent (${agent.name})` });
      seen.add(agent.name);
    });
  });

export function parseAgents(input: unknown, file?: string): AgentConfig[] {
  return parseConfig(input, agentsFileSchema, file).agents;
}

export async function loadAgents(file: string = DEFAULT_AGENTS_FILE): Promise<AgentConfig[]> {
  return parseAgents(await readJsonFile(file, 'agents'), file);
}
