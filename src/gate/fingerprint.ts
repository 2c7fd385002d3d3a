import { createHash } from 'node:crypto';
import os from 'node:os';
import { VERSION } from '../runtime/self.js';

/** What must match for two measurements to be compared: the machine and the software running. */
export interface Fingerprint {
  cpuModel: string;
  cores: number;
  node: string;
  os: string;
  agentperf: string;
}


export function currentFingerprint(): Fingerprint {
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism?.() ?? os.cpus().length,
    node: process.version,
    os: `${os.platform()} ${os.release()} ${os.arch()}`,
    agentperf: VERSION,
  };
}

/** A short stable id for file names: the first 12 hex digits of the fingerprint's SHA-256. */
export function fingerprintId(f: Fingerprint): string {
  return createHash('sha256').update(JSON.stringify([f.cpuModel, f.cores, f.node, f.os, f.agentperf])).digest('hex').slice(0, 12);
}

/** The fields that differ, as `field: stored → current` lines; empty when they match. */
export function fingerprintDifferences(stored: Fingerprint, current: Fingerprint): string[] {
  return (Object.keys(current) as Array<keyof Fingerprint>).filter((k) => String(stored[k]) !== String(current[k])).map((k) => `${k}: ${stored[k]} → ${current[k]}`);
}
