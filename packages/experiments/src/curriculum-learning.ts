/**
 * Curriculum learning (Bengio et al. 2009, "Curriculum learning"; Wu, Dyer & Neyshabur 2021, "When do
 * curricula work?"). Examples come in five difficulty levels (class margins that shrink); the same
 * network is trained on the same data in four orders: random; easy-first and hard-first (every example
 * each epoch, sorted by level); and paced, easy-first with a pacing function that grows the training
 * pool from the easiest examples to all of them. Known result: under random order easy
 * levels are learned before hard ones (the implicit curriculum); at full budget the orderings end
 * within a few points of each other; differences, if any, show under a short budget.
 */
import { defineExperiment, type Rng } from '@axiom/runner';
import { max, min } from 'simple-statistics';
import { z } from 'zod';
import { clusterTask, sampleLeveledClusters } from './lib/data.js';
import { createStackedMlp, predictStackedClasses, trainStacked } from './lib/stacked.js';
import {
  epochSteps,
  gridUnits,
  meanOfArrays,
  meanOfNumbers,
  metricsWhere,
  repeat,
  stackByWidth,
  stackedBenchWorkload,
  stackedSweep,
  stackingParam,
} from './lib/sweep.js';
import { FEW_PREDICTIONS_FLIP } from './lib/tolerances.js';
import { fitRecord, meanEpoch, recordFits } from './lib/tracking.js';
import { accuracy, permutationStream, uploadDataset } from './lib/train.js';

export const orderings = ['random', 'easy-first', 'hard-first', 'paced'] as const;
export type Ordering = (typeof orderings)[number];

// Parameters: the defaults are the real sweep.
const params = z.strictObject({
  orderings: z
    .array(z.enum(orderings))
    .min(1)
    .default([...orderings])
    .describe('paced: easy-first with a linear pacing function (Wu et al. 2021)'),
  widths: z.array(z.number().int().min(1)).min(1).default([32, 64, 128]),
  learningRates: z.array(z.number().positive()).min(1).default([0.005, 0.01, 0.05]),
  centreScales: z
    .array(z.number().positive())
    .min(2)
    .default([1, 0.8, 0.6, 0.45, 0.3])
    .describe('per difficulty level, easiest first: how far cluster centres sit from the origin (smaller: less margin)'),
  trainSize: z.number().int().min(10).default(2000),
  testSize: z.number().int().min(10).default(2000),
  inputDim: z.number().int().min(2).default(20),
  classes: z.number().int().min(2).default(10),
  clustersPerClass: z.number().int().min(1).default(2),
  separation: z.number().positive().default(1.5).describe('spread of cluster centres at level 1, relative to unit point noise'),
  depth: z.number().int().min(1).default(2).describe('hidden layers, each `width` wide'),
  epochs: z.number().int().min(1).default(40),
  batchSize: z.number().int().min(1).default(32),
  optimizer: z.enum(['sgd', 'adam']).default('sgd'),
  pacingStart: z.number().gt(0).max(1).default(0.2).describe('paced: fraction of the (easiest) training set in the pool at epoch 1'),
  pacingFullAt: z.number().gt(0).max(1).default(0.5).describe('paced: fraction of the epochs after which the pool is the whole training set'),
  shortBudget: z.number().int().min(1).default(5).describe('epoch at which accuracy is compared under a short training budget'),
  accuracyThreshold: z.number().gt(0).max(1).default(0.7).describe('test accuracy whose first crossing is recorded as epochs-to-threshold'),
  stacking: stackingParam,
});
type Params = z.infer<typeof params>;

/** All rows, easiest level first (or hardest first), in random order within each level. */
function sortedByLevel(rng: Rng, level: Uint8Array, easyFirst: boolean): Int32Array {
  const rows = Array.from(rng.permutation(level.length)); // Array.sort is stable, so ties stay shuffled
  return Int32Array.from(rows.sort((a, b) => (easyFirst ? level[a]! - level[b]! : level[b]! - level[a]!)));
}

/**
 * The rows visited in each epoch. Every ordering visits `level.length` rows per epoch, so all train
 * for the same number of steps; `paced` draws them from the easiest g(epoch) of the training set,
 * g growing linearly from `pacingStart` to 1 over the first `pacingFullAt` of the epochs.
 */
