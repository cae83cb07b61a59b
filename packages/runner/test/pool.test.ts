import { describe, expect, it } from 'vitest';
import type { NetworkWork, WorkEstimate } from '../src/experiment.js';
import { poolSize, WORKER_MEMORY_BUDGET_BYTES } from '../src/pool.js';
import { longestFirst, stackSeconds } from '../src/work.js';

describe('poolSize', () => {
  const plenty = 64 * WORKER_MEMORY_BUDGET_BYTES;

  it('takes the workers the host asked for when memory and groups allow', () => {
    expect(poolSize(2, 5, plenty)).toEqual({ workers: 2 });
  });

  it('takes fewer when free memory holds fewer at the budget each, and says why', () => {
    expect(poolSize(4, 10, 2.5 * WORKER_MEMORY_BUDGET_BYTES)).toEqual({ workers: 2, why: '4 requested, but 750 MiB of free memory at 300 MiB a worker' });
    // Never none: a host short of memory still runs the sweep, in one process.
    expect(poolSize(4, 10, 0).workers).toBe(1);
  });

  it('takes no more than there are groups to train', () => {
    expect(poolSize(3, 2, plenty)).toEqual({ workers: 2, why: '3 requested, but 2 group(s) to train' });
  });
});

describe('longestFirst', () => {
  const network = (stack: string, width: number, steps: number): NetworkWork => ({ layers: [10, width, 2], trainPasses: 1000, evalPasses: 0, steps, stack });
  // Declared in the sweep's order: a small stack, a wide one, and one that takes many steps.
  const networks = [network('small', 8, 10), network('wide', 512, 10), network('wide', 512, 10), network('long', 8, 10_000)];
  const work: WorkEstimate<null> = { networks: () => networks, flopsPerSecond: 1e9, secondsPerStep: 1e-3 };
  const groups = ['small', 'wide', 'long'].map((key) => ({ key }));

  it('orders groups by the declared seconds of their stack, FLOPs and steps both counted', () => {
    expect(stackSeconds([networks[3]!], work)).toBeGreaterThan(stackSeconds(networks.slice(1, 3), work));
    expect(longestFirst(groups, work, null).map((group) => group.key)).toEqual(['long', 'wide', 'small']);
  });

  it('keeps the sweep order without a declaration, or when a group is not a declared stack (stacking off)', () => {
    expect(longestFirst(groups, undefined, null)).toEqual(groups);
    const units = [{ key: 'small/replicate=0' }, ...groups];
    expect(longestFirst(units, work, null)).toEqual(units);
  });
});
