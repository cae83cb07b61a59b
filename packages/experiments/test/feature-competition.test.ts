import { describe, expect, it } from 'vitest';
import { Rng } from '@axiom/runner';
import { featureColumns, sampleCompetingFeatures, type Dataset } from '@axiom/experiments';
import { destroyFeatures } from '../src/feature-competition.js';
import { runSmoke } from './helpers.js';

describe('feature destruction', () => {
  const options = { featureDims: 2, strongMargin: 2, weakMargin: 1, noiseDims: 3 };
  const columns = featureColumns(options);
  const test = sampleCompetingFeatures(new Rng(1), options, 300);
  const column = (data: Dataset, c: number) => Array.from({ length: data.size }, (_, i) => data.x[i * data.inputDim + c]!);
  /** Mean of sign·value over a column: the feature's margin per column (0 once it no longer predicts the label). */
  const margin = (data: Dataset, c: number) => column(data, c).reduce((sum, value, i) => sum + (2 * data.y[i]! - 1) * value, 0) / data.size;

  it.each([
    ['strong', 'withoutStrong', columns.strong],
    ['weak', 'withoutWeak', columns.weak],
  ] as const)(
    'without the %s feature: its columns are moved across examples (together), every other column and label is untouched',
    (_, destroyed, shuffled) => {
      const data = destroyFeatures(new Rng(2), test, columns)[destroyed];
      expect(data.y).toEqual(test.y);
      for (let c = 0; c < test.inputDim; c++) {
        if (!shuffled.includes(c)) {
          expect(column(data, c), `column ${c}`).toEqual(column(test, c));
          continue;
        }
        // The same values, nearly all in other rows, and no longer carrying the label.
        expect([...column(data, c)].sort()).toEqual([...column(test, c)].sort());
        expect(column(data, c).filter((value, i) => value !== column(test, c)[i]).length).toBeGreaterThan(0.9 * test.size);
        expect(Math.abs(margin(test, c))).toBeGreaterThan(0.5);
        expect(Math.abs(margin(data, c))).toBeLessThan(0.25);
      }
      // The columns of one feature move together: rows of the feature stay intact, only their example changes.
      const rows = (x: Dataset) => Array.from({ length: x.size }, (_, i) => shuffled.map((c) => x.x[i * x.inputDim + c]).join()).sort();
      expect(rows(data)).toEqual(rows(test));
    },
  );
});

describe('feature-competition', () => {
  it('reproduces the known result on a small configuration: the strong feature dominates gradient and accuracy', async () => {
    const result = await runSmoke('feature-competition');

    expect(result.metrics).toMatchObject({ strongGradientDominates: true, strongRemovalHurtsMore: true });
    expect(result.metrics.meanGradientRatio).toBeGreaterThan(1.2);
    const byWidth = result.metrics.byWidth as Record<string, { testAccuracy: number; accuracyDropStrongDestroyed: number; accuracyDropWeakDestroyed: number }>;
    for (const summary of Object.values(byWidth)) {
      expect(summary.testAccuracy).toBeGreaterThan(0.9);
      expect(summary.accuracyDropStrongDestroyed).toBeGreaterThan(0.25); // towards chance
      expect(summary.accuracyDropStrongDestroyed).toBeGreaterThan(3 * summary.accuracyDropWeakDestroyed);
      // The weak feature also predicts the label, and the network uses it a little: destroying it costs something.
      expect(summary.accuracyDropWeakDestroyed).toBeGreaterThan(0.01);
    }

    // The control: trained with the strong feature shuffled away, a network learns the weak feature far
    // better than one trained beside the strong feature (starvation), at every width.
    expect(result.metrics.weakFeatureStarved).toBe(true);
    const starvation = result.metrics.byWidth as Record<string, { weakFeatureAccuracy: number; weakFeatureAccuracyAlone: number }>;
    for (const [width, { weakFeatureAccuracy, weakFeatureAccuracyAlone }] of Object.entries(starvation)) {
      expect(weakFeatureAccuracyAlone - weakFeatureAccuracy, `width ${width}`).toBeGreaterThan(0.05);
    }
    // The control's network never saw the strong feature carry the label: destroying it at test costs it little.
    for (const unit of result.units.filter((u) => u.config.training === 'strong-removed')) {
      const { testAccuracy, accuracyStrongDestroyed } = unit.metrics as Record<string, number>;
      expect(Math.abs(testAccuracy! - accuracyStrongDestroyed!), unit.key).toBeLessThan(0.05);
    }

    // Per epoch: both gradient norms and their ratio.
    for (const unit of result.units) {
      const { gradientNormStrong, gradientNormWeak, gradientRatio } = unit.curves as Record<string, number[]>;
      expect(gradientRatio).toHaveLength(10);
      gradientRatio!.forEach((ratio, epoch) => expect(ratio).toBeCloseTo(gradientNormStrong![epoch]! / gradientNormWeak![epoch]!, 12));
    }
  });
});
