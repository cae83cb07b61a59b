import { describe, expect, it } from 'vitest';
import { log2SlopePerLayer, trainableWindow } from '../src/weight-init.js';
import { runSmoke } from './helpers.js';

describe('per-layer slope of log2 RMS', () => {
  it('is the doublings per layer of a geometric profile, fitted by least squares', () => {
    expect(log2SlopePerLayer([1, 2, 4, 8])).toBeCloseTo(1, 12);
    expect(log2SlopePerLayer([8, 4, 2, 1])).toBeCloseTo(-1, 12);
    expect(log2SlopePerLayer([3, 3, 3])).toBeCloseTo(0, 12);
    expect(log2SlopePerLayer([1, 4, 4])).toBeCloseTo(1, 12); // log2: 0, 2, 2
  });

  it('is null for one layer, or a signal that vanished to zero or overflowed', () => {
    expect(log2SlopePerLayer([2])).toBeNull();
    expect(log2SlopePerLayer([1, 0, 1])).toBeNull();
    expect(log2SlopePerLayer([1, Infinity])).toBeNull();
    expect(log2SlopePerLayer([1, NaN])).toBeNull();
  });
});

describe('trainable window', () => {
  const gains = [0.25, 0.5, 1, 2, 4];
  it('spans the lowest to the highest gain that trains, in octaves', () => {
    expect(trainableWindow(gains, [false, true, true, true, false])).toEqual({ lowestTrainableGain: 0.5, highestTrainableGain: 2, windowOctaves: 2 });
    expect(trainableWindow(gains, [false, false, true, false, false])).toEqual({ lowestTrainableGain: 1, highestTrainableGain: 1, windowOctaves: 0 });
  });
  it('is null when no gain trains', () => {
    expect(
      trainableWindow(
        gains,
        gains.map(() => false),
      ),
    ).toEqual({ lowestTrainableGain: null, highestTrainableGain: null, windowOctaves: null });
  });
});

describe('weight-init', () => {
  it('reproduces the known result on its smoke preset: deep nets train only near He’s scale, signals change by the gain per layer', async () => {
    const result = await runSmoke('weight-init');
    const m = result.metrics as {
      byDepth: Record<string, { windowOctaves: number | null; trainAccuracyByGain: Record<string, number> }>;
      deepest: Record<'lowestGain' | 'criticalGain' | 'highestGain', { activationSlope: number; gradientSlope: number }>;
      activationSlopePerOctave: number;
      gradientSlopePerOctave: number;
      windowNarrowsWithDepth: boolean;
    };
    // The shallow network trains at every gain from 1/4 to 4; the deep one only at He's.
    expect(m.byDepth['1']!.windowOctaves).toBe(4);
    expect(m.byDepth['8']!.windowOctaves).toBe(0);
    expect(m.byDepth['8']!.trainAccuracyByGain['1']).toBeGreaterThan(0.7);
    for (const gain of ['0.25', '4']) expect(m.byDepth['8']!.trainAccuracyByGain[gain]).toBeLessThan(0.3); // chance is 0.2
    expect(m.windowNarrowsWithDepth).toBe(true);

    // At init each layer multiplies activations by the gain (log2 RMS changes by log2 gain per layer), and
    // the backpropagated gradient by the gain going the other way; flat at He's scale.
    expect(m.deepest.lowestGain.activationSlope).toBeCloseTo(-2, 0);
    expect(m.deepest.highestGain.activationSlope).toBeCloseTo(2, 0);
    expect(Math.abs(m.deepest.criticalGain.activationSlope)).toBeLessThan(0.2);
    expect(m.deepest.lowestGain.gradientSlope).toBeCloseTo(2, 0);
    expect(m.deepest.highestGain.gradientSlope).toBeCloseTo(-2, 0);
    expect(Math.abs(m.deepest.criticalGain.gradientSlope)).toBeLessThan(0.2);
    expect(m.activationSlopePerOctave).toBeCloseTo(1, 1);
    expect(m.gradientSlopePerOctave).toBeCloseTo(-1, 1);

    // Every network recorded a per-layer profile: depth hidden layers and the logits.
    const deep = result.units.find((u) => u.config.depth === 8 && u.config.gain === 4)!;
    expect(deep.metrics.activationRms).toHaveLength(9);
    expect(deep.metrics.gradientRms).toHaveLength(9);
    expect(deep.curves.trainAccuracy).toHaveLength(8);
  });
});
