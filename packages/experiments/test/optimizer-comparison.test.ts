import { describe, expect, it } from 'vitest';
import { compareAcrossTasks, compareOnTask, tunedPoint, type GridPoint } from '../src/optimizer-comparison.js';
import { runSmoke } from './helpers.js';

const point = (learningRate: number, validation: Array<number | null>, test: Array<number | null> = validation): GridPoint => ({
  learningRate,
  validation,
  test,
});

describe('tuning and ranking', () => {
  it('tunes on the mean validation score, a diverged replicate making a rate worst', () => {
    const grid = [point(0.1, [0.3, 0.3]), point(0.3, [0.2, 0.25]), point(1, [0.1, null])];
    expect(tunedPoint(grid).learningRate).toBe(0.3);
    expect(tunedPoint([point(1, [null]), point(3, [0.5])]).learningRate).toBe(3);
  });

  it('ranks by mean test score, regrets against the best, and ties by the paired interval of the difference', () => {
    const { best, tiedWithBest, byOptimizer } = compareOnTask({
      a: point(1, [0, 0, 0], [0.2, 0.3, 0.25]),
      // Always 0.05 worse than a, replicate by replicate: a paired difference with no spread is not a tie.
      b: point(1, [0, 0, 0], [0.25, 0.35, 0.3]),
      // Worse on average but not consistently: tied.
      c: point(1, [0, 0, 0], [0.1, 0.5, 0.35]),
      d: point(1, [0, 0, 0], [0.2, null, 0.2]),
    });
    expect(best).toBe('a');
    expect(byOptimizer.a).toMatchObject({ rank: 1, regret: 0, tiedWithBest: true });
    expect(byOptimizer.b!.rank).toBe(2);
    expect(byOptimizer.b!.regret).toBeCloseTo(0.2, 12);
    expect(byOptimizer.b!.tiedWithBest).toBe(false);
    expect(byOptimizer.c).toMatchObject({ rank: 3, tiedWithBest: true });
    expect(byOptimizer.d).toMatchObject({ rank: 4, test: null, regret: null, tiedWithBest: false });
    expect(tiedWithBest).toBe(2);
    expect(byOptimizer.a!.testLow).toBeLessThan(0.25);
    expect(byOptimizer.a!.testHigh).toBeGreaterThan(0.25);
  });

  it('an optimizer dominates (best worst rank 1) only when it is best on every task', () => {
    const task = (a: number, b: number) => compareOnTask({ a: point(1, [0, 0], [a, a]), b: point(1, [0, 0], [b, b]) });
    const split = compareAcrossTasks([task(0.1, 0.2), task(0.4, 0.2)]);
    expect(split.bestWorstRank).toBe(2);
    expect(split.regret.a).toBeCloseTo((0 + 1) / 2, 12);
    expect(split.regret.b).toBeCloseTo((1 + 0) / 2, 12);
    expect(split.maxRegret).toBeCloseTo(0.5, 12);
    const dominated = compareAcrossTasks([task(0.1, 0.2), task(0.1, 0.3)]);
    expect(dominated.bestWorstRank).toBe(1);
    expect(dominated.regret.a).toBe(0);
  });
});

describe('optimizer-comparison', () => {
  it('tuning each learning rate closes the gaps that default rates open, and momentum really accelerates SGD', async () => {
    const result = await runSmoke('optimizer-comparison');
    const m = result.metrics as {
      byTask: Record<string, Record<'tuned' | 'untuned', { byOptimizer: Record<string, { test: number; learningRate: number }> }>>;
      tuned: { maxRegret: number; regret: Record<string, number> };
      untuned: { maxRegret: number; regret: Record<string, number> };
    };
    for (const [task, { tuned, untuned }] of Object.entries(m.byTask)) {
      // At the same default rate (0.01), momentum's velocity takes steps ~10× plain SGD's: better within the budget.
      expect(untuned.byOptimizer.momentum!.test, task).toBeLessThan(untuned.byOptimizer.sgd!.test);
      // Tuning is on validation scores: a tuned optimizer does not score worse on test than its default by more than noise.
      for (const optimizer of Object.keys(tuned.byOptimizer))
        expect(tuned.byOptimizer[optimizer]!.test, `${task} ${optimizer}`).toBeLessThan(1.1 * untuned.byOptimizer[optimizer]!.test);
      // Plain SGD's default rate is far too small: tuning picks a larger one.
      expect(tuned.byOptimizer.sgd!.learningRate, task).toBeGreaterThan(0.01);
    }
    // Once tuned, every optimizer ends close to the best; at default rates plain SGD is far behind.
    expect(m.tuned.maxRegret).toBeLessThan(0.5 * m.untuned.maxRegret);
    expect(m.untuned.regret.sgd).toBeGreaterThan(0.2);
  });
});
