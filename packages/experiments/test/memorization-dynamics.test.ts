import { describe, expect, it } from 'vitest';
import { cleanFirstRate } from '../src/memorization-dynamics.js';
import { runSmoke } from './helpers.js';

describe('clean-first rate', () => {
  const rate = (firstFit: number[], corrupted: number[]) => cleanFirstRate(Int32Array.from(firstFit), Uint8Array.from(corrupted), 10);

  it('is the fraction of (clean, corrupted) pairs whose clean example was fit first, ties one half, never fit last', () => {
    expect(rate([1, 2, 3, 4], [0, 0, 1, 1])).toBe(1);
    expect(rate([3, 4, 1, 2], [0, 0, 1, 1])).toBe(0);
    expect(rate([2, 2], [0, 1])).toBe(0.5);
    // Pairs (clean 1, corrupted 2), (1, never), (3, 2), (3, never): 1 + 1 + 0 + 1 of 4.
    expect(rate([1, 3, 2, -1], [0, 0, 1, 1])).toBe(0.75);
    expect(rate([-1, -1], [0, 1])).toBe(0.5); // both never fit: a tie
    expect(rate([5, -1, 7], [0, 1, 1])).toBe(1);
  });

  it('is null without clean or without corrupted examples', () => {
    expect(rate([1, 2], [0, 0])).toBeNull();
    expect(rate([1, 2], [1, 1])).toBeNull();
  });
});

describe('memorization-dynamics', () => {
  it('reproduces the known result on a small configuration: clean examples first, accuracy falls with noise', async () => {
    const result = await runSmoke('memorization-dynamics', { corruptionLevels: [0, 0.2, 0.5], epochs: 15 });

    const byLevel = result.metrics.byLevel as Record<string, { testAccuracy: number; cleanFirstRate: number | null }>;
    expect(byLevel['0']!.testAccuracy).toBeGreaterThan(0.7);
    expect(byLevel['0']!.cleanFirstRate).toBeNull();
    for (const level of ['0.2', '0.5']) expect(byLevel[level]!.cleanFirstRate).toBeGreaterThan(0.7);
    expect(byLevel['0']!.testAccuracy).toBeGreaterThan(byLevel['0.5']!.testAccuracy);
    expect(result.metrics).toMatchObject({ cleanFirstAtEveryLevel: true });
    // The control: a random subset of the clean run, chosen as corruption would choose it but left
    // uncorrupted, is fit neither first nor last; the corrupted levels stand far from it.
    const { placeboCleanFirstRate, meanCleanFirstRate } = result.metrics as { placeboCleanFirstRate: number; meanCleanFirstRate: number };
    expect(Math.abs(placeboCleanFirstRate - 0.5)).toBeLessThan(0.1);
    expect(meanCleanFirstRate - placeboCleanFirstRate).toBeGreaterThan(0.25);

    // Every training example has its first-fit epoch recorded, and the corruption mask matches the level.
    const unit = result.units.find((u) => u.config.level === 0.5)!;
    const firstFit = unit.curves.firstFitEpoch as number[];
    const corrupted = unit.curves.corrupted as number[];
    expect(firstFit).toHaveLength(400);
    expect(corrupted.reduce((a, b) => a + b, 0)).toBe(200);
    expect(unit.curves.testAccuracy).toHaveLength(15);
    // Each level corrupts exactly its fraction of the labels, and they are really changed: after one
    // epoch the network fits clean labels but not corrupted ones (it predicts their true class).
    for (const noisy of result.units.filter((u) => (u.config.level as number) > 0)) {
      const level = noisy.config.level as number;
      expect((noisy.curves.corrupted as number[]).reduce((a, b) => a + b, 0)).toBe(Math.round(level * 400));
      const [clean, corruptedFit] = [(noisy.curves.trainAccuracyClean as number[])[0]!, (noisy.curves.trainAccuracyCorrupted as number[])[0]!];
      expect(corruptedFit, `level ${level}`).toBeLessThan(0.3); // about chance (1/5)
      expect(clean - corruptedFit, `level ${level}`).toBeGreaterThan(0.3);
    }
  });
});
