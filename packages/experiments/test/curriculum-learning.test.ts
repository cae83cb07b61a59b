import { describe, expect, it } from 'vitest';
import { runSmoke } from './helpers.js';

describe('curriculum-learning', () => {
  it('reproduces the known result on a small configuration: easy levels first under random order, orderings end close', async () => {
    const result = await runSmoke('curriculum-learning');
    expect(result.units.map((unit) => unit.key)).toEqual(['random', 'easy-first', 'hard-first', 'paced'].map((ordering) => `ordering=${ordering}/width=64/learningRate=0.05`));

    // The implicit curriculum: under random order, each level is learned later than the easier ones,
    // and easy test examples are classified better at the end.
    const byOrdering = result.metrics.byOrdering as Record<string, { finalTestAccuracy: number; meanLearnedEpochByLevel: number[]; finalTestAccuracyByLevel: number[] }>;
    const random = byOrdering.random!;
    expect(result.metrics.easyLearnedFirstUnderRandomOrder).toBe(true);
    expect((random as { levelOrderAgreement: number }).levelOrderAgreement).toBeGreaterThanOrEqual(0.8);
    expect(random.meanLearnedEpochByLevel.at(-1)! - random.meanLearnedEpochByLevel[0]!).toBeGreaterThan(2);
    expect(random.finalTestAccuracyByLevel[0]).toBeGreaterThan(random.finalTestAccuracyByLevel.at(-1)! + 0.3);
    // At (this) full budget the orderings end within a few points of each other.
    expect(result.metrics.finalAccuracySpread).toBeLessThan(0.08);

    // Per epoch, test accuracy overall and per level is recorded for every ordering.
    for (const unit of result.units) {
      expect(unit.curves.testAccuracy).toHaveLength(12);
      expect((unit.curves.testAccuracyByLevel as number[][]).map((curve) => curve.length)).toEqual([12, 12, 12, 12, 12]);
    }
  });
});
