import { describe, expect, it } from 'vitest';
import { FLOPS_CEILING, fitWorkRates, modelledSeconds } from '../src/bench/work-rates.js';

describe("the cost model's rates, fitted to a smoke run and a default sweep", () => {
  it('recovers the two rates exactly from two runs that follow them', () => {
    const rates = { flopsPerSecond: 5e9, secondsPerStep: 0.002 };
    const points = [
      { flops: 1e9, steps: 300 },
      { flops: 8e10, steps: 6000 },
    ].map((point) => ({ ...point, seconds: modelledSeconds(point, rates) }));
    const fitted = fitWorkRates(points);
    expect(fitted.flopsPerSecond).toBeCloseTo(5e9, -3);
    expect(fitted.secondsPerStep).toBeCloseTo(0.002, 9);
  });

  it('holds the FLOP rate at the ceiling when the runs would make FLOPs free, and fits the steps to the rest', () => {
    // The smoke run costs more per step than the sweep does in all: no positive FLOP rate passes through both.
    const points = [
      { flops: 1e9, steps: 100, seconds: 1 },
      { flops: 1e11, steps: 10000, seconds: 30 },
    ];
    const fitted = fitWorkRates(points);
    expect(fitted.flopsPerSecond).toBe(FLOPS_CEILING);
    expect(fitted.secondsPerStep).toBeGreaterThan(0.003);
    expect(fitted.secondsPerStep).toBeLessThan(0.01);
    // Least squares on relative error: neither run is missed by more than the other would force.
    const errors = points.map((point) => modelledSeconds(point, fitted) / point.seconds);
    expect(Math.min(...errors)).toBeLessThan(1);
    expect(Math.max(...errors)).toBeGreaterThan(1);
  });

  it('puts the time on the FLOPs alone when the steps would take a negative share', () => {
    const points = [
      { flops: 1e9, steps: 1000, seconds: 0.1 },
      { flops: 1e11, steps: 2000, seconds: 20 },
    ];
    const fitted = fitWorkRates(points);
    expect(fitted.secondsPerStep).toBe(0);
    // Between the two runs' own rates, 1e10 and 5e9 FLOP/s.
    expect(fitted.flopsPerSecond).toBeGreaterThan(5e9);
    expect(fitted.flopsPerSecond).toBeLessThan(1e10);
  });
});
