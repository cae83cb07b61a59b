/** Runs measure.js in a fresh process: its own startup, peak RSS and WASM thread pool. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BackendName } from '@axiom/runner';

/** A backend on a thread count: one column of what axiom is measured on. */
export interface BenchTarget {
  backend: BackendName;
  threads: number;
}

const measureScript = fileURLToPath(new URL('./measure.js', import.meta.url));

export const label = (target: BenchTarget) => `${target.backend} ×${target.threads}`;

/** One measurement's JSON line; a failure is reported (with the process's last words) and yields undefined. */
export function measureIn<T>(target: BenchTarget, args: string[]): T | undefined {
  const child = spawnSync(process.execPath, [measureScript, target.backend, String(target.threads), ...args], { encoding: 'utf8' });
  if (child.status !== 0) {
    process.stderr.write(`${label(target)} ${args.join(' ')}: measurement failed (exit ${child.status}): ${child.stderr.trim().split('\n').at(-1) ?? ''}\n`);
    return undefined;
  }
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as T;
}
