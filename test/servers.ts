// Real servers the tests start for themselves: a free port, a binary looked up on PATH, and a
// real redis-server (Debian's `redis-server`) for the tests that share state through Redis:
// each test starts its own on a free port, with no persistence, and can stop and restart it on
// the same port (Redis going down mid-run). Outside CI a machine without it skips those tests,
// saying how to install it; CI must have it (.ci/run installs it).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createConnection, createServer } from 'node:net';

export function hasBinary(binary: string): boolean {
  try {
    execFileSync('which', [binary], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const REDIS_INSTALL = 'apt-get install -y redis-server';

/** Whether redis-server is here; in CI its absence is an error, elsewhere a note on stderr. */
export function redisAvailable(file: string): boolean {
  const available = hasBinary('redis-server');
  if (!available) {
    if (process.env.CI) throw new Error(`CI must have redis-server: .ci/run installs it (${REDIS_INSTALL})`);
    process.stderr.write(`${file} skipped: install the real server with \`${REDIS_INSTALL}\` (Debian) to run it\n`);
  }
  return available;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  url: string;
  port: number;
  /** Kills it (SIGKILL: a crash, not a shutdown) and waits for the port to close. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

async function until(condition: () => Promise<boolean>, what: string, withinMs = 10_000): Promise<void> {
  const end = Date.now() + withinMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`redis-server: ${what} within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A redis-server of this test's own, on a free loopback port, without persistence. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const launch = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], {
      stdio: 'ignore',
    });
    await until(() => accepting(port), 'accepting connections');
  };
  const kill = async () => {
    child?.kill('SIGKILL');
    child = undefined;
    await until(async () => !(await accepting(port)), 'gone');
  };
  await launch();
  return { url: `redis://127.0.0.1:${port}`, port, kill, restart: launch, stop: kill };
}
