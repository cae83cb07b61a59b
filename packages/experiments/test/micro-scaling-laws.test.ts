import { describe, expect, it } from 'vitest';
import type { PowerLawFit } from '@axiom/experiments';
import { runSmoke } from './helpers.js';

describe('micro-scaling-laws', () => {
  it('reproduces the known result on a small configuration: test loss falls as a power law of the data', async () => {
    const result = await runSmoke('micro-scaling-laws');

    const metrics = result.metrics as { dataScaling: { fit: PowerLawFit }; parameterScaling: { fit: PowerLawFit }; dataScalingR2: number; dataExponent: number };
    expect(metrics.dataScalingR2).toBeGreaterThan(0.9);
    expect(metrics.dataExponent).toBeLessThan(-0.2);
    expect(result.metrics.dataScalingFitsPowerLaw).toBe(true);
    // Every point the fits used is recorded: one per data size, one per width.
    expect(metrics.dataScaling.fit.points.map(([x]) => x)).toEqual([64, 128, 256, 512, 1024]);
    expect(metrics.parameterScaling.fit.points).toHaveLength(3);
    const losses = metrics.dataScaling.fit.points.map(([, loss]) => loss);
    expect(losses.at(-1)).toBeLessThan(losses[0]! / 2);
    // The narrow widths trained in one zero-padded stack, each counted at its own width.
    expect(result.metrics.stackedGroups).toContainEqual(['width/w=2', 'width/w=8']);
    const parameterCounts = result.units.filter((unit) => unit.config.sweep === 'width').map((unit) => unit.metrics.parameterCount);
    expect(new Set(parameterCounts).size).toBe(3);
  });
});
