#!/usr/bin/env node
// How fast fresh processes run the same code: the README's "What calibration cannot see".
// Starts N processes one after another; each runs a memory-touching loop (8,000 chained SHA-256
// rounds, the e2e service's own work) and an integer-only loop for `--seconds`, and prints its
// median time per call and how far its rounds spread. Run it under `setarch -R` (no address
// randomisation) or `taskset -c 0` (one CPU): both are inherited by the children.
//
//   node scripts/process-speeds.mjs --processes 12 --seconds 1
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const CHILD = `
const { createHash } = require('node:crypto');
const hash = (t) => { let d = t; for (let i = 0; i < 8000; i++) d = createHash('sha256').update(d).digest('hex'); return d; };
const integers = () => { let h = 1; for (let i = 0; i < 2e6; i++) h = (Math.imul(h, 1103515245) + 12345 + i) | 0; return h; };
const perCall = (f, calls) => { const t = performance.now(); for (let i = 0; i < calls; i++) f('q' + i); return (performance.now() - t) / calls; };
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
for (let i = 0; i < 30; i++) hash('w' + i), integers();
const rounds = { hash: [], integers: [] };
const end = performance.now() + Number(process.argv[1]) * 1000;
while (performance.now() < end) { rounds.hash.push(perCall(hash, 20)); rounds.integers.push(perCall(integers, 20)); }
const show = (xs) => median(xs).toFixed(2) + ' ms (rounds ' + ((Math.max(...xs) / Math.min(...xs) - 1) * 100).toFixed(0) + '% apart)';
console.log('hash ' + show(rounds.hash) + ', integers ' + show(rounds.integers));
`;

const { values } = parseArgs({ options: { processes: { type: 'string', default: '12' }, seconds: { type: 'string', default: '1' } } });
const processes = Number(values.processes);
const seconds = Number(values.seconds);
if (!Number.isInteger(processes) || processes < 1 || !(seconds > 0)) {
  process.stderr.write('usage: node scripts/process-speeds.mjs --processes <n >= 1> --seconds <s > 0>\n');
  process.exit(2);
}
for (let i = 1; i <= processes; i++) {
  const line = execFileSync(process.execPath, ['-e', CHILD, String(seconds)], { encoding: 'utf8' }).trim();
  process.stdout.write(`process ${String(i).padStart(2)}: ${line}\n`);
}
