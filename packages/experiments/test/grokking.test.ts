import { describe, expect, it } from 'vitest';
import { modularAddition, selectRows } from '../src/lib/data.js';
import { firstStepReaching } from '../src/grokking.js';
import { runSmoke } from './helpers.js';

describe('modular addition', () => {
  it('holds every pair once as two one-hot codes, labelled by their sum mod p', () => {
    const data = modularAddition(5);
    expect(data).toMatchObject({ size: 25, inputDim: 10, classes: 5 });
    const row = 3 * 5 + 4; // (a, b) = (3, 4)
    expect(Array.from(data.x.subarray(row * 10, row * 10 + 10))).toEqual([0, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
    expect(data.y[row]).toBe(2);
    const split = selectRows(data, [row, 0]);
    expect(Array.from(split.y)).toEqual([2, 0]);
    expect(split.size).toBe(2);
    expect(Array.from(split.x.subarray(0, 10))).toEqual(Array.from(data.x.subarray(row * 10, row * 10 + 10)));
  });

  it('finds the first step a curve measured every few steps reaches the threshold', () => {
    expect(firstStepReaching([0.2, 0.98, 0.99, 1], 0.99, 50)).toBe(150);
    expect(firstStepReaching([0.2, 0.5], 0.99, 50)).toBeNull();
  });
});

describe('grokking', () => {
  it('with weight decay, validation accuracy climbs long after the training pairs are fit; without, it stays at zero', async () => {
    // p = 17 for a test's budget: the default sweep's p = 23 reaches 99%; here validation accuracy only climbs.
    const result = await runSmoke('grokking', { modulus: 17, hidden: 128, steps: 2000, stepsPerEvaluation: 50 });
    const unit = (weightDecay: number) => result.units.find((u) => u.config.weightDecay === weightDecay)!;
    for (const weightDecay of [2, 0]) {
      const { trainStep } = unit(weightDecay).metrics as { trainStep: number };
      expect(trainStep, `weight decay ${weightDecay}`).toBeLessThanOrEqual(200); // both fit their training pairs early
    }
    const decayed = unit(2).curves.validationAccuracy as number[];
    const trainFit = (unit(2).metrics.trainStep as number) / 50 - 1;
    // When it has fit its training pairs it has not generalised at all (a memoriser gets held-out sums wrong) ...
    expect(decayed[trainFit]).toBeLessThan(0.05);
    // ... and generalises far later, with weight decay only.
    expect(decayed.at(-1)).toBeGreaterThan(0.25);
    expect(Math.max(...(unit(0).curves.validationAccuracy as number[]))).toBeLessThan(0.05);
    // Weight decay holds the weight norm down; without it the norm keeps growing.
    const norms = (weightDecay: number) => unit(weightDecay).curves.weightNorm as number[];
    expect(norms(2).at(-1)).toBeLessThan(norms(0).at(-1)!);
  });
});
