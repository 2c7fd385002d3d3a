import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AgentperfError, ErrorCode, ValidationError } from '../errors.js';

const tempFor = (file: string) => `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

/**
 * Writes several files all or none: each to a temporary sibling first, and only when every one
 * is written are they renamed into place. A failure removes the temporary files.
 */
export async function writeFilesAtomic(files: ReadonlyArray<{ file: string; content: string }>): Promise<void> {
  const staged: Array<{ file: string; temp: string }> = [];
  try {
    for (const { file, content } of files) {
      const temp = tempFor(file);
      staged.push({ file, temp });
      await mkdir(dirname(file), { recursive: true });
      await writeFile(temp, content);
    }
  } catch (error) {
    await Promise.all(staged.map(({ temp }) => rm(temp, { force: true })));
    throw new AgentperfError(ErrorCode.WRITE, `could not write ${staged.at(-1)?.file}: ${(error as Error).message}`, { cause: error });
  }
  for (const { file, temp } of staged) await rename(temp, file);
}

/** Writes a whole file through a temporary sibling and a rename: readers never see half of it. */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const temp = tempFor(file);
  try {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(temp, content);
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw new AgentperfError(ErrorCode.WRITE, `could not write ${file}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * A file written line by line as a run goes (a CSV of every request), to a temporary sibling
 * renamed into place by `commit()`; `abort()` removes it. Nothing half-written is left behind.
 */
export class StreamedFile {
  private readonly temp: string;
  private readonly stream: WriteStream;
  private failure: Error | undefined;

  private constructor(readonly file: string) {
    this.temp = tempFor(file);
    this.stream = createWriteStream(this.temp, { highWaterMark: 1 << 16 });
    this.stream.on('error', (error) => (this.failure ??= error));
  }

  static async open(file: string): Promise<StreamedFile> {
    await mkdir(dirname(file), { recursive: true });
    const sink = new StreamedFile(file);
    await new Promise<void>((resolve, reject) => {
      sink.stream.once('open', () => resolve());
      sink.stream.once('error', (error) => reject(new AgentperfError(ErrorCode.WRITE, `could not write ${file}: ${error.message}`, { cause: error })));
    });
    return sink;
  }

  write(text: string): void {
    if (!this.failure) this.stream.write(text);
  }

  async commit(): Promise<void> {
    await new Promise<void>((resolve) => this.stream.end(resolve));
    if (this.failure) {
      await rm(this.temp, { force: true });
      throw new AgentperfError(ErrorCode.WRITE, `could not write ${this.file}: ${this.failure.message}`, { cause: this.failure });
    }
    await rename(this.temp, this.file);
  }

  async abort(): Promise<void> {
    this.stream.destroy();
    await rm(this.temp, { force: true });
  }
}

/**
 * Checks, before a long run, that `file` can be written where the run will write it: its
 * directory made (as the write would) and a probe file written and removed there; directories
 * the probe made are removed again. A path that cannot be written is bad input, found in a
 * second rather than after the whole run: `AP_ERR_OUT_DIR` naming the option, exit 2.
 */
export async function assertWritable(file: string, option: string): Promise<void> {
  const dir = dirname(file);
  let made: string | undefined;
  const probe = tempFor(join(dir, '.agentperf-write-probe'));
  try {
    made = await mkdir(dir, { recursive: true });
    await writeFile(probe, '');
    await rm(probe, { force: true });
  } catch (error) {
    throw new ValidationError(
      ErrorCode.OUT_DIR,
      option,
      `--${option} ${file} cannot be written (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): nothing was run`,
    );
  } finally {
    if (made) await rm(made, { recursive: true, force: true });
  }
}
