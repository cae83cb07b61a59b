import { describe, expect, it } from 'vitest';
import { mostProminentPeak, widthBands } from '../src/double-descent.js';
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

interface AtWidth {
  testErrorClean: number;
  testErrorNoisy: number;
  trainErrorClean: number;
  trainErrorNoisy: number;
}

describe('double-descent', () => {
  it('with label noise, test error peaks where the network just fits the training set and falls again beyond it', async () => {
    const result = await runSmoke('double-descent');
    const byWidth = result.metrics.byWidth as Record<string, AtWidth>;
    const [narrow, threshold, wide] = [byWidth['4']!, byWidth['11']!, byWidth['128']!];

    // The narrow network cannot fit the noisy labels, the one at the threshold barely does, the wide one does.
    expect(narrow.trainErrorNoisy).toBeGreaterThan(0.1);
    expect(threshold.trainErrorNoisy).toBeLessThan(0.02);
    expect(wide.trainErrorNoisy).toBe(0);
    // Each width is its own network, padded or not: 21·width + (width + 1)·3 parameters.
    for (const unit of result.units) expect(unit.metrics.parameters).toBe(21 * (unit.config.width as number) + ((unit.config.width as number) + 1) * 3);

    // The peak: with noisy labels, test error at the threshold stands well above both ends.
    expect(threshold.testErrorNoisy).toBeGreaterThan(narrow.testErrorNoisy + 0.05);
    expect(threshold.testErrorNoisy).toBeGreaterThan(wide.testErrorNoisy + 0.05);
    expect(result.metrics.noisy).toMatchObject({ peakWidth: 11, narrowestInterpolatingWidth: 128 });
    // The control: with clean labels there is no such peak, and the noise is what costs test error at the threshold.
    expect(threshold.testErrorClean).toBeLessThan(threshold.testErrorNoisy - 0.15);
    expect((result.metrics.clean as { peakProminence: number }).peakProminence).toBeLessThan(0.02);
    expect(result.metrics).toMatchObject({ peakSharperWithNoise: true });
  });
});
