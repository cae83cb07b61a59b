import { describe, expect, it } from 'vitest';
import { Rng } from '@axiom/runner';
import { bitPatternTask } from '../src/lib/data.js';
import { compression, logSpacedEpochs } from '../src/information-bottleneck.js';
import { runSmoke } from './helpers.js';

describe('the 12-bit task', () => {
  it('holds every binary pattern once, with two equal classes', () => {
    const task = bitPatternTask(new Rng(1), { bits: 12, teacherHidden: 16 });
    expect(task.size).toBe(4096);
    const patterns = new Set(Array.from({ length: task.size }, (_, row) => Array.from(task.x.subarray(row * 12, (row + 1) * 12)).join()));
    expect(patterns.size).toBe(4096);
    expect(new Set(task.x)).toEqual(new Set([-1, 1]));
    expect(task.y.reduce((a, b) => a + b, 0)).toBe(2048);
  });
});

describe('evaluation epochs and compression', () => {
  it('spaces evaluation epochs evenly in log time, distinct, ending at the last epoch', () => {
    const epochs = logSpacedEpochs(400, 30);
    expect(epochs.at(-1)).toBe(400);
    expect(epochs[0]).toBe(1);
    expect(new Set(epochs).size).toBe(epochs.length);
    expect(epochs.every((epoch, i) => i === 0 || epoch > epochs[i - 1]!)).toBe(true);
  });

  it('measures how far I(X;T) fell from its peak by the end', () => {
    expect(compression([8, 9, 11, 10, 7])).toBe(4);
    expect(compression([3, 4, 5])).toBe(0);
  });
});

describe('information-bottleneck', () => {
  it('reproduces the known result on its smoke preset: tanh compresses and ReLU does not with 30 fixed-range bins; other estimators disagree', async () => {
    const result = await runSmoke('information-bottleneck');
    const metrics = result.metrics as {
      tanh: { compression: number; finestBinsCompression: number };
      relu: { compression: number; adaptiveCompression: number };
    };
    expect(result.metrics).toMatchObject({ tanhCompresses: true, reluCompresses: false, conclusionDependsOnEstimator: true, bins: 30 });
    expect(metrics.tanh.compression).toBeGreaterThan(1);
    expect(metrics.relu.compression).toBeLessThan(0.25);
    // Finer bins: tanh's compression fades. Bins over each epoch's range: some for ReLU.
    expect(metrics.tanh.finestBinsCompression).toBeLessThan(metrics.tanh.compression / 4);
    expect(metrics.relu.adaptiveCompression).toBeGreaterThan(metrics.relu.compression + 0.25);

    // The information plane: I(X;T) and I(T;Y) per hidden layer at the initial network and every evaluation, per estimator.
    const tanh = result.units.find((unit) => unit.config.activation === 'tanh')!;
    const plane = tanh.curves.informationPlane as Record<string, Array<{ inputInformation: number[]; labelInformation: number[] }>> & { epochs: number[] };
    expect(Object.keys(plane).sort()).toEqual(['adaptive-30', 'epochs', 'fixed-10', 'fixed-10000', 'fixed-30']);
    expect(plane.epochs[0]).toBe(0);
    expect(plane['fixed-30']).toHaveLength(5);
    for (const layer of plane['fixed-30']!) {
      expect(layer.inputInformation).toHaveLength(plane.epochs.length);
      // I(X;T) ≤ log2 of the 1024 patterns; I(T;Y) ≤ H(Y) = 1 bit and ≤ I(X;T).
      layer.inputInformation.forEach((bits, i) => {
        expect(bits).toBeLessThanOrEqual(10 + 1e-9);
        expect(layer.labelInformation[i]).toBeLessThanOrEqual(Math.min(1, bits) + 1e-9);
      });
    }
    // The networks learned the task.
    expect(tanh.metrics.testAccuracy).toBeGreaterThan(0.8);
  });
});
