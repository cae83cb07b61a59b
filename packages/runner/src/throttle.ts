import { performance } from 'node:perf_hooks';

/**
 * Experiments report progress as often as they like; a child process (a sandbox, a pool worker) sends its
 * parent at most ten reports a second, dropping the rest.
 */
export function throttled<A extends unknown[]>(send: (...args: A) => void): (...args: A) => void {
  let lastSent = -Infinity;
  return (...args) => {
    const now = performance.now();
    if (now - lastSent < 100) return;
    lastSent = now;
    send(...args);
  };
}
