import { describe, expect, it } from 'vitest';
import { summarizeMetrics } from '../src/analyze.js';
import { chartsFor, renderSvg } from '../src/charts.js';
import { groupByConfiguration } from '../src/result-set.js';
import { scratch } from './helpers.js';
import { runSmokeToFile } from './results-fixture.js';

describe('learning curves', () => {
  it('draws a sweep of thousands of units as one thin line each, unnamed, where a legend would name them all', async () => {
    const { file, result } = await runSmokeToFile(await scratch(), 'optimizer-comparison', 1);
    // The default sweep's size (2784 units), from the smoke run's units (96: one curve each) under new keys: naming them all in a
    // colour scale overflowed Vega's expression compiler.
    const copies = Math.ceil(2784 / result.units.length);
    const units = Array.from({ length: copies }, (_, copy) => result.units.map((unit) => ({ ...unit, key: `${unit.key}/copy=${copy}` }))).flat();
    const [group] = groupByConfiguration([{ file, result: { ...result, units } }]);
    const curves = chartsFor(group!, summarizeMetrics(group!)).find((chart) => chart.kind === 'learning-curves')!;
    expect(curves.caption).toContain(`${units.length} units, too many to name`);
    const svg = await renderSvg(curves.spec);
    expect(svg).toContain('<svg');
    // One path per unit, and no legend of unit names.
    expect(svg.match(/<path[^>]*aria-roledescription="line mark"/g)?.length).toBe(units.length);
    expect(svg).not.toContain(units[0]!.key);
  });

  it('names each unit and bands it across seeds when a legend can', async () => {
    const dir = await scratch();
    const records = await Promise.all([1, 2].map((seed) => runSmokeToFile(dir, 'memorization-dynamics', seed)));
    const [group] = groupByConfiguration(records);
    const curves = chartsFor(group!, summarizeMetrics(group!)).find((chart) => chart.kind === 'learning-curves')!;
    expect(curves.caption).toContain('the band is ± one standard deviation');
    const svg = await renderSvg(curves.spec);
    expect(svg).toContain('area mark');
    expect(svg).toContain(records[0]!.result.units[0]!.key);
  });
});
