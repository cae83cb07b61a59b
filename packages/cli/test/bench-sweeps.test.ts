import { describe, expect, it } from 'vitest';
import { fastest, gemmShare, torchLayouts } from '../src/bench/sweeps.js';
import { layoutLabel } from '../src/bench/pytorch.js';

describe("the bench's sweep table", () => {
  it('tries PyTorch on 1..N threads and on N one-thread processes', () => {
    expect(torchLayouts(1).map(layoutLabel)).toEqual(['1 thread']);
    expect(torchLayouts(3).map(layoutLabel)).toEqual(['1 thread', '2 threads', '3 threads', '3 processes × 1 thread']);
  });

  it("picks PyTorch's fastest configuration, the first of equals, none without figures", () => {
    expect(
      fastest(
        new Map([
          ['1 thread', 12],
          ['2 threads', 30],
          ['2 processes × 1 thread', 7.5],
        ]),
      ),
    ).toEqual({ label: '2 processes × 1 thread', seconds: 7.5 });
    expect(
      fastest(
        new Map([
          ['1 thread', 5],
          ['2 threads', 5],
        ]),
      )?.label,
    ).toBe('1 thread');
    expect(fastest(new Map())).toBeUndefined();
  });

  it('measures the share of the GEMM limit against one thread per worker', () => {
    // 60 GFLOP in 10 s is 6 GFLOP/s: against 2 workers at 30 GFLOP/s each, a tenth of the limit.
    expect(gemmShare(60e9, 10, 30, 2)).toBeCloseTo(0.1);
    expect(gemmShare(60e9, 10, 30, 1)).toBeCloseTo(0.2);
  });
});
