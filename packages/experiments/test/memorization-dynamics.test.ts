import { describe, expect, it } from 'vitest';
import { runSmoke } from './helpers.js';

describe('memorization-dynamics', () => {
  it('reproduces the known result on a small configuration: clean examples first, accuracy falls with noise', async () => {
    const result = await runSmoke('memorization-dynamics', { corruptionLevels: [0, 0.2, 0.5], epochs: 15 });

    const byLevel = result.metrics.byLevel as Record<string, { testAccuracy: number; cleanFirstRate: number | null }>;
    expect(byLevel['0']!.testAccuracy).toBeGreaterThan(0.7);
    expect(byLevel['0']!.cleanFirstRate).toBeNull();
    for (const level of ['0.2', '0.5']) expect(byLevel[level]!.cleanFirstRate).toBeGreaterThan(0.7);
    expect(byLevel['0']!.testAccuracy).toBeGreaterThan(byLevel['0.5']!.testAccuracy);
    expect(result.metrics).toMatchObject({ cleanFirstAtEveryLevel: true });

    // Every training example has its first-fit epoch recorded, and the corruption mask matches the level.
    const unit = result.units.find((u) => u.config.level === 0.5)!;
    const firstFit = unit.curves.firstFitEpoch as number[];
    const corrupted = unit.curves.corrupted as number[];
    expect(firstFit).toHaveLength(400);
    expect(corrupted.reduce((a, b) => a + b, 0)).toBe(200);
    expect(unit.curves.testAccuracy).toHaveLength(15);
  });

});
