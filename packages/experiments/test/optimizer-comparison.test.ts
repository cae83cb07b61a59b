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

  it('an optimizer dominates only when on every task it is best and ahead of another beyond the paired interval', () => {
    // Scores per replicate: `a` is best on both tasks, by a margin that varies (tied) or is steady (ahead).
    const task = (a: number[], b: number[]) => compareOnTask({ a: point(1, [0, 0, 0], a), b: point(1, [0, 0, 0], b) });
    const tiedEverywhere = compareAcrossTasks([task([0.1, 0.3, 0.2], [0.3, 0.1, 0.25]), task([0.1, 0.3, 0.2], [0.3, 0.1, 0.25])]);
    // First on every task by mean, yet within the interval of the other: the rank alone would call it dominant.
    expect(tiedEverywhere).toMatchObject({ bestWorstRank: 1, dominant: null, mostTasksLed: 0, tasksTiedWithBest: { a: 2, b: 2 } });
    const aheadOnOne = compareAcrossTasks([task([0.1, 0.2, 0.3], [0.2, 0.3, 0.4]), task([0.1, 0.3, 0.2], [0.3, 0.1, 0.25])]);
    expect(aheadOnOne).toMatchObject({ bestWorstRank: 1, dominant: null, mostTasksLed: 1, tasksTiedWithBest: { a: 2, b: 1 } });
    const dominated = compareAcrossTasks([task([0.1, 0.2, 0.3], [0.2, 0.3, 0.4]), task([0.1, 0.2, 0.3], [0.3, 0.35, 0.5])]);
    expect(dominated).toMatchObject({ bestWorstRank: 1, dominant: 'a', mostTasksLed: 2, tasksTiedWithBest: { a: 2, b: 0 } });
    expect(dominated.regret.a).toBe(0);

    const steady = (a: number, b: number) => task([a, a, a], [b, b, b]);
    const split = compareAcrossTasks([steady(0.1, 0.2), steady(0.4, 0.2)]);
    expect(split).toMatchObject({ bestWorstRank: 2, dominant: null, mostTasksLed: 1 });
    expect(split.regret.a).toBeCloseTo((0 + 1) / 2, 12);
    expect(split.regret.b).toBeCloseTo((1 + 0) / 2, 12);
    expect(split.maxRegret).toBeCloseTo(0.5, 12);
  });

  it('momentum keeps up with the adaptive methods on a task when it is behind at most one of them', () => {
    const scores = { ahead: [0.1, 0.2, 0.3], behind: [0.2, 0.3, 0.4], noisy: [0.3, 0.1, 0.25] };
    const task = (momentum: number[], rmsprop: number[], adam: number[]) =>
      compareOnTask({ momentum: point(1, [0, 0, 0], momentum), rmsprop: point(1, [0, 0, 0], rmsprop), adam: point(1, [0, 0, 0], adam) });
    // Behind Adam beyond the interval, tied with RMSProp: keeps up, though not tied with the best.
    const behindAdamOnly = task(scores.behind, scores.noisy, scores.ahead);
    expect(behindAdamOnly.byOptimizer.momentum!).toMatchObject({ behind: ['adam'], tiedWithBest: false });
    const behindBoth = task(scores.behind, scores.ahead, scores.ahead);
    expect(behindBoth.byOptimizer.momentum!.behind).toEqual(['rmsprop', 'adam']);
    expect(compareAcrossTasks([behindAdamOnly, behindAdamOnly])).toMatchObject({
      tasksKeepingUpWithAdaptive: { momentum: 2 },
      tasksTiedWithBest: { momentum: 0 },
    });
    expect(compareAcrossTasks([behindAdamOnly, behindBoth]).tasksKeepingUpWithAdaptive.momentum).toBe(1);
  });
});

type Comparison = { dominant: string | null; bestWorstRank: number; mostTasksLed: number; maxRegret: number; regret: Record<string, number> };

describe('optimizer-comparison', () => {
  it('tuning each learning rate closes the gaps that default rates open, and momentum really accelerates SGD', async () => {
    const result = await runSmoke('optimizer-comparison');
    const m = result.metrics as {
      byTask: Record<string, Record<'tuned' | 'untuned', { byOptimizer: Record<string, { test: number; learningRate: number }> }>>;
      tuned: Comparison;
      untuned: Comparison;
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

    // Tuned RMSProp has the best mean on every task of the smoke run (best worst rank 1), but within the intervals of
    // the others on all but one: by the intervals, no optimizer dominates, and momentum SGD keeps up with RMSProp or Adam everywhere.
    expect(m.tuned).toMatchObject({ bestWorstRank: 1, dominant: null, mostTasksLed: 1 });
    expect(result.metrics).toMatchObject({ noOptimizerDominates: true, momentumCompetitive: true });
  });

  it('finds the optimizer that dominates when the others’ learning rates are absurd: every rate but Adam’s diverges', async () => {
    // The default sweep's 4 replicates: with the smoke run's 2 (t = 12.7) hardly any lead is beyond its interval.
    const absurd = 1e4;
    const result = await runSmoke('optimizer-comparison', {
      replicates: 4,
      defaultLearningRates: { sgd: absurd, momentum: absurd, rmsprop: absurd, adam: 0.001 },
    });
    expect(result.metrics).toMatchObject({ tuned: { dominant: 'adam', mostTasksLed: 3 }, noOptimizerDominates: false, momentumTiedWithBest: false });
  });
});
