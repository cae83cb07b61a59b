/**
 * Memorization under label noise (Arpit et al. 2017, "A closer look at memorization in deep networks";
 * Zhang et al. 2017). A fraction of training labels is replaced by other classes; we record the first
 * epoch each training example is fit. Known result: clean examples are learned before corrupted ones
 * at every corruption level, and test accuracy falls as corruption rises. The control: on the clean
 * run, the same clean-first rate for a random subset chosen as corruption would choose it but left
 * uncorrupted (a placebo), which must sit near one half.
 */
import { defineExperiment, type JsonObject } from '@axiom/runner';
import { mean } from 'simple-statistics';
import { z } from 'zod';
import { corruptLabels, replicateClusterData } from './lib/data.js';
import { createStackedMlp, predictStackedClasses, trainStacked, uploadStackedDataset } from './lib/stacked.js';
import { epochSteps, meanOfNumbers, metricsWhere, repeat, stackedBenchWorkload, stackedSweep, stackingParam } from './lib/sweep.js';
import { FEW_PREDICTIONS_FLIP, SAME_VERDICT } from './lib/tolerances.js';
import { fitRecord, medianEpoch, recordFits } from './lib/tracking.js';
import { accuracy } from './lib/train.js';

// Parameters: the defaults are the real sweep.
const params = z.strictObject({
  corruptionLevels: z.array(z.number().min(0).max(0.9)).min(1).default([0, 0.2, 0.4, 0.6]).describe('fractions of training labels replaced by another class'),
  replicates: z.number().int().min(1).default(1).describe('independent data sets and initialisations per level'),
  trainSize: z.number().int().min(10).default(2000),
  testSize: z.number().int().min(10).default(2000),
  inputDim: z.number().int().min(2).default(20),
  classes: z.number().int().min(2).default(10),
  clustersPerClass: z.number().int().min(1).default(2),
  separation: z.number().positive().default(0.8).describe('spread of cluster centres relative to unit point noise'),
  hidden: z.array(z.number().int().min(1)).min(1).default([256, 256]),
  epochs: z.number().int().min(1).default(80),
  batchSize: z.number().int().min(1).default(64),
  learningRate: z.number().positive().default(0.002),
  stacking: stackingParam,
});
type Params = z.infer<typeof params>;

/** Every network has one shape, so all train in one stack. */
const stackOf = (p: Pick<Params, 'hidden'>) => `hidden=${p.hidden.join('x')}`;

/** Before the first epoch: no predictions yet. */
const noPredictions: Int32Array = new Int32Array(0);

/**
 * Of all (clean, corrupted) pairs of training examples, the fraction whose clean one was fit first:
 * `firstFit` is each example's first-fit epoch (negative: never, counted as epoch `never`); ties count
 * one half. 1: every clean example before every corrupted one; null without both kinds.
 */
export function cleanFirstRate(firstFit: Int32Array, corrupted: Uint8Array, never: number): number | null {
  const clean = new Float64Array(never + 1);
  const noisy = new Float64Array(never + 1);
  firstFit.forEach((epoch, i) => (corrupted[i] ? noisy : clean)[epoch < 0 ? never : epoch]!++);
  const cleanTotal = clean.reduce((a, b) => a + b, 0);
  const noisyTotal = noisy.reduce((a, b) => a + b, 0);
  if (cleanTotal === 0 || noisyTotal === 0) return null;
  let noisyLater = noisyTotal;
  let pairs = 0;
  for (let epoch = 0; epoch <= never; epoch++) {
    noisyLater -= noisy[epoch]!;
    pairs += clean[epoch]! * (noisyLater + noisy[epoch]! / 2);
  }
  return pairs / (cleanTotal * noisyTotal);
}

