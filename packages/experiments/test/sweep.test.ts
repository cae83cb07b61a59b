import { describe, expect, it } from 'vitest';
import type { UnitResult } from '@axiom/runner';
import { gridUnits, meanOfArrays, meanOfNumbers, metricsWhere } from '@axiom/experiments';

describe('sweep helpers', () => {
  it('build one unit per combination, first axis outermost, keyed by axis=value', () => {
    const units = gridUnits({ ordering: ['random', 'paced'], width: [32, 64] });
    expect(units.map((unit) => unit.key)).toEqual([
      'ordering=random/width=32',
      'ordering=random/width=64',
      'ordering=paced/width=32',
      'ordering=paced/width=64',
    ]);
    expect(units[1]!.config).toEqual({ ordering: 'random', width: 64 });
    expect(gridUnits({ width: [8], replicate: [] })).toEqual([]);
  });

  it('select units by config value and average their numeric metrics, skipping nulls', () => {
    const unit = (width: number, accuracy: number | null, perLayer: Array<number | null>): UnitResult => ({
      key: `width=${width}`,
      seed: 1,
      config: { width },
      metrics: { accuracy, perLayer },
      curves: {},
    });
    const results = [unit(32, 0.5, [0.1, null]), unit(64, 0.9, [0.3, 0.4]), unit(32, null, [0.5, 0.6])];
    const at32 = metricsWhere(results, 'width', 32);
    expect(at32).toHaveLength(2);
    expect(meanOfNumbers(at32.map((m) => m.accuracy))).toBe(0.5);
    expect(meanOfNumbers([null])).toBeNull();
    expect(
      meanOfArrays(
        at32.map((m) => m.perLayer),
        2,
      ),
    ).toEqual([0.3, 0.6]);
  });
});
