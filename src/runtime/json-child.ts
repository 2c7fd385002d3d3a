import { spawn } from 'node:child_process';
import { AgentperfError, type ErrorCode } from '../errors.js';

/**
 * Runs `node <args>` in a fresh process (how benchmark and gate blocks are measured) and
 * parses the last line it prints as JSON. A non-zero exit, or no JSON, rejects with `code` and
 * the child's whole error output (its last 64 KiB), so that a failing block explains itself.
 */
/**
 * A failed child's error. When the child said what went wrong in agentperf's one-line form
 * (`agentperf: AP_ERR_...: message`), that code and message are kept, with the child's exit
 * code when it was bad input (2) or a scenario that could not run (4): a bad setting in the
 * policy stays exit 2, a scenario's setup that threw stays one line. Anything else is
 * `code` with the child's whole error output.
 */
function childError(options: { code: ErrorCode; what: string }, exitCode: number | null, stderr: string): AgentperfError {
  const said = [...stderr.matchAll(/^agentperf: (AP_ERR_[A-Z_]+): (.*)$/gm)].at(-1);
  if (said && (exitCode === 2 || exitCode === 4)) return new AgentperfError(said[1] as ErrorCode, `${options.what}: ${said[2]}`, { exitCode });
  return new AgentperfError(options.code, `${options.what} exited with ${exitCode}:\n${stderr.trim()}`);
}

export function runNodeForJson<T>(args: readonly string[], options: { cwd?: string; code: ErrorCode; what: string }): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AGENTPERF_LOG_LEVEL: 'warn' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err = (err + d).slice(-64 * 1024)));
    child.once('error', (error) => reject(new AgentperfError(options.code, `${options.what} could not start: ${error.message}`, { cause: error })));
    child.once('exit', (exitCode) => {
      if (exitCode !== 0) return reject(childError(options, exitCode, err));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!) as T);
      } catch {
        reject(new AgentperfError(options.code, `${options.what} printed no result: ${out.slice(-300)}`));
      }
    });
  });
}
