import { beforeAll, describe, expect, it } from 'vitest';
import type { Result } from '@axiom/runner/host';
import { mostProminentPeak, nearestOnLogScale, widthBands } from '../src/double-descent.js';
import { runSmoke } from './helpers.js';

describe('most prominent peak', () => {
  it('is the interior point standing highest above the lower of its two bases', () => {
    // Peak at 3 (0.5): bases 0.2 (left) and 0.3 (right), so prominence 0.5 − 0.3.
    expect(mostProminentPeak([0.4, 0.2, 0.3, 0.5, 0.3, 0.35])).toEqual({ index: 3, prominence: expect.closeTo(0.2, 10) });
    // Two bumps: the second is more prominent although the first starts from a higher curve.
    expect(mostProminentPeak([0.5, 0.45, 0.5, 0.4, 0.2, 0.45, 0.1])!.index).toBe(5);
    // A bump's base on each side ends at a higher point: the lowest point between them counts, not the curve's minimum.
    expect(mostProminentPeak([0.9, 0.3, 0.4, 0.35, 0.8])).toEqual({ index: 2, prominence: expect.closeTo(0.05, 10) });
    expect(mostProminentPeak([0.9, 0.3, 0.4, 0.35, 0.8, 0.1])).toEqual({ index: 4, prominence: expect.closeTo(0.5, 10) });
  });

  it('has no peak on a curve that only falls or rises, or at its ends', () => {
    expect(mostProminentPeak([0.5, 0.4, 0.3, 0.3, 0.2])).toBeNull();
    expect(mostProminentPeak([0.1, 0.2, 0.3])).toBeNull();
    expect(mostProminentPeak([0.9, 0.1, 0.9])).toBeNull();
    expect(mostProminentPeak([0.3])).toBeNull();
  });
});

describe('width bands', () => {
  it('start at the narrowest width not yet in a band and take widths up to ratio times it', () => {
    const bands = widthBands([2, 3, 8, 9, 32, 40, 256], 4);
    expect([...bands.entries()]).toEqual([
      [2, 2],
      [3, 2],
      [8, 2],
      [9, 9],
      [32, 9],
      [40, 40],
      [256, 256],
    ]);
    expect([...widthBands([4, 8], 1).values()]).toEqual([4, 8]);
  });
});

describe('nearest on a log scale', () => {
  it('is the size whose ratio to the target is closest to 1', () => {
    expect(nearestOnLogScale([38, 75, 150, 300, 600], 300)).toBe(300);
    // 200 is 1.33× from 150 and 1.5× from 300.
    expect(nearestOnLogScale([75, 150, 300, 600], 200)).toBe(150);
    expect(nearestOnLogScale([75, 150], 1000)).toBe(150);
  });
});

interface AtSize {
  testErrorClean: number;
  testErrorNoisy: number;
  trainErrorClean: number;
  trainErrorNoisy: number;
}
type ArmPeaks = Record<
  'clean' | 'noisy',
  { peakSize: number | null; peakParameters: number | null; peakProminence: number; smallestInterpolatingSize: number | null }
>;

describe('double-descent', () => {
  let result: Result;
  beforeAll(async () => {
    result = await runSmoke('double-descent');
  });
  const units = (field: string) => result.units.filter((unit) => field in unit.config);

  it('random features fitted by minimum-norm least squares: test error peaks where trained parameters = samples × classes, and falls again', () => {
    const byFeatures = result.metrics.byFeatures as Record<string, AtSize & { readoutNormNoisy: number }>;
    const [few, threshold, twice, many] = [byFeatures['75']!, byFeatures['300']!, byFeatures['600']!, byFeatures['1200']!];
    // Trained parameters: the readout's, features × classes.
    for (const unit of units('features')) expect(unit.metrics.parameters).toBe(3 * (unit.config.features as number));

    // Below 300 features (= samples) the noisy labels cannot all be fitted; from 300 on, the fit interpolates them.
    expect(few.trainErrorNoisy).toBeGreaterThan(0.1);
    for (const atSize of [threshold, twice, many]) expect(atSize.trainErrorNoisy).toBe(0);
    // At the threshold the interpolant needs a readout of far larger norm than on either side: the peak's mechanism.
    expect(threshold.readoutNormNoisy).toBeGreaterThan(4 * Math.max(byFeatures['150']!.readoutNormNoisy, twice.readoutNormNoisy));
    // The peak: test error there stands well above both ends, in both runs.
    for (const run of ['Clean', 'Noisy'] as const) {
      expect(threshold[`testError${run}`]).toBeGreaterThan(few[`testError${run}`] + 0.1);
      expect(threshold[`testError${run}`]).toBeGreaterThan(many[`testError${run}`] + 0.1);
    }
    const peaks = result.metrics.randomFeatures as ArmPeaks;
    expect(peaks.noisy).toMatchObject({ peakSize: 300, peakParameters: 900 });
    expect(peaks.clean).toMatchObject({ peakSize: 300, peakParameters: 900 });
    expect(result.metrics).toMatchObject({ thresholdParameters: 900, randomFeaturesPeakAtThreshold: true });

    // The control: noise costs test error once the labels are interpolated, and raises the squared loss's peak.
    expect(many.testErrorNoisy).toBeGreaterThan(many.testErrorClean + 0.1);
    expect(result.metrics).toMatchObject({ randomFeaturesPeakSharperWithNoise: true });
  });

  it('fully trained networks: with label noise, test error peaks where the network just fits the training set (≈ samples parameters) and falls again', () => {
    const byWidth = result.metrics.byWidth as Record<string, AtSize>;
    const [narrow, threshold, wide] = [byWidth['4']!, byWidth['11']!, byWidth['128']!];

    // The narrow network cannot fit the noisy labels, the one at the threshold barely does, the wide one does.
    expect(narrow.trainErrorNoisy).toBeGreaterThan(0.1);
    expect(threshold.trainErrorNoisy).toBeLessThan(0.02);
    expect(wide.trainErrorNoisy).toBe(0);
    // Each width is its own network, padded or not: 21·width + (width + 1)·3 parameters.
    for (const unit of units('width')) expect(unit.metrics.parameters).toBe(21 * (unit.config.width as number) + ((unit.config.width as number) + 1) * 3);

    // The peak: with noisy labels, test error at the threshold stands well above both ends.
    expect(threshold.testErrorNoisy).toBeGreaterThan(narrow.testErrorNoisy + 0.05);
    expect(threshold.testErrorNoisy).toBeGreaterThan(wide.testErrorNoisy + 0.05);
    const peaks = result.metrics.trained as ArmPeaks;
    expect(peaks.noisy).toMatchObject({ peakSize: 11, peakParameters: 267, smallestInterpolatingSize: 128 });
    expect(result.metrics).toMatchObject({ trainedNoisyPeakNearSamples: true });
    // The control: with clean labels there is no such peak, and the noise is what costs test error at the threshold.
    expect(threshold.testErrorClean).toBeLessThan(threshold.testErrorNoisy - 0.15);
    expect(peaks.clean.peakProminence).toBeLessThan(0.02);
    expect(result.metrics).toMatchObject({ trainedPeakSharperWithNoise: true });
  });
});
