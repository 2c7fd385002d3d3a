import { spawn } from 'node:child_process';
import { AgentperfError, type ErrorCode } from '../errors.js';

/**
 * Runs `node <args>` in a fresh process (how benchmark and gate blocks are measured) and
 * parses the last line it prints as JSON. A non-zero exit, or no JSON, rejects with `code` and
 * the child's whole error output (its last 64 KiB), so that a failing block explains itself.
 */
export function runNodeForJson<T>(args: readonly string[], options: { cwd?: string; code: ErrorCode; what: string }): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AGENTPERF_LOG_LEVEL: 'warn' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err = (err + d).slice(-64 * 1024)));
    child.once('error', reject);
    child.once('exit', (exitCode) => {
      if (exitCode !== 0) return reject(new AgentperfError(options.code, `${options.what} exited with ${exitCode}:\n${err.trim()}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!) as T);
      } catch {
        reject(new AgentperfError(options.code, `${options.what} printed no result: ${out.slice(-300)}`));
      }
    });
  });
}
