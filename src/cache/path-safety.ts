import { mkdir, realpath, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { CachePathError } from '../errors.js';

export const DEFAULT_CACHE_ROOT = join(homedir(), '.cache', 'agentperf');
export const DEFAULT_CACHE_DIR = join(DEFAULT_CACHE_ROOT, 'responses');

function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Resolves and checks a cache directory, creating it (mode 0700) when missing. It must lie
 * under one of `allowedRoots`, lexically and after resolving symlinks; its path must not use
 * `..`; no directory from the root down to it may be writable by group or others (anyone who
 * can write there could swap entries, or the directory itself).
 */
export async function resolveCacheDir(dir: string, allowedRoots: readonly string[] = [DEFAULT_CACHE_ROOT]): Promise<string> {
  if (dir.split(/[\\/]/).includes('..')) throw new CachePathError(`cache directory must not contain '..' segments, got ${JSON.stringify(dir)}`);
  const wanted = resolve(dir);
  const root = allowedRoots.map((r) => resolve(r)).find((r) => isInside(wanted, r));
  if (!root) throw new CachePathError(`cache directory must lie under an allowed root (${allowedRoots.join(', ')}), got ${JSON.stringify(wanted)}`);
  try {
    await mkdir(wanted, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new CachePathError(`cannot create the cache directory ${JSON.stringify(wanted)}: ${describeFsError(error)}`);
  }
  const [realDir, realRoot] = await Promise.all([realpath(wanted), realpath(root)]).catch((error: unknown) => {
    throw new CachePathError(`cannot resolve the cache directory ${JSON.stringify(wanted)}: ${describeFsError(error)}`);
  });
  if (!isInside(realDir, realRoot))
    throw new CachePathError(`cache directory resolves outside its allowed root through a symlink (${JSON.stringify(wanted)} -> ${JSON.stringify(realDir)})`);
  // Every directory from the root down to the cache directory.
  const parts = relative(realRoot, realDir).split(sep).filter(Boolean);
  let current = realRoot;
  for (const part of ['', ...parts]) {
    current = part ? join(current, part) : current;
    const info = await stat(current);
    if ((info.mode & 0o022) !== 0) {
      throw new CachePathError(`cache directory ${JSON.stringify(current)} must not be writable by group or others (mode ${(info.mode & 0o777).toString(8)})`);
    }
  }
  return realDir;
}

const FS_ERROR_WORDS: Record<string, string> = {
  ENOTDIR: 'a file is in the way of a directory on the path',
  EEXIST: 'a file is in the way',
  ENAMETOOLONG: 'the name is too long for the file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  ELOOP: 'too many symlinks on the path',
  ERR_INVALID_ARG_VALUE: 'the path holds a NUL byte',
  ERR_INVALID_ARG_TYPE: 'the path holds a NUL byte',
};

/** A file-system error in words, with its code. */
export function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code ? `${FS_ERROR_WORDS[code] ?? 'the file system refused'} (${code})` : String((error as Error)?.message ?? error);
}
