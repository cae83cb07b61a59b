import { availableParallelism, cpus, release, totalmem, type } from 'node:os';
import type { HostInfo } from './schemas.js';

export function describeHost(): HostInfo {
  return {
    os: `${type()} ${release()}`,
    arch: process.arch,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryBytes: totalmem(),
    nodeVersion: process.version,
  };
}

/** Kept equal to packages/runner/package.json's version by a test; a constant survives bundling. */
export const WORKER_VERSION = '0.1.0';
