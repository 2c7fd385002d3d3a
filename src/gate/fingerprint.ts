import { createHash } from 'node:crypto';
import os from 'node:os';
import { VERSION } from '../runtime/self.js';

/**
 * A comparability class: what must match for blocks measured on two machines to be compared.
 * The CPU model, the cores, the memory's size class, Node's major.minor, the platform and the
 * architecture, and agentperf's major.minor (its way of measuring). Not the kernel build, not a
 * patch version, not the host name: runners of one class differ in those and measure alike. A
 * runner of the class that is slower or faster anyway is caught by the calibration (see
 * measure/calibration.ts), not by the fingerprint.
 */
export interface Fingerprint {
  cpuModel: string;
  cores: number;
  /** Total memory rounded up to a power of two, in GiB. */
  memoryGiB: number;
  node: string;
  platform: string;
  arch: string;
  agentperf: string;
}

const majorMinor = (version: string) => version.replace(/^v/, '').split('.').slice(0, 2).join('.');

/** The power of two at or above `bytes`, in GiB (24 GiB → 32: machines of one size class). */
export function memoryClassGiB(bytes: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, bytes / 2 ** 30)));
}

export function currentFingerprint(): Fingerprint {
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism?.() ?? os.cpus().length,
    memoryGiB: memoryClassGiB(os.totalmem()),
    node: majorMinor(process.version),
    platform: os.platform(),
    arch: os.arch(),
    agentperf: majorMinor(VERSION),
  };
}

const FIELDS: Array<keyof Fingerprint> = ['cpuModel', 'cores', 'memoryGiB', 'node', 'platform', 'arch', 'agentperf'];

/** A short stable id for file names: the first 12 hex digits of the class's SHA-256. */
export function fingerprintId(f: Fingerprint): string {
  return createHash('sha256')
    .update(JSON.stringify(FIELDS.map((k) => f[k])))
    .digest('hex')
    .slice(0, 12);
}

/** The fields that differ, as `field: stored → current` lines; empty when they match. */
export function fingerprintDifferences(stored: Fingerprint, current: Fingerprint): string[] {
  return FIELDS.filter((k) => String(stored[k]) !== String(current[k])).map((k) => `${k}: ${stored[k] ?? '(not recorded)'} → ${current[k]}`);
}
