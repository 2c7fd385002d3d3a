import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, realpath, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { CacheSecretError } from '../errors.js';
import type { Logger } from '../logger.js';

// 32 bytes: the HMAC-SHA256 block of security; shorter keys weaken the tag.
export const MIN_SECRET_BYTES = 32;

export const DEFAULT_SECRET_FILE = join(homedir(), '.config', 'agentperf', 'cache-secret');

export interface CacheSecrets {
  /** Signs new entries and verifies. */
  current: Buffer;
  /** Still verifies entries signed before a rotation; those are re-signed on read. */
  previous: Buffer | undefined;
  /** Where the current secret came from, for the log (never the secret itself). */
  source: 'env' | 'file' | 'generated';
}

export interface SecretOptions {
  env?: NodeJS.ProcessEnv;
  /** Where a generated secret is kept; must be outside the cache directory. */
  secretFile?: string;
  /** The cache directory the secret is for: a secret file inside it is refused. */
  cacheDir?: string;
  /**
   * Use a secret file that group or others may read (refused otherwise, as ssh refuses a
   * private key with loose permissions). Also AGENTPERF_CACHE_SECRET_ALLOW_LOOSE_MODE=1.
   */
  allowLooseMode?: boolean;
  /** Refuse to start without AGENTPERF_CACHE_SECRET (also implied by NODE_ENV=production). */
  requireSecret?: boolean;
  logger?: Logger;
}

function fromEnv(name: string, value: string | undefined): Buffer | undefined {
  if (value === undefined || value === '') return undefined;
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length < MIN_SECRET_BYTES) throw new CacheSecretError(`${name} must be at least ${MIN_SECRET_BYTES} bytes, got ${bytes.length}`);
  return bytes;
}

/**
 * The cache's HMAC secrets: AGENTPERF_CACHE_SECRET (and _PREVIOUS for rotation), or else a
 * random one generated once into a 0600 file outside the cache directory. There is no default
 * secret in the source: anyone who read it could forge entries.
 */
export async function resolveCacheSecrets(options: SecretOptions = {}): Promise<CacheSecrets> {
  const env = options.env ?? process.env;
  const previous = fromEnv('AGENTPERF_CACHE_SECRET_PREVIOUS', env.AGENTPERF_CACHE_SECRET_PREVIOUS);
  const current = fromEnv('AGENTPERF_CACHE_SECRET', env.AGENTPERF_CACHE_SECRET);
  if (current) return { current, previous, source: 'env' };
  if (options.requireSecret || env.NODE_ENV === 'production') {
    throw new CacheSecretError(
      `AGENTPERF_CACHE_SECRET must be set (at least ${MIN_SECRET_BYTES} bytes) when a secret is required (--require-secret or NODE_ENV=production)`,
    );
  }
  const file = resolve(options.secretFile ?? env.AGENTPERF_CACHE_SECRET_FILE ?? DEFAULT_SECRET_FILE);
  if (options.cacheDir) await refuseInside(file, options.cacheDir);
  const allowLoose = options.allowLooseMode ?? env.AGENTPERF_CACHE_SECRET_ALLOW_LOOSE_MODE === '1';
  const existing = await readSecretFile(file, allowLoose);
  if (existing) return { current: existing, previous, source: 'file' };
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const secret = randomBytes(48).toString('base64url');
  try {
    // 'wx': exactly one process creates it; a concurrent loser reads the winner's.
    const handle = await open(file, 'wx', 0o600);
    await handle.writeFile(`${secret}\n`);
    await handle.close();
    options.logger?.info({ secretFile: file }, 'no AGENTPERF_CACHE_SECRET set: generated a random cache secret (mode 0600)');
    return { current: Buffer.from(secret, 'utf8'), previous, source: 'generated' };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
      throw new CacheSecretError(`cannot write the generated cache secret file ${file} (${(error as NodeJS.ErrnoException).code})`);
    const winner = await readSecretFile(file, allowLoose);
    if (!winner) throw new CacheSecretError(`the cache secret file ${file} is empty or too short`);
    return { current: winner, previous, source: 'file' };
  }
}

/** A secret kept inside the cache directory would sit beside what it signs: anyone who can read one can forge the other. */
async function refuseInside(file: string, cacheDir: string): Promise<void> {
  const real = async (path: string) => realpath(path).catch(() => resolve(path));
  const [dir, cache] = await Promise.all([real(dirname(file)), real(cacheDir)]);
  const rel = relative(cache, dir);
  if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) {
    throw new CacheSecretError(
      `the cache secret file must be kept outside the cache directory (${file} is inside ${cacheDir}): anyone who can read the cache could then forge its entries`,
    );
  }
}

async function readSecretFile(file: string, allowLoose: boolean): Promise<Buffer | undefined> {
  let text: string;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new CacheSecretError(`the cache secret file ${file} must be a regular file`);
    if ((info.mode & 0o077) !== 0 && !allowLoose) {
      throw new CacheSecretError(
        `the cache secret file ${file} must be readable by its owner only (its mode is ${(info.mode & 0o777).toString(8).padStart(4, '0')}): chmod 600 ${file}, or set AGENTPERF_CACHE_SECRET_ALLOW_LOOSE_MODE=1 to use it anyway`,
      );
    }
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (error instanceof CacheSecretError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CacheSecretError(`cannot read the cache secret file ${file} (${(error as NodeJS.ErrnoException).code})`);
  }
  const bytes = Buffer.from(text.trim(), 'utf8');
  if (bytes.length === 0) return undefined;
  if (bytes.length < MIN_SECRET_BYTES) throw new CacheSecretError(`the cache secret file ${file} must hold at least ${MIN_SECRET_BYTES} bytes`);
  return bytes;
}
