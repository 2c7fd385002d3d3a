#!/usr/bin/env node
// The agentperf command: the built CLI (npm run build, or `prepare` on install, makes dist/).
import { existsSync } from 'node:fs';

const cli = new URL('../dist/src/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(
    'agentperf: AP_ERR_NOT_BUILT: dist/ is missing; run `npm run build` in the agentperf checkout (npm install does it through `prepare`)\n',
  );
  process.exit(2);
}
await import(cli.href);
