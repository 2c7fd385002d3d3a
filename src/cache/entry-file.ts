import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/**
 * What is at an entry's path. Anything but a regular file (a directory, a FIFO, a socket, a
 * symlink) is reported, never followed, never read and never blocked on: a FIFO opened for
 * reading without O_NONBLOCK waits for a writer forever.
 */
export type EntryFileRead = { kind: 'file'; bytes: Buffer } | { kind: 'missing' } | { kind: 'not-a-file'; what: string } | { kind: 'too-large'; size: number };

// O_NOFOLLOW: a symlink in an entry's place fails with ELOOP instead of being followed out of
// the cache. O_NONBLOCK: opening a FIFO returns at once (and fstat then says what it is).
const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** What a path holds that is not a regular file, in words. */
export function describeNonFile(stats: {
  isDirectory(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isSymbolicLink(): boolean;
  isBlockDevice(): boolean;
  isCharacterDevice(): boolean;
}): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isSymbolicLink()) return 'a symlink';
  if (stats.isBlockDevice() || stats.isCharacterDevice()) return 'a device';
  return 'not a regular file';
}

/** Reads an entry file if it is a regular file of at most `maxBytes`; says what it is otherwise. */
export async function readEntryFile(file: string, maxBytes: number): Promise<EntryFileRead> {
  let handle;
  try {
    handle = await open(file, FLAGS);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    if (code === 'ELOOP') return { kind: 'not-a-file', what: 'a symlink' };
    // A socket cannot be opened at all; the path is still not an entry.
    if (code === 'ENXIO' || code === 'EOPNOTSUPP') return { kind: 'not-a-file', what: 'a socket' };
    throw error;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) return { kind: 'not-a-file', what: describeNonFile(stats) };
    if (stats.size > maxBytes) return { kind: 'too-large', size: stats.size };
    return { kind: 'file', bytes: await handle.readFile() };
  } finally {
    await handle.close();
  }
}
