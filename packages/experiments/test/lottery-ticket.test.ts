import { describe, expect, it } from 'vitest';
import { Rng } from '@axiom/runner';
import { fractionKept, magnitudePrune, randomMaskLike } from '../src/lottery-ticket.js';
import { runSmoke } from './helpers.js';

describe('masks', () => {
  it('magnitude pruning removes the smallest |weight| among the kept ones, lower index first on ties', () => {
    const weights = Float32Array.from([0.5, -0.1, 0.3, -0.2, 0.05, 0.4]);
    const all = new Uint8Array(6).fill(1);
    expect(Array.from(magnitudePrune(weights, all, 0.5))).toEqual([1, 0, 1, 0, 0, 1]);
    // Already pruned weights stay pruned and do not count: of the 4 kept, 25% (one) goes, the smallest kept.
    expect(Array.from(magnitudePrune(weights, Uint8Array.from([1, 0, 1, 1, 0, 1]), 0.25))).toEqual([1, 0, 1, 0, 0, 1]);
    expect(Array.from(magnitudePrune(Float32Array.from([0.2, -0.2, 0.2]), new Uint8Array(3).fill(1), 0.34))).toEqual([0, 1, 1]);
    // The count is rounded: 20% of 3 kept rounds to 1.
    expect(Array.from(magnitudePrune(Float32Array.from([3, 1, 2]), new Uint8Array(3).fill(1), 0.2))).toEqual([1, 0, 1]);
  });

  it('a random mask keeps as many weights as the mask it is like, elsewhere', () => {
    const mask = new Uint8Array(1000);
    mask.fill(1, 0, 200);
    const random = randomMaskLike(new Rng(1), mask);
    expect(random.reduce((a, b) => a + b, 0)).toBe(200);
    const overlap = random.reduce((sum, bit, i) => sum + (bit & mask[i]!), 0);
    expect(overlap).toBeGreaterThan(10); // about 200 · 0.2 = 40 by chance
    expect(overlap).toBeLessThan(80);
  });

  it('the fraction kept counts weights over every layer', () => {
    expect(fractionKept([Uint8Array.from([1, 0, 0, 0]), Uint8Array.from([1, 1])])).toBe(0.5);
  });
});

describe('lottery-ticket', () => {
  it('finds sparse winning tickets that beat the same mask re-initialised and a random mask, and match the dense network', async () => {
    const result = await runSmoke('lottery-ticket');
    const sparsest = result.metrics.sparsest as Record<string, number>;
    // Three rounds at half the hidden weights each (a quarter of the output layer's): 1/8 of the hidden weights left.
    const [unit] = result.units;
    const weightsKept = unit!.curves.weightsKept as number[];
    expect(weightsKept).toHaveLength(3);
    expect(weightsKept.every((kept, i) => i === 0 || kept < weightsKept[i - 1]!)).toBe(true);
    expect(sparsest.weightsKept).toBeLessThan(0.2);
    // The mask and the initialisation together make the ticket: either alone does far worse.
    expect(sparsest.ticketAccuracy! - sparsest.reinitAccuracy!).toBeGreaterThan(0.1);
    expect(sparsest.ticketAccuracy! - sparsest.randomMaskAccuracy!).toBeGreaterThan(0.1);
    expect(sparsest.ticketAccuracy).toBeGreaterThan(sparsest.denseAccuracy! - 0.05);
    expect(result.metrics).toMatchObject({ ticketBeatsControlsAtSparsest: true });
  });
});
