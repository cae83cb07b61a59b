import { describe, expect, it } from 'vitest';
import { epochsToReach } from '../src/random-label-memorization.js';
import { runSmoke } from './helpers.js';

describe('epochs to reach a threshold', () => {
  it('is the first epoch (1-based) whose value reaches the threshold, null if none does', () => {
    expect(epochsToReach([0.2, 0.9, 1, 0.95, 1], 1)).toBe(3);
    expect(epochsToReach([0.2, 0.99], 0.99)).toBe(2);
    expect(epochsToReach([1], 1)).toBe(1);
    expect(epochsToReach([0.5, 0.98], 0.99)).toBeNull();
    expect(epochsToReach([], 1)).toBeNull();
  });
});

interface AtFraction {
  epochsToFit: number | null;
  replicatesFit: number;
  trainAccuracy: number;
  testAccuracy: number;
  medianFirstFitEpoch: number;
}

describe('random-label-memorization', () => {
  it('fits fully random labels, more slowly than true labels, at chance test accuracy', async () => {
    const result = await runSmoke('random-label-memorization');
    const byFraction = result.metrics.byFraction as Record<string, AtFraction>;
    const [trueLabels, half, random] = [byFraction['0']!, byFraction['0.5']!, byFraction['1']!];

    // Every network fits every label it is trained on, random or not, and stops there.
    for (const atFraction of [trueLabels, half, random]) expect(atFraction).toMatchObject({ replicatesFit: 3, trainAccuracy: 1 });
    for (const unit of result.units) expect((unit.curves.trainAccuracy as number[]).length).toBe(unit.metrics.epochsToFit);

    // Random labels take longer: the whole set, and the typical example.
    expect(random.epochsToFit!).toBeGreaterThan(1.3 * trueLabels.epochsToFit!);
    expect(random.medianFirstFitEpoch).toBeGreaterThan(trueLabels.medianFirstFitEpoch);

    // Test accuracy (against true test labels) falls with the random fraction, to chance (1/5) when all are random.
    expect(trueLabels.testAccuracy).toBeGreaterThan(0.7);
    expect(half.testAccuracy).toBeLessThan(trueLabels.testAccuracy - 0.15);
    expect(Math.abs(random.testAccuracy - 0.2)).toBeLessThan(0.06);
    // After one epoch, a network trained on random labels fits about chance of them (it cannot predict them).
    for (const unit of result.units.filter((u) => u.config.fraction === 1)) expect((unit.curves.trainAccuracy as number[])[0]).toBeLessThan(0.4);
    expect(result.metrics).toMatchObject({ randomLabelsFit: true, fittingSlowsWithRandomLabels: true, randomLabelsAtChance: true });
  });
});
