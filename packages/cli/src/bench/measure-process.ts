/** Runs measure.js in a fresh process: its own startup, peak RSS and WASM thread pool. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BackendName } from '@axiom/runner/host';

/** A backend on a thread count: one column of what axiom is measured on. */
export interface BenchTarget {
  backend: BackendName;
  threads: number;
  /** The WebGPU adapter, by its `--gpu` index. */
  gpu?: number;
}

const measureScript = fileURLToPath(new URL('./measure.js', import.meta.url));

export const label = (target: BenchTarget) => (target.gpu === undefined ? `${target.backend} ×${target.threads}` : `${target.backend} #${target.gpu}`);

/** A row's threads: what the backend got (WASM runs single-threaded, with a warning, when its threaded build is refused), and what was asked if that differs. */
export const threadsCell = (target: BenchTarget, actual: number): string | number =>
  actual === target.threads ? actual : `${actual} (asked ${target.threads})`;

/** A measurement that hangs must not hold up the bench: the longest default sweep takes about a minute here. */
const MEASUREMENT_TIMEOUT_MS = 30 * 60 * 1000;

/** One measurement's JSON line; a failure is reported (with the process's last words) and yields undefined. */
export function measureIn<T>(target: BenchTarget, args: string[]): T | undefined {
  const backend = target.gpu === undefined ? target.backend : `${target.backend}@${target.gpu}`;
  const child = spawnSync(process.execPath, [measureScript, backend, String(target.threads), ...args], { encoding: 'utf8', timeout: MEASUREMENT_TIMEOUT_MS });
  if (child.status !== 0) {
    const why = child.error?.message ?? child.stderr.trim().split('\n').at(-1) ?? '';
    process.stderr.write(`${label(target)} ${args.join(' ')}: measurement failed (exit ${child.status ?? child.signal}): ${why}\n`);
    return undefined;
  }
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as T;
}

/** `runs` measurements, less the failed ones (each reported). */
export const repeatedRuns = <T>(runs: number, measure: () => T | undefined): T[] =>
  Array.from({ length: runs }, measure).filter((m): m is T => m !== undefined);
