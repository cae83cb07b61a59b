import { describe, expect, it } from 'vitest';
import { poolSize, WORKER_MEMORY_BUDGET_BYTES } from '../src/pool.js';

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
