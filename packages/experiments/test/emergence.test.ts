import { describe, expect, it } from 'vitest';
import { scoreAnswers, sharpness } from '../src/emergence.js';
import { runSmoke } from './helpers.js';

describe('answer scores', () => {
  it('count parts right and answers with every part right', () => {
    // Three examples of two parts: all right; one part wrong; both wrong. A logit of 0 answers neither.
    const logits = [3, -2, 1, 1, -1, 2];
    const targets = [1, 0, 1, 0, 1, 0];
    const scores = scoreAnswers(logits, targets, 2);
    expect(scores.partAccuracy).toBeCloseTo(3 / 6, 12);
    expect(scores.exactMatch).toBeCloseTo(1 / 3, 12);
    expect(scores.partAccuracies).toEqual([2 / 3, 1 / 3]);
    expect(scoreAnswers([0, 0], [1, 0], 2).partAccuracy).toBe(0);
  });
});

describe('sharpness of a rise across scales', () => {
  it('takes the largest step as a share of the total rise, and the share made by the middle scale in log scale', () => {
    const scales = [1, 2, 4, 8, 16];
    expect(sharpness(scales, [0, 0.25, 0.5, 0.75, 1])).toEqual({ largestJumpShare: 0.25, riseByMidpoint: 0.5 });
    // A late rise: nothing by the middle (scale 4), most of it in the last step.
    expect(sharpness(scales, [0, 0, 0, 0.2, 1])).toEqual({ largestJumpShare: 0.8, riseByMidpoint: 0 });
    // The middle of 1..8 in log scale is √8, between 2 and 4: interpolated in log scale.
    expect(sharpness([1, 2, 4, 8], [0, 0.2, 0.6, 1]).riseByMidpoint).toBeCloseTo(0.4, 12);
    expect(sharpness(scales, [1, 0.8, 0.6, 0.4, 0.2])).toEqual({ largestJumpShare: null, riseByMidpoint: null });
  });
});

describe('emergence', () => {
  it('exact match rises late while per-part accuracy rises from the start, and exact ≈ per-part^k', async () => {
    const result = await runSmoke('emergence');
    const parts = result.params.parts as number;
    const byWidth = result.metrics.byWidth as Record<string, { partAccuracy: number; exactMatch: number; predictedExactMatch: number }>;
    const widths = (result.params.widths as number[]).map(String);
    // Per-part accuracy climbs with width, from well above chance at width 1.
    widths.slice(1).forEach((width, i) => expect(byWidth[width]!.partAccuracy).toBeGreaterThan(byWidth[widths[i]!]!.partAccuracy));
    expect(byWidth[widths[0]!]!.partAccuracy).toBeGreaterThan(0.6);
    expect(byWidth[widths.at(-1)!]!.partAccuracy).toBeGreaterThan(0.88);
    // Exact match is near zero at width 1 and is what independent parts predict at every width.
    expect(byWidth[widths[0]!]!.exactMatch).toBeLessThan(0.1);
    for (const width of widths) {
      expect(byWidth[width]!.predictedExactMatch).toBeCloseTo(byWidth[width]!.partAccuracy ** parts, 12);
      expect(Math.abs(byWidth[width]!.exactMatch - byWidth[width]!.predictedExactMatch), `width ${width}`).toBeLessThan(0.04);
    }
    const sharpnessOf = result.metrics.sharpness as Record<string, { riseByMidpoint: number }>;
    expect(sharpnessOf.exactMatch!.riseByMidpoint).toBeLessThan(0.5);
    expect(sharpnessOf.partAccuracy!.riseByMidpoint - sharpnessOf.exactMatch!.riseByMidpoint).toBeGreaterThan(0.2);
    expect(result.metrics.lateRise).toBe(true);
    // Every epoch's test scores are recorded, and the last ones are the unit's.
    for (const unit of result.units) {
      expect(unit.curves.exactMatchAccuracy).toHaveLength(result.params.epochs as number);
      expect((unit.curves.partAccuracy as number[]).at(-1)).toBe(unit.metrics.partAccuracy);
    }
  }, 120_000);
});
