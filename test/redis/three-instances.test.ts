// Three `agentperf serve` processes sharing one real redis-server, calling one simulator (the
// real API's stand-in, which counts what reaches it), from a project whose config names the
// Redis and a rate limit: the traffic of one load spread over the three gets the hit rate one
// process would, sends each question upstream once, keeps to the rate limit between them, and
// goes on answering when Redis is killed mid-run.
import test, { type ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentResult } from '../../src/orchestrator/result.ts';
import { startSimulator, type RunningSimulator } from '../../src/providers/simulator/server.ts';
import { redisAvailable, startRedis, type RedisServer } from '../servers.ts';

const maybe = redisAvailable('three-instances.test.ts') ? test.serial : test.serial.skip;
const CLI = fileURLToPath(new URL('../../bin/agentperf.js', import.meta.url));
const MODEL = 'claude-sonnet-5-5';

interface Instance {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** A project directory of its own: its config names the Redis and (when given) a rate limit. */
function project(redis: RedisServer, requestsPerMinute?: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'agentperf-three-'));
  // With a rate limit, a budget wide enough that a busy test machine does not take Redis down
  // (sending each instance to its local share, tested on its own in shared-rate-limit.test.ts):
  // this test is about the shared budget. With 50 ms a fresh CI run once fell back mid-run.
  const timeoutMs = requestsPerMinute ? 1_000 : 50;
  const config = {
    redis: { url: redis.url, namespace: 'three', timeoutMs },
    ...(requestsPerMinute ? { rateLimits: { [MODEL]: { requestsPerMinute } } } : {}),
  };
  writeFileSync(join(dir, 'agentperf.config.json'), JSON.stringify(config));
  return dir;
}

/** `agentperf serve` in its own process, calling the simulator as the real API (`--live` with its base URL). */
async function serve(dir: string, simulator: RunningSimulator): Promise<Instance> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--live', '--max-concurrent', '64'], {
    cwd: dir,
    env: {
      ...process.env,
      HOME: dir,
      AGENTPERF_LOG_LEVEL: 'silent',
      AGENTPERF_SERVE_TOKEN: '',
      ANTHROPIC_API_KEY: 'not-needed-for-the-simulator',
      ANTHROPIC_BASE_URL: simulator.url,
      AGENTPERF_CACHE_SECRET: 's'.repeat(40),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const found = /listening on (http:\/\/\S+)/.exec(stdout);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
  });
  // Until its link is up an instance works without Redis (as it should: Redis is never in the
  // way); these tests are about the instances once they share it, so wait for that, as its
  // metrics say it.
  for (let i = 0; ; i++) {
    const metrics = await (await fetch(`${url}/metrics`)).text();
    if (/agentperf_cache_tier_up\{[^}]*tier="redis"[^}]*\} 1/.test(metrics)) break;
    if (i > 200)
      throw new Error(
        `serve never connected to Redis: ${metrics
          .split('\n')
          .filter((l) => l.includes('tier_up'))
          .join('; ')}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return {
    url,
    child,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGINT');
      await new Promise((resolve) => child.once('close', resolve));
    },
  };
}

async function ask(instance: Instance, task: string): Promise<AgentResult> {
  const response = await fetch(`${instance.url}/v1/agents/python-expert/execute`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ task }),
  });
  if (response.status !== 200) throw new Error(`${response.status}: ${await response.text()}`);
  return (await response.json()) as AgentResult;
}

/** The load: 40 questions asked 5 times each, in waves of 20 at once, round-robin over the instances. */
async function load(instances: Instance[], prefix: string): Promise<{ results: AgentResult[]; hitRate: number }> {
  const tasks = Array.from({ length: 200 }, (_, i) => `${prefix} question ${i % 40}`);
  const results: AgentResult[] = [];
  for (let wave = 0; wave < tasks.length; wave += 20)
    results.push(...(await Promise.all(tasks.slice(wave, wave + 20).map((task, i) => ask(instances[(wave + i) % instances.length], task)))));
  return { results, hitRate: results.filter((r) => r.cached).length / results.length };
}

async function cluster(t: ExecutionContext, count: number, dir: string, simulator: RunningSimulator): Promise<Instance[]> {
  const instances: Instance[] = [];
  for (let i = 0; i < count; i++) instances.push(await serve(dir, simulator));
  t.teardown(async () => {
    for (const instance of instances) await instance.stop();
  });
  return instances;
}

maybe(
  'three serve processes on one Redis: the hit rate of one process and one upstream call per question; Redis killed mid-run fails no call, and its hits come back once it is up',
  async (t) => {
    t.timeout(240_000);
    const redis = await startRedis();
    const simulator = await startSimulator({ latency: { model: { kind: 'fixed', ms: 50 }, perOutputTokenMs: 0 } });
    t.teardown(async () => {
      await simulator.close();
      await redis.stop();
    });
    const dir = project(redis);
    const [one] = await cluster(t, 1, dir, simulator);
    const alone = await load([one], 'alone');
    const upstreamAlone = simulator.stats().requests;
    const three = await cluster(t, 3, dir, simulator);
    const shared = await load(three, 'shared');
    const upstreamShared = simulator.stats().requests - upstreamAlone;
    t.log(
      `hit rate: one process ${(alone.hitRate * 100).toFixed(1)}%, three ${(shared.hitRate * 100).toFixed(1)}%; upstream calls ${upstreamAlone} and ${upstreamShared}`,
    );
    t.is(upstreamAlone, 40, 'one process: each question upstream once');
    t.is(upstreamShared, 40, 'three processes: each question upstream once, wherever it was asked');
    t.true(Math.abs(alone.hitRate - shared.hitRate) <= 0.03, 'within a few points');

    // Redis killed in the middle of a run: every call still answers; new questions go upstream; it comes back.
    await redis.kill();
    const down = await load(three, 'down');
    t.is(down.results.length, 200, 'no call failed');
    await redis.restart();
    // The instances reconnect in the background (and a probe brings each back within its cooldown).
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const before = simulator.stats().requests;
    const back = await load(three, 'back');
    t.true(back.hitRate >= alone.hitRate - 0.05, `hit rate after Redis came back: ${(back.hitRate * 100).toFixed(1)}%`);
    t.true(simulator.stats().requests - before <= 42, `upstream calls after it came back: ${simulator.stats().requests - before}`);
  },
);

maybe(
  "three serve processes keep to one rate limit between them (the simulator enforcing the organisation's refuses nothing), also when one restarts",
  async (t) => {
    t.timeout(240_000);
    const redis = await startRedis();
    const simulator = await startSimulator({ limits: { rpm: 120 } });
    t.teardown(async () => {
      await simulator.close();
      await redis.stop();
    });
    const dir = project(redis, 110);
    const instances = await cluster(t, 3, dir, simulator);
    const burst = (prefix: string, n: number) => Promise.all(Array.from({ length: n }, (_, i) => ask(instances[i % instances.length], `${prefix} ${i}`)));
    const started = performance.now();
    await burst('first', 100);
    await instances[1].stop();
    instances[1] = await serve(dir, simulator);
    await burst('after a restart', 30);
    const elapsedMs = performance.now() - started;
    t.is(simulator.stats().refused.rpm, 0, JSON.stringify(simulator.stats()));
    t.is(simulator.stats().admitted, 130);
    // 110 a minute between them: at most the bucket (110) plus what refilled, 1.83 a second. 130
    // calls therefore took at least (130 - 110) / 1.83 = 10.9 s, restart included.
    t.true(elapsedMs >= ((130 - 110) * 60_000) / 110 - 250, `130 calls in ${elapsedMs.toFixed(0)} ms`);
  },
);
