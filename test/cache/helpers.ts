import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requestKey } from '../../src/cache/key.ts';
import { ResponseCache, type ResponseCacheOptions } from '../../src/cache/response-cache.ts';
import { messageFor } from '../../src/providers/simulator/respond.ts';

export const SECRET = 's'.repeat(40);
export const OTHER_SECRET = 'o'.repeat(40);

export async function tempRoot(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'agentperf-cache-'));
}

export function keyFor(task: string): string {
  return requestKey(
    { namespace: 'test', provider: 'simulator', agentVersion: 1 },
    { model: 'claude-sonnet-5-5', max_tokens: 100, system: 's', messages: [{ role: 'user', content: task }] },
  );
}

export function responseFor(task: string, text?: string) {
  const message = messageFor({ model: 'claude-sonnet-5-5', max_tokens: 100, messages: [{ role: 'user', content: task }] }, `msg_${task}`);
  if (text !== undefined) message.content = [{ type: 'text', text }];
  return message;
}

export function entryFile(root: string, key: string): string {
  return join(root, 'responses', 'entries', key.slice(0, 2), key);
}

export interface Clocked {
  now: number;
}

export async function openCache(
  root: string,
  options: Omit<Partial<ResponseCacheOptions>, 'secret'> & { secret?: string; previous?: string; time?: Clocked } = {},
): Promise<ResponseCache> {
  const { secret, previous, time, ...rest } = options;
  const env: NodeJS.ProcessEnv = { AGENTPERF_CACHE_SECRET: secret ?? SECRET };
  if (previous) env.AGENTPERF_CACHE_SECRET_PREVIOUS = previous;
  return ResponseCache.open({
    sweepIntervalMs: 3_600_000,
    ...rest,
    now: time ? () => time.now : options.now,
    disk: options.disk ?? { dir: join(root, 'responses'), allowedRoots: [root], env },
  });
}

/**
 * Starts a process writing large entries into `root` as fast as it can and kills it with
 * SIGKILL once it has finished `atLeast` writes; resolves with how many it finished.
 */
export async function killWriterAfter(root: string, atLeast: number): Promise<number> {
  const fixture = fileURLToPath(new URL('../fixtures/cache-writer.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, root], { stdio: ['ignore', 'pipe', 'inherit'] });
  let written = 0;
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      written += d.toString().split('\n').filter(Boolean).length;
      if (written >= atLeast) {
        child.kill('SIGKILL');
        resolve();
      }
    });
  });
  await new Promise((resolve) => child.once('exit', resolve));
  return written;
}
