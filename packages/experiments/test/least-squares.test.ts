import { describe, expect, it } from 'vitest';
import { Rng } from '@axiom/runner';
import { minimumNormLeastSquares, multiply, randomFeatureOutputs, randomReluWeights, reluFeatures } from '../src/lib/least-squares.js';

describe('minimum-norm least squares', () => {
  it('with fewer columns than rows, is the least-squares fit', () => {
    // y = 1, 2, 3 on a constant column: the mean, 2.
    expect(minimumNormLeastSquares(Float64Array.of(1, 1, 1), 3, 1, Float64Array.of(1, 2, 3), 1)[0]).toBeCloseTo(2, 10);
    // A line through (0, 1), (1, 3), (2, 5) fitted exactly, with two outputs at once (the second: twice the first).
    const a = Float64Array.of(1, 0, 1, 1, 1, 2);
    const solution = minimumNormLeastSquares(a, 3, 2, Float64Array.of(1, 2, 3, 6, 5, 10), 2);
    [1, 2, 2, 4].forEach((value, i) => expect(solution[i]).toBeCloseTo(value, 10));
  });

  it('with at least as many columns as rows, is the interpolant of least norm', () => {
    // One equation w₁ + w₂ = 2: of all solutions, (1, 1) has the least norm.
    const [first, second] = minimumNormLeastSquares(Float64Array.of(1, 1), 1, 2, Float64Array.of(2), 1);
    expect(first).toBeCloseTo(1, 10);
    expect(second).toBeCloseTo(1, 10);
    // Random 5 × 12: the fit interpolates, and lies in the row space (w = Aᵀα), which makes it the least-norm one.
    const rng = new Rng(3);
    const a = Float64Array.from({ length: 60 }, () => rng.normal());
    const y = Float64Array.from({ length: 5 }, () => rng.normal());
    const w = minimumNormLeastSquares(a, 5, 12, y, 1);
    multiply(a, w, 5, 12, 1).forEach((value, i) => expect(value).toBeCloseTo(y[i]!, 8));
    const inRowSpace = minimumNormLeastSquares(a, 5, 12, multiply(a, w, 5, 12, 1), 1);
    w.forEach((value, i) => expect(inRowSpace[i]).toBeCloseTo(value, 8));
  });
});

describe('random ReLU features', () => {
  it('are max(0, w·x) of fixed weights, a prefix of the draw for fewer features, and score inputs one at a time alike', () => {
    const weights = randomReluWeights(new Rng(1), 3, 4);
    expect(randomReluWeights(new Rng(1), 3, 4)).toEqual(weights);
    const x = Float64Array.of(1, -2, 0.5, 0, 1, 1);
    const features = reluFeatures(x, 2, 3, weights, 4);
    for (let j = 0; j < 4; j++) {
      const dot = weights[j * 3]! * 1 - 2 * weights[j * 3 + 1]! + 0.5 * weights[j * 3 + 2]!;
      expect(features[j]).toBeCloseTo(Math.max(0, dot), 12);
    }
    expect(reluFeatures(x, 2, 3, weights, 2)).toEqual(Float64Array.of(features[0]!, features[1]!, features[4]!, features[5]!));
    const readout = Float64Array.of(1, 2, 3, 4, 5, 6, 7, 8);
    expect(randomFeatureOutputs(x, 2, 3, weights, 4, readout, 2)).toEqual(multiply(features, readout, 2, 4, 2));
  });
});
