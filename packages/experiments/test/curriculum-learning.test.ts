import { describe, expect, it } from 'vitest';
import { Rng } from '@axiom/runner';
import { epochOrder, levelOrderAgreement, type Ordering } from '../src/curriculum-learning.js';
import { runSmoke } from './helpers.js';

describe('level order agreement', () => {
  it('is the fraction of (easier, harder) level pairs learned in that order, ties one half, levels never learned left out', () => {
    expect(levelOrderAgreement([1, 2, 3])).toBe(1);
    expect(levelOrderAgreement([3, 2, 1])).toBe(0);
    expect(levelOrderAgreement([2, 2])).toBe(0.5);
    expect(levelOrderAgreement([1, 3, 2])).toBeCloseTo(2 / 3, 12);
    expect(levelOrderAgreement([1, null, 2])).toBe(1);
    expect(levelOrderAgreement([null, 2])).toBeNull();
  });
});

describe('curriculum orderings', () => {
  // 200 examples over 5 levels; paced starts from the easiest 20% and has them all after half of 10 epochs.
  const size = 200;
  const level = Uint8Array.from({ length: size }, (_, i) => (i * 7) % 5);
  const pacing = { pacingStart: 0.2, pacingFullAt: 0.5, epochs: 10 };
  const visits = (ordering: Ordering, seed = 1) => {
    const order = epochOrder(ordering, new Rng(seed), level, pacing);
    return Array.from({ length: pacing.epochs }, (_, e) => Array.from(order(e + 1)));
  };
  const levelsOf = (rows: number[]) => rows.map((row) => level[row]!);
  const isPermutation = (rows: number[]) => rows.length === size && new Set(rows).size === size && rows.every((row) => row >= 0 && row < size);
  const nonDecreasing = (values: number[]) => values.every((value, i) => i === 0 || value >= values[i - 1]!);
  const nonIncreasing = (values: number[]) => values.every((value, i) => i === 0 || value <= values[i - 1]!);

  it('random: every example once per epoch, levels mixed, a new order each epoch', () => {
    const epochs = visits('random');
    for (const rows of epochs) {
      expect(isPermutation(rows)).toBe(true);
      expect(nonDecreasing(levelsOf(rows)) || nonIncreasing(levelsOf(rows))).toBe(false);
    }
    expect(epochs[1]).not.toEqual(epochs[0]);
  });

  it('easy-first and hard-first: every example once per epoch, sorted by level, shuffled within a level', () => {
    for (const [ordering, sorted] of [
      ['easy-first', nonDecreasing],
      ['hard-first', nonIncreasing],
    ] as const) {
      const epochs = visits(ordering);
      for (const rows of epochs) {
        expect(isPermutation(rows)).toBe(true);
        expect(sorted(levelsOf(rows)), ordering).toBe(true);
      }
      expect(epochs[1], ordering).not.toEqual(epochs[0]); // ties stay shuffled
      expect(levelsOf(epochs[0]!).slice(0, 40), ordering).toEqual(Array<number>(40).fill(ordering === 'easy-first' ? 0 : 4));
    }
  });

  it('paced: as many visits as examples each epoch, drawn from the easiest part of the data, which grows to all of it', () => {
    const epochs = visits('paced');
    const distinctRows = epochs.map((rows) => new Set(rows).size);
    for (const rows of epochs) expect(rows).toHaveLength(size);
    // Epoch 1: the easiest 20% (level 0, 40 examples), each visited; by epoch 6 (after half the epochs) all of them.
    expect(distinctRows[0]).toBe(40);
    expect(new Set(levelsOf(epochs[0]!))).toEqual(new Set([0]));
    expect(nonDecreasing(distinctRows)).toBe(true);
    expect(distinctRows[5]).toBe(size);
    expect(distinctRows[9]).toBe(size);
    // The pool grows linearly: at epoch 3 it is 20% + 80%·2/5 = 52% of the data, the easiest of them.
    const third = levelsOf(epochs[2]!);
    expect(new Set(epochs[2]).size).toBeLessThanOrEqual(Math.ceil(0.52 * size));
    expect(Math.max(...third)).toBe(2);
  });

  it('differ from each other on the same seed', () => {
    const firstEpochs = (['random', 'easy-first', 'hard-first', 'paced'] as const).map((ordering) => visits(ordering)[0]!.join());
    expect(new Set(firstEpochs).size).toBe(4);
  });
});

describe('curriculum-learning', () => {
  it('reproduces the known result on a small configuration: easy levels first under random order, orderings end close', async () => {
    const result = await runSmoke('curriculum-learning');
    expect(result.units.map((unit) => unit.key)).toEqual(
      ['random', 'easy-first', 'hard-first', 'paced'].map((ordering) => `ordering=${ordering}/width=64/learningRate=0.05`),
    );

    // The implicit curriculum: under random order, each level is learned later than the easier ones,
    // and easy test examples are classified better at the end.
    const byOrdering = result.metrics.byOrdering as Record<
      string,
      { finalTestAccuracy: number; meanLearnedEpochByLevel: number[]; finalTestAccuracyByLevel: number[] }
    >;
    const random = byOrdering.random!;
    expect(result.metrics.easyLearnedFirstUnderRandomOrder).toBe(true);
    expect((random as { levelOrderAgreement: number }).levelOrderAgreement).toBeGreaterThanOrEqual(0.8);
    expect(random.meanLearnedEpochByLevel.at(-1)! - random.meanLearnedEpochByLevel[0]!).toBeGreaterThan(2);
    expect(random.finalTestAccuracyByLevel[0]).toBeGreaterThan(random.finalTestAccuracyByLevel.at(-1)! + 0.3);
    // At (this) full budget the orderings end within a few points of each other.
    expect(result.metrics.finalAccuracySpread).toBeLessThan(0.08);

    // The orderings give different training runs; paced (the easiest examples first, the pool growing)
    // learns the easiest level sooner and the hardest later than random order does.
    expect(new Set(result.units.map((unit) => (unit.curves.testAccuracy as number[]).join())).size).toBe(4);
    const learned = (ordering: string) => byOrdering[ordering]!.meanLearnedEpochByLevel;
    expect(learned('paced')[0]!).toBeLessThan(learned('random')[0]! - 0.3);
    expect(learned('paced').at(-1)!).toBeGreaterThan(learned('random').at(-1)! + 0.5);

    // Per epoch, test accuracy overall and per level is recorded for every ordering.
    for (const unit of result.units) {
      expect(unit.curves.testAccuracy).toHaveLength(12);
      expect((unit.curves.testAccuracyByLevel as number[][]).map((curve) => curve.length)).toEqual([12, 12, 12, 12, 12]);
    }
  });
});