export function epochOrder(
  ordering: Ordering,
  rng: Rng,
  level: Uint8Array,
  p: Pick<Params, 'pacingStart' | 'pacingFullAt' | 'epochs'>,
): (epoch: number) => Int32Array {
  const size = level.length;
  switch (ordering) {
    case 'random':
      return () => rng.permutation(size);
    case 'easy-first':
      return () => sortedByLevel(rng, level, true);
    case 'hard-first':
      return () => sortedByLevel(rng, level, false);
    case 'paced':
      return (epoch) => {
        const poolFraction = Math.min(1, p.pacingStart + ((1 - p.pacingStart) * (epoch - 1)) / (p.pacingFullAt * p.epochs));
        const pool = sortedByLevel(rng, level, true).subarray(0, Math.ceil(poolFraction * size));
        return permutationStream(rng, pool, size)();
      };
  }
}

/** Fraction of pairs of levels (easier, harder) whose easier level is learned first: 1 is a perfect implicit curriculum, 0.5 none. */
export function levelOrderAgreement(learnedEpochByLevel: ReadonlyArray<number | null>): number | null {
  const epochs = learnedEpochByLevel.filter((epoch): epoch is number => epoch !== null);
  let agreeing = 0;
  let pairs = 0;
  epochs.forEach((easier, i) =>
    epochs.slice(i + 1).forEach((harder) => {
      pairs++;
      agreeing += easier < harder ? 1 : easier === harder ? 0.5 : 0;
    }),
  );
  return pairs ? agreeing / pairs : null;
}

