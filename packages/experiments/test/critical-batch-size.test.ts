import { describe, expect, it } from 'vitest';
import { evaluationSteps, fitStepsTradeoff, stepBudget, stepsToTarget } from '../src/critical-batch-size.js';
import { runSmoke } from './helpers.js';

describe('evaluation schedule', () => {
  it('grows geometrically by at least one step and ends at the budget', () => {
    expect(evaluationSteps(10, 1.5)).toEqual([1, 2, 3, 5, 8, 10]);
    expect(evaluationSteps(1, 1.05)).toEqual([1]);
    const long = evaluationSteps(20000, 1.05);
    expect(long.length).toBeLessThan(200);
    long.slice(1).forEach((step, i) => expect(step).toBeGreaterThan(long[i]!));
  });

  it('budget: the tighter of the step and the example budgets', () => {
    expect(stepBudget({ maxSteps: 1000, maxExamples: 4096 }, 2)).toBe(1000);
    expect(stepBudget({ maxSteps: 1000, maxExamples: 4096 }, 100)).toBe(41);
  });
});

describe('steps to target', () => {
  it('interpolates linearly between the evaluations around the first crossing', () => {
    expect(
      stepsToTarget(
        [
          [0, 2],
          [10, 1],
          [20, 0.5],
          [30, 0.1],
        ],
        0.75,
      ),
    ).toBeCloseTo(15, 12);
    expect(
      stepsToTarget(
        [
          [0, 0.5],
          [10, 0.1],
        ],
        1,
      ),
    ).toBe(0);
  });
  it('is null when the target is never reached (a diverged loss is infinite)', () => {
    expect(
      stepsToTarget(
        [
          [0, 2],
          [10, Infinity],
        ],
        1,
      ),
    ).toBeNull();
  });
});

describe('steps–batch trade-off fit', () => {
  it('recovers S_min and B_crit of S(B) = S_min(1 + B_crit/B), with E_min = S_min·B_crit', () => {
    const points = [4, 8, 16, 32, 64, 128, 256, 512].map((batch) => [batch, 50 * (1 + 100 / batch)] as const);
    const fit = fitStepsTradeoff(points)!;
    expect(fit.minSteps / 50).toBeCloseTo(1, 2);
    expect(fit.criticalBatchSize / 100).toBeCloseTo(1, 2);
    expect(fit.minExamples).toBeCloseTo(fit.minSteps * fit.criticalBatchSize, 6);
    expect(fit.rmsLogError).toBeLessThan(0.01);
  });
  it('needs two points', () => {
    expect(fitStepsTradeoff([[4, 100]])).toBeNull();
  });
});

describe('critical-batch-size', () => {
  it('reproduces the known result on its smoke preset: steps ∝ 1/B at small batches, flat beyond B_crit, predicted by the noise scale', async () => {
    const result = await runSmoke('critical-batch-size');
    type Row = { stepsToTarget: number; bestLearningRate: number; perfectScalingSteps: number };
    const m = result.metrics as {
      byBatchSize: Record<string, Row>;
      criticalBatchSize: number;
      minSteps: number;
      fullBatchSteps: number;
      noiseScaleAtTargetOverCritical: number;
      perfectScalingBreaksDown: boolean;
      criticalBatchInsideSweep: boolean;
    };
    const steps = (batch: number) => m.byBatchSize[String(batch)]!.stepsToTarget;
    // Batches of 4 → 16 (4× more examples per step): nearly 4× fewer steps; 64 → 256: far less gain.
    expect(steps(4) / steps(16)).toBeGreaterThan(2.5);
    expect(steps(64) / steps(256)).toBeLessThan(2);
    expect(m.perfectScalingBreaksDown).toBe(true);
    expect(m.criticalBatchInsideSweep).toBe(true);
    // The noise-free full-batch run needs about S_min steps.
    expect(m.fullBatchSteps / m.minSteps).toBeGreaterThan(0.6);
    expect(m.fullBatchSteps / m.minSteps).toBeLessThan(1.6);
    // Tuned learning rates grow with the batch size.
    expect(m.byBatchSize['4']!.bestLearningRate).toBeLessThan(m.byBatchSize['256']!.bestLearningRate);
    // The gradient noise scale where the target is reached predicts B_crit within a small factor.
    expect(m.noiseScaleAtTargetOverCritical).toBeGreaterThan(1 / 5);
    expect(m.noiseScaleAtTargetOverCritical).toBeLessThan(5);

    // Every learning rate of a batch size stops once the fastest reaches the target.
    const atBatch4 = result.units.filter((u) => u.config.batchSize === 4);
    expect(atBatch4.filter((u) => u.metrics.reachedFirst === true)).toHaveLength(1);
    expect(new Set(atBatch4.map((u) => u.metrics.stepsTrained)).size).toBe(1);
  });
});