export default defineExperiment({
  name: 'memorization-dynamics',
  version: '1.2.0',
  description: 'Label noise: are clean examples learned before corrupted ones, and how does test accuracy fall?',
  params,
  presets: {
    smoke: {
      corruptionLevels: [0, 0.4],
      trainSize: 400,
      testSize: 400,
      classes: 5,
      separation: 1.2,
      hidden: [64, 64],
      epochs: 15,
      batchSize: 32,
      learningRate: 0.005,
    },
  },
  // Cross-backend tolerances, measured: WASM (1 thread) vs the plain JS backend, smoke preset, seeds 1–3:
  // every value below was identical. Set for the real sweep's longer training, where a few predictions may flip.
  headline: [
    { metric: 'byLevel.*.testAccuracy', tolerance: FEW_PREDICTIONS_FLIP },
    { metric: 'byLevel.*.cleanFirstRate', tolerance: FEW_PREDICTIONS_FLIP },
    { metric: 'placeboCleanFirstRate', tolerance: FEW_PREDICTIONS_FLIP },
    { metric: 'cleanFirstAtEveryLevel', tolerance: SAME_VERDICT },
    { metric: 'testAccuracyFallsWithCorruption', tolerance: SAME_VERDICT },
  ],
  findings: {
    controls: [
      {
        claim: 'clean examples are fit before corrupted ones (clean-first rate, mean over corrupted levels)',
        measure: 'meanCleanFirstRate',
        control: 'placeboCleanFirstRate',
        controlLabel: 'for a random subset left uncorrupted (the clean run)',
      },
    ],
    verdicts: { cleanFirstAtEveryLevel: 'clean examples are fit first at every corruption level' },
    keyed: {
      table: 'byLevel',
      keyLabel: 'corruption',
      fields: { cleanFirstRate: 'clean-first rate', testAccuracy: 'test accuracy' },
      axis: 'linear',
      title: 'Clean-first rate and test accuracy vs label corruption',
    },
  },
  bench: stackedBenchWorkload,
  // Rates on one WASM thread, fitted to the smoke preset and the default sweep: `npm run bench -- --work-rates`.
  work: {
    networks: (p) =>
      repeat(p.corruptionLevels.length * p.replicates, {
        layers: [p.inputDim, ...p.hidden, p.classes],
        trainPasses: p.trainSize * p.epochs,
        // Train and test accuracy are tracked every epoch.
        evalPasses: (p.trainSize + p.testSize) * p.epochs,
        steps: epochSteps(p.trainSize, p.batchSize, p.epochs),
        stack: stackOf(p),
      }),
    flopsPerSecond: 2.4e10,
    secondsPerStep: 5.2e-3,
  },
  async run(ctx) {
    const p: Params = ctx.params;
    const { tf } = ctx;
    const units = p.corruptionLevels.flatMap((level) =>
      Array.from({ length: p.replicates }, (_, replicate) => ({ key: `corruption=${level}/replicate=${replicate}`, config: { level, replicate } })),
    );

    // Every unit's network has the same shape, so all train in one stack.
    const { results, stackedGroups } = await stackedSweep(
      ctx,
      units,
      () => stackOf(p),
      async (group, session) => {
        // Data: the task, clean data and initialisation depend on the replicate only, so corruption
        // levels differ in their labels and nothing else.
        const members = group.map((unit) => {
          const { level, replicate } = unit.config;
          const { clean, test, noisy, corrupted } = replicateClusterData(ctx.rng('replicate', replicate, 'data'), p, {
            rng: unit.rng('corruption'),
            fraction: level,
          });
          // The control, on the clean run: the examples corruption at the highest level would pick, left as they are.
          const placebo = level === 0 ? corruptLabels(unit.rng('placebo'), clean, Math.max(...p.corruptionLevels)).corrupted : undefined;
          return { unit, level, replicate, test, noisy, corrupted, placebo };
        });
        const train = uploadStackedDataset(
          tf,
          members.map((member) => member.noisy),
        );
        const test = uploadStackedDataset(
          tf,
          members.map((member) => member.test),
        );

        // Model: an MLP with ReLU hidden layers per unit.
        const initRngs = members.map(({ replicate }) => ctx.rng('replicate', replicate, 'init'));
        const model = createStackedMlp(tf, initRngs, { inputDim: p.inputDim, hidden: p.hidden, outputDim: p.classes });

        // Training, recording after every epoch which examples each network fits (records survive a restart).
        const records = session.record('members', () =>
          members.map(({ noisy }) => ({
            curves: { testAccuracy: [] as number[], trainAccuracyClean: [] as number[], trainAccuracyCorrupted: [] as number[] },
            fits: fitRecord(noisy.size),
            lastTrainPredictions: noPredictions,
          })),
        );
        try {
          await trainStacked({
            tf,
            model,
            train,
            members: members.map(({ replicate }) => ({ learningRate: p.learningRate, shuffle: ctx.rng('replicate', replicate, 'shuffle') })),
            epochs: p.epochs,
            batchSize: p.batchSize,
            optimizer: 'adam',
            session,
            onEpoch: async (epoch) => {
              const trainPredictions = await predictStackedClasses(tf, model, train.x);
              const testPredictions = await predictStackedClasses(tf, model, test.x);
              members.forEach(({ level, noisy, corrupted }, m) => {
                const predicted = trainPredictions[m]!;
                const { curves, fits } = records[m]!;
                recordFits(fits, noisy.y, epoch, predicted);
                curves.trainAccuracyClean.push(accuracy(predicted, noisy.y, (i) => !corrupted[i]));
                if (level > 0) curves.trainAccuracyCorrupted.push(accuracy(predicted, noisy.y, (i) => corrupted[i] === 1));
                curves.testAccuracy.push(accuracy(testPredictions[m]!, test.sources[m]!.y));
                records[m]!.lastTrainPredictions = predicted;
              });
            },
          });
        } finally {
          [model, train, test].forEach((disposable) => disposable.dispose());
        }

        // Metrics, per unit.
        const never = p.epochs + 1;
        return members.map(({ level, noisy, corrupted, placebo }, m) => {
          const {
            curves: memberCurves,
            fits: { firstFit },
            lastTrainPredictions,
          } = records[m]!;
          const peak = Math.max(...memberCurves.testAccuracy);
          return {
            metrics: {
              finalTestAccuracy: memberCurves.testAccuracy.at(-1)!,
              peakTestAccuracy: peak,
              peakEpoch: memberCurves.testAccuracy.indexOf(peak) + 1,
              cleanFirstRate: cleanFirstRate(firstFit, corrupted, never),
              placeboCleanFirstRate: placebo ? cleanFirstRate(firstFit, placebo, never) : null,
              medianFirstFitClean: medianEpoch(firstFit, (i) => !corrupted[i], never),
              medianFirstFitCorrupted: medianEpoch(firstFit, (i) => corrupted[i] === 1, never),
              finalFitCorrupted: level > 0 ? accuracy(lastTrainPredictions, noisy.y, (i) => corrupted[i] === 1) : null,
            },
            curves: { ...memberCurves, firstFitEpoch: Array.from(firstFit), corrupted: Array.from(corrupted) },
          };
        });
      },
    );

    // Headline: per corruption level, averaged over replicates.
    const byLevel: JsonObject = {};
    for (const level of p.corruptionLevels) {
      const atLevel = metricsWhere(results, 'level', level);
      byLevel[String(level)] = {
        testAccuracy: mean(atLevel.map((m) => m.finalTestAccuracy as number)),
        peakTestAccuracy: mean(atLevel.map((m) => m.peakTestAccuracy as number)),
        cleanFirstRate: meanOfNumbers(atLevel.map((m) => m.cleanFirstRate)),
      };
    }
    const noisyLevels = p.corruptionLevels.filter((level) => level > 0);
    const accuracies = p.corruptionLevels.map((level) => (byLevel[String(level)] as { testAccuracy: number }).testAccuracy);
    return {
      byLevel,
      stackedGroups,
      meanCleanFirstRate: meanOfNumbers(noisyLevels.map((level) => (byLevel[String(level)] as { cleanFirstRate: number | null }).cleanFirstRate)),
      placeboCleanFirstRate: meanOfNumbers(results.map((result) => result.metrics.placeboCleanFirstRate)),
      cleanFirstAtEveryLevel: noisyLevels.every((level) => ((byLevel[String(level)] as { cleanFirstRate: number }).cleanFirstRate ?? 0) > 0.5),
      testAccuracyFallsWithCorruption: accuracies.every((value, i) => i === 0 || value <= accuracies[i - 1]!),
    };
  },
});
