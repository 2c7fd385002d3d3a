import { execFile } from 'node:child_process';

const CLOCK_TICKS_PER_S = 100; // USER_HZ on Linux

/**
 * Runs a command to its end and returns its stdout with the CPU (user + system) it used,
 * children included. A shell runs it, waits for it, then reads its own "children" times from
 * /proc (fields 16 and 17 of /proc/PID/stat count the CPU of the children it has reaped).
 * Linux only; resolution 10 ms (the kernel's clock tick).
 */
export function withChildCpu(command: string, args: string[]): Promise<{ out: string; cpuUs: number }> {
  // The command's stdout goes to stderr, kept apart from the stat line on stdout.
  const script = '"$@" >&2 && cat /proc/$$/stat';
  return new Promise((resolve, reject) => {
    execFile('sh', ['-c', script, 'sh', command, ...args], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`${command} ${args.join(' ')} failed: ${stderr.slice(-500)}`));
        return;
      }
      // Fields after the ")" that ends the command name start at field 3 (the state).
      const fields = stdout
        .slice(stdout.lastIndexOf(')') + 2)
        .trim()
        .split(' ');
      const ticks = Number(fields[16 - 3]) + Number(fields[17 - 3]);
      resolve({ out: stderr, cpuUs: (ticks / CLOCK_TICKS_PER_S) * 1e6 });
    });
  });
}