export default defineExperiment({
  name: 'curriculum-learning',
  version: '1.1.0',
  description: 'Difficulty levels and example order: are easy examples learned first, and does a curriculum help?',
  params,
  presets: {
    smoke: { widths: [64], learningRates: [0.05], trainSize: 600, testSize: 600, epochs: 12, shortBudget: 2 },
  },
  // Cross-backend tolerances, measured: WASM (1 thread) vs the plain JS backend, smoke preset, seeds 1–3:
  // every value below was identical. Set for the real sweep's longer training, where a few predictions may flip.
  headline: [
    { metric: 'byOrdering.*.finalTestAccuracy', tolerance: FEW_PREDICTIONS_FLIP },
    { metric: 'byOrdering.*.shortBudgetTestAccuracy', tolerance: FEW_PREDICTIONS_FLIP },
  ],
  findings: {
    // The control for every curriculum: random order at the same budget, in the same run.
    controls: [
      {
        claim: 'easy-first order, short budget',
        measure: 'byOrdering.easy-first.shortBudgetTestAccuracy',
        control: 'byOrdering.random.shortBudgetTestAccuracy',
        controlLabel: 'random order at the same budget',
      },
      {
        claim: 'paced curriculum, short budget',
        measure: 'byOrdering.paced.shortBudgetTestAccuracy',
        control: 'byOrdering.random.shortBudgetTestAccuracy',
        controlLabel: 'random order at the same budget',
      },
      {
        claim: 'easy-first order, full budget',
        measure: 'byOrdering.easy-first.finalTestAccuracy',
        control: 'byOrdering.random.finalTestAccuracy',
        controlLabel: 'random order at the same budget',
      },
    ],
    verdicts: { easyLearnedFirstUnderRandomOrder: 'under random order, easier levels are learned first (the implicit curriculum)' },
    keyed: {
      table: 'byOrdering',
      keyLabel: 'ordering',
      fields: { finalTestAccuracy: 'final test accuracy', shortBudgetTestAccuracy: 'short-budget test accuracy' },
      axis: 'nominal',
      title: 'Test accuracy by example order: curricula vs random',
    },
  },
  bench: stackedBenchWorkload,
  // Rates on one WASM thread, fitted to the smoke preset and the default sweep: `npm run bench -- --work-rates`.
  work: {
    networks: (p) =>
      p.widths.flatMap((width) =>
        repeat(p.orderings.length * p.learningRates.length, {
          layers: [p.inputDim, ...repeat(p.depth, width), p.classes],
          trainPasses: p.trainSize * p.epochs,
          evalPasses: p.testSize * p.epochs,
          steps: epochSteps(p.trainSize, p.batchSize, p.epochs),
          stack: stackByWidth({ width }),
        }),
      ),
    flopsPerSecond: 2.8e10,
    secondsPerStep: 3.0e-3,
  },
  async run(ctx) {
    const p: Params = ctx.params;
    const { tf } = ctx;
    const levels = p.centreScales.length;
    const units = gridUnits({ ordering: p.orderings, width: p.widths, learningRate: p.learningRates });

    // Every ordering and learning rate at one width trains in one stack.
    const { results, stackedGroups } = await stackedSweep(ctx, units, stackByWidth, async (group, session) => {
      const { width } = group[0]!.config;
      // Data: one task and data set for every unit, so orderings differ only in the order of visits.
      const dataRng = ctx.rng('data');
      const task = clusterTask(dataRng, p);
      const trainSource = sampleLeveledClusters(dataRng, task, p.trainSize, p.centreScales);
      const testSource = sampleLeveledClusters(dataRng, task, p.testSize, p.centreScales);
      const train = uploadDataset(tf, trainSource.data);
      const test = uploadDataset(tf, testSource.data);

      // Model: the same initialisation for every ordering and learning rate at this width.
      const shape = { inputDim: p.inputDim, hidden: Array<number>(p.depth).fill(width), outputDim: p.classes };
      const model = createStackedMlp(
        tf,
        group.map(() => ctx.rng('init', width)),
        shape,
      );

      // Training, evaluating every level after each epoch and tracking when each training example is learned
      // (records survive a restart).
      const members = session.record('members', () =>
        group.map(() => ({
          fits: fitRecord(trainSource.data.size),
          testAccuracy: [] as number[],
          testAccuracyByLevel: Array.from({ length: levels }, () => [] as number[]),
        })),
      );
      try {
        await trainStacked({
          tf,
          model,
          train,
          members: group.map((unit) => ({
            learningRate: unit.config.learningRate,
            shuffle: epochOrder(unit.config.ordering, unit.rng('order'), trainSource.level, p),
          })),
          epochs: p.epochs,
          batchSize: p.batchSize,
          optimizer: p.optimizer,
          session,
          onEpoch: async (epoch) => {
            const trainPredictions = await predictStackedClasses(tf, model, train.x);
            const testPredictions = await predictStackedClasses(tf, model, test.x);
            members.forEach(({ fits, testAccuracy, testAccuracyByLevel }, m) => {
              recordFits(fits, trainSource.data.y, epoch, trainPredictions[m]!);
              const predicted = testPredictions[m]!;
              testAccuracy.push(accuracy(predicted, test.source.y));
              testAccuracyByLevel.forEach((curve, level) => curve.push(accuracy(predicted, test.source.y, (i) => testSource.level[i] === level)));
            });
          },
        });
      } finally {
        [model, train, test].forEach((disposable) => disposable.dispose());
      }

      // Metrics, per unit.
      return members.map(({ fits, testAccuracy, testAccuracyByLevel }) => {
        const crossing = testAccuracy.findIndex((value) => value >= p.accuracyThreshold);
        return {
          metrics: {
            finalTestAccuracy: testAccuracy.at(-1)!,
            finalTestAccuracyByLevel: testAccuracyByLevel.map((curve) => curve.at(-1)!),
            shortBudgetTestAccuracy: testAccuracy[Math.min(p.shortBudget, p.epochs) - 1]!,
            epochsToThreshold: crossing === -1 ? null : crossing + 1,
            meanLearnedEpochByLevel: Array.from({ length: levels }, (_, level) =>
              meanEpoch(fits.learnedSince, (i) => trainSource.level[i] === level, p.epochs + 1),
            ),
          },
          curves: { testAccuracy, testAccuracyByLevel },
        };
      });
    });

    // Headline: per ordering, averaged over widths and learning rates.
    const byOrdering = Object.fromEntries(
      p.orderings.map((ordering) => {
        const metrics = metricsWhere(results, 'ordering', ordering);
        const reached = metrics.map((m) => m.epochsToThreshold).filter((epochs) => epochs !== null);
        const meanLearnedEpochByLevel = meanOfArrays(
          metrics.map((m) => m.meanLearnedEpochByLevel),
          levels,
        );
        return [
          ordering,
          {
            finalTestAccuracy: meanOfNumbers(metrics.map((m) => m.finalTestAccuracy))!,
            finalTestAccuracyByLevel: meanOfArrays(
              metrics.map((m) => m.finalTestAccuracyByLevel),
              levels,
            ),
            shortBudgetTestAccuracy: meanOfNumbers(metrics.map((m) => m.shortBudgetTestAccuracy))!,
            epochsToThreshold: meanOfNumbers(reached),
            unitsReachingThreshold: reached.length,
            meanLearnedEpochByLevel,
            levelOrderAgreement: levelOrderAgreement(meanLearnedEpochByLevel),
          },
        ];
      }),
    );
    const spread = (field: 'finalTestAccuracy' | 'shortBudgetTestAccuracy') => {
      const values = Object.values(byOrdering).map((summary) => summary[field]);
      return max(values) - min(values);
    };
    return {
      byOrdering,
      stackedGroups,
      finalAccuracySpread: spread('finalTestAccuracy'),
      shortBudgetAccuracySpread: spread('shortBudgetTestAccuracy'),
      // The implicit curriculum: under random order, easier levels are learned before harder ones.
      easyLearnedFirstUnderRandomOrder: byOrdering.random ? (byOrdering.random.levelOrderAgreement ?? 0) >= 0.8 : null,
    };
  },
});
