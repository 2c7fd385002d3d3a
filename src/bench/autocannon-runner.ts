// Runs autocannon in this process (as its CLI does) and prints its result with this process's
// CPU over the run, so that `bench load` compares CPU per request measured the same way for
// each generator: the process's own user + system time around the requests, not its start-up.
import { createRequire } from 'node:module';

const [main, url, connections, seconds] = process.argv.slice(2) as [string, string, string, string];
const autocannon = createRequire(import.meta.url)(main) as (
  options: object,
) => Promise<{ requests: { total: number }; duration: number; errors: number; non2xx: number }>;
const before = process.cpuUsage();
const result = await autocannon({ url, connections: Number(connections), duration: Number(seconds) });
const cpu = process.cpuUsage(before);
process.stdout.write(
  `${JSON.stringify({ requests: result.requests.total, duration: result.duration, errors: result.errors, non2xx: result.non2xx, cpuUs: cpu.user + cpu.system })}\n`,
);
