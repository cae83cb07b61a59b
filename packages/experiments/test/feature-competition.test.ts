import { describe, expect, it } from 'vitest';
import { runSmoke } from './helpers.js';

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
    }

    // Per epoch: both gradient norms and their ratio.
    for (const unit of result.units) {
      const { gradientNormStrong, gradientNormWeak, gradientRatio } = unit.curves as Record<string, number[]>;
      expect(gradientRatio).toHaveLength(10);
      gradientRatio!.forEach((ratio, epoch) => expect(ratio).toBeCloseTo(gradientNormStrong![epoch]! / gradientNormWeak![epoch]!, 12));
    }
  });
});
