import { describe, expect, it } from 'vitest';
import { trainedParameterCount, widthForTarget } from '../src/random-features.js';
import { runSmoke } from './helpers.js';

describe('width for a target accuracy', () => {
  it('is the narrowest width whose accuracy reaches the target, null if none does', () => {
    const widths = [4, 16, 64, 256];
    expect(widthForTarget(widths, [0.5, 0.7, 0.9, 0.92], 0.9)).toBe(64);
    expect(widthForTarget(widths, [0.95, 0.7, 0.9, 0.92], 0.9)).toBe(4);
    expect(widthForTarget(widths, [0.5, 0.7, 0.8, 0.85], 0.9)).toBeNull();
  });
});

describe('trained parameters', () => {
  it('counts every layer when fully trained, the readout only when the hidden layer is frozen', () => {
    const shape = { inputDim: 16, hidden: [64], outputDim: 4 };
    expect(trainedParameterCount(shape, [])).toBe(16 * 64 + 64 + 64 * 4 + 4);
    expect(trainedParameterCount(shape, [0])).toBe(64 * 4 + 4);
  });
});

describe('random-features', () => {
  it('reproduces the known result on its smoke preset: a fixed random hidden layer needs more units, and approaches the trained network with width', async () => {
    const result = await runSmoke('random-features');
    const metrics = result.metrics as {
      byWidth: Record<string, { randomFeaturesAccuracy: number; fullyTrainedAccuracy: number }>;
      randomFeatures: { widthForTarget: number | null; widestAccuracy: number };
      fullyTrained: { widthForTarget: number | null };
      targetAccuracy: number;
    };
    expect(result.metrics).toMatchObject({ randomFeaturesNeedMoreUnits: true, randomFeaturesApproachFullyTrained: true });
    // The fully trained network is far better when narrow (its hidden layer learns), and the random
    // features catch up when wide (their readout learns): each fails if that part of training is broken.
    const narrowest = metrics.byWidth['4']!;
    expect(narrowest.fullyTrainedAccuracy - narrowest.randomFeaturesAccuracy).toBeGreaterThan(0.15);
    expect(metrics.randomFeatures.widestAccuracy).toBeGreaterThanOrEqual(metrics.targetAccuracy);
    expect(metrics.randomFeatures.widthForTarget! / metrics.fullyTrained.widthForTarget!).toBeGreaterThanOrEqual(4);

    // The random-feature model trains only its readout; both start from the same weights at a width.
    const unit = (model: string, width: number) => result.units.find((u) => u.config.model === model && u.config.width === width)!;
    expect(unit('random-features', 64).metrics.trainedParameters).toBe(64 * 4 + 4);
    expect(unit('fully-trained', 64).metrics.trainedParameters).toBe(16 * 64 + 64 + 64 * 4 + 4);
    expect(unit('random-features', 64).curves.testAccuracy).toHaveLength(10);
  });
});
