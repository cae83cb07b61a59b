import { describe, expect, it } from 'vitest';
import { Rng } from '@axiom/runner';
import type { PowerLawFit } from '@axiom/experiments';
import { prefixVisits } from '../src/micro-scaling-laws.js';
import { runSmoke } from './helpers.js';

describe('a unit of the data sweep', () => {
  it('visits only its own prefix of the nested training set, every row once per pass, reshuffled each pass', () => {
    const visits = prefixVisits(new Rng(1), 100, 30);
    const rounds = Array.from({ length: 10 }, () => Array.from(visits()));
    const stream = rounds.flat();
    for (const round of rounds) expect(round).toHaveLength(30);
    const passes = [0, 1, 2].map((pass) => stream.slice(pass * 100, (pass + 1) * 100));
    for (const pass of passes) expect([...pass].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(passes[1]).not.toEqual(passes[0]);
  });
});

describe('micro-scaling-laws', () => {
  it('reproduces the known result on a small configuration: test loss falls as a power law of the data', async () => {
    const result = await runSmoke('micro-scaling-laws');

    const metrics = result.metrics as {
      dataScaling: { fit: PowerLawFit };
      parameterScaling: { fit: PowerLawFit };
      dataScalingR2: number;
      dataExponent: number;
    };
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
    // Training and validation targets carry label noise of variance 0.25; test targets are clean, so
    // at each unit's best point the validation loss exceeds the test loss by about that variance.
    const gaps = result.units.map((unit) => (unit.metrics.validationLoss as number) - (unit.metrics.testLoss as number));
    for (const gap of gaps) expect(gap, String(gaps)).toBeGreaterThan(0.08);
    for (const gap of gaps) expect(gap, String(gaps)).toBeLessThan(0.4);
    const parameterCounts = result.units.filter((unit) => unit.config.sweep === 'width').map((unit) => unit.metrics.parameterCount);
    expect(new Set(parameterCounts).size).toBe(3);
  });
});
