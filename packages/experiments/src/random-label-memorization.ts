/**
 * Random-label memorization (Zhang et al. 2017, "Understanding deep learning requires rethinking
 * generalization"; Arpit et al. 2017). One network, one training set, trained with Adam and no
 * regularisation on its true labels, on labels of which a fraction was redrawn at random, and on fully
 * random labels (redrawn uniformly from every class, so a redrawn label keeps its true class with chance
 * 1/classes and at fraction 1 the labels are independent of the inputs). Each network trains until it
 * fits its training labels (`fitThreshold` of them) or runs out of epochs. Known result: the network
 * fits even fully random labels, more slowly the more labels are random, and its test accuracy (against
 * the true test labels) falls to chance. The control is the same network on the true labels. The finding
 * is the time to fit and the test accuracy against the random fraction; which examples are fit first is
 * memorization-dynamics' question, not this one's.
 */
import { defineExperiment, type JsonObject } from '@axiom/runner';
import { mean } from 'simple-statistics';
import { z } from 'zod';
import { replicateClusterData } from './lib/data.js';
import { createStackedMlp, predictStackedClasses, trainStacked, uploadStackedDataset } from './lib/stacked.js';
import { epochSteps, meanOfNumbers, metricsWhere, repeat, stackedBenchWorkload, stackedSweep, stackingParam } from './lib/sweep.js';
import { FEW_PREDICTIONS_FLIP, SAME_VERDICT } from './lib/tolerances.js';
import { fitRecord, medianEpoch, recordFits } from './lib/tracking.js';
import { accuracy } from './lib/train.js';

// Parameters: the defaults are the real sweep.
const params = z.strictObject({
  randomFractions: z
    .array(z.number().min(0).max(1))
    .min(2)
    .default([0, 0.2, 0.4, 0.6, 0.8, 1])
    .refine((fractions) => fractions.includes(0) && fractions.includes(1), 'must include 0 (true labels, the control) and 1 (fully random labels)')
    .describe('fractions of training labels redrawn uniformly from every class; 0 is the control, 1 fully random labels'),
  replicates: z.number().int().min(1).default(3).describe('independent data sets and initialisations per fraction'),
  trainSize: z.number().int().min(10).default(500),
  testSize: z.number().int().min(10).default(1000),
  inputDim: z.number().int().min(2).default(20),
  classes: z.number().int().min(2).default(10),
  clustersPerClass: z.number().int().min(1).default(2),
  separation: z.number().positive().default(1).describe('spread of cluster centres relative to unit point noise'),
  hidden: z.array(z.number().int().min(1)).min(1).default([128, 128]),
  maxEpochs: z.number().int().min(1).default(150).describe('training budget; a network stops as soon as it fits its training labels'),
  fitThreshold: z.number().gt(0).max(1).default(1).describe('training accuracy (on the labels it is trained on) that counts as fitting them'),
  batchSize: z.number().int().min(1).default(32),
  learningRate: z.number().positive().default(0.001),
  stacking: stackingParam,
});
type Params = z.infer<typeof params>;

/** Every network has one shape, so all train in one stack. */
const stackOf = (p: Pick<Params, 'hidden'>) => `hidden=${p.hidden.join('x')}`;

/** The first epoch (1-based) at which `curve` reaches `threshold`; null if it never does. */
export function epochsToReach(curve: readonly number[], threshold: number): number | null {
  const index = curve.findIndex((value) => value >= threshold);
  return index === -1 ? null : index + 1;
}

/** Headline values at one random fraction, averaged over replicates. */
interface AtFraction {
  epochsToFit: number | null;
  replicatesFit: number;
  trainAccuracy: number;
  testAccuracy: number;
  medianFirstFitEpoch: number;
}

export default defineExperiment({
  name: 'random-label-memorization',
  version: '1.0.0',
  description: 'Random labels: does the same network fit them to 100%, how much more slowly, and at what test accuracy?',
  params,
  presets: {
    smoke: { randomFractions: [0, 0.5, 1], trainSize: 100, testSize: 300, classes: 5, hidden: [64, 64], maxEpochs: 60, batchSize: 20, learningRate: 0.003 },
  },
  // Cross-backend tolerances, measured: WASM (1 thread) vs the plain JS backend, smoke preset, seeds 1–3: every
  // value identical (and the digests). Set for the real sweep's longer training, where a few predictions may flip
  // and a network may fit its last example an epoch or two apart.
  headline: [
    { metric: 'byFraction.*.epochsToFit', tolerance: { absolute: 2, relative: 0 } },
    { metric: 'byFraction.*.trainAccuracy', tolerance: FEW_PREDICTIONS_FLIP },
    { metric: 'byFraction.*.testAccuracy', tolerance: FEW_PREDICTIONS_FLIP },
    { metric: 'randomLabelsFit', tolerance: SAME_VERDICT },
    { metric: 'fittingSlowsWithRandomLabels', tolerance: SAME_VERDICT },
    { metric: 'randomLabelsAtChance', tolerance: SAME_VERDICT },
  ],
  findings: {
    controls: [
      {
        claim: 'fully random labels take longer to fit (epochs to fit)',
        measure: 'fullyRandom.epochsToFit',
        control: 'trueLabels.epochsToFit',
        controlLabel: 'on true labels',
      },
      {
        claim: 'fully random labels are fit all the same (final training accuracy)',
        measure: 'fullyRandom.trainAccuracy',
        control: 'trueLabels.trainAccuracy',
        controlLabel: 'on true labels',
      },
      {
        claim: 'with fully random labels test accuracy is at chance',
        measure: 'fullyRandom.testAccuracy',
        control: 'trueLabels.testAccuracy',
        controlLabel: 'on true labels',
      },
    ],
    keyed: {
      table: 'byFraction',
      keyLabel: 'random fraction',
      fields: { epochsToFit: 'epochs to fit', medianFirstFitEpoch: 'median first-fit epoch', trainAccuracy: 'train accuracy', testAccuracy: 'test accuracy' },
      axis: 'linear',
      title: 'Epochs to fit the training labels, and test accuracy, vs the fraction of random labels',
    },
    scalars: [
      { label: 'fully random labels', fields: { fitSlowdown: 'epochs to fit ÷ true labels’' } },
      { label: 'chance', fields: { chanceAccuracy: 'test accuracy' } },
    ],
  },
  bench: stackedBenchWorkload,
  work: {
    networks: (p) =>
      repeat(p.randomFractions.length * p.replicates, {
        layers: [p.inputDim, ...p.hidden, p.classes],
        // The budget: a network that fits its labels sooner stops sooner, so this is an upper estimate.
        trainPasses: p.trainSize * p.maxEpochs,
        // Train and test accuracy are tracked every epoch.
        evalPasses: (p.trainSize + p.testSize) * p.maxEpochs,
        steps: epochSteps(p.trainSize, p.batchSize, p.maxEpochs),
        stack: stackOf(p),
      }),
    // Fitted to the smoke preset and the default sweep on one WASM thread: `npm run bench -- --work-rates`.
    flopsPerSecond: 2.8e10,
    secondsPerStep: 6.2e-4,
  },
  async run(ctx) {
    const p: Params = ctx.params;
    const { tf } = ctx;
    const units = p.randomFractions.flatMap((fraction) =>
      Array.from({ length: p.replicates }, (_, replicate) => ({ key: `random=${fraction}/replicate=${replicate}`, config: { fraction, replicate } })),
    );

    // Every unit's network has the same shape, so all train in one stack.
    const { results, stackedGroups } = await stackedSweep(
      ctx,
      units,
      () => stackOf(p),
      async (group, session) => {
        // Data: the task, inputs, true labels and initialisation depend on the replicate only, so the
        // fractions differ in their training labels and nothing else. Test labels are always the true ones.
        const members = group.map((unit) => {
          const { fraction, replicate } = unit.config;
          const { noisy: trained, test } = replicateClusterData(ctx.rng('replicate', replicate, 'data'), p, {
            rng: unit.rng('labels'),
            fraction,
            draw: 'any-class',
          });
          return { replicate, trained, test };
        });
        const train = uploadStackedDataset(
          tf,
          members.map((member) => member.trained),
        );
        const test = uploadStackedDataset(
          tf,
          members.map((member) => member.test),
        );

        // Model: a ReLU MLP per unit, the same initialisation for every fraction of a replicate.
        const model = createStackedMlp(
          tf,
          members.map(({ replicate }) => ctx.rng('replicate', replicate, 'init')),
          { inputDim: p.inputDim, hidden: p.hidden, outputDim: p.classes },
        );

        // Training: Adam, no regularisation, no early stopping on held-out data; a network stops once
        // it fits its training labels. Accuracies after every epoch (records survive a restart).
        const records = session.record('members', () =>
          members.map(({ trained }) => ({ curves: { trainAccuracy: [] as number[], testAccuracy: [] as number[] }, fits: fitRecord(trained.size) })),
        );
        try {
          await trainStacked({
            tf,
            model,
            train,
            members: members.map(({ replicate }) => ({ learningRate: p.learningRate, shuffle: ctx.rng('replicate', replicate, 'shuffle') })),
            epochs: p.maxEpochs,
            batchSize: p.batchSize,
            optimizer: 'adam',
            session,
            onEpoch: async (epoch, training) => {
              const trainPredictions = await predictStackedClasses(tf, model, train.x);
              const testPredictions = await predictStackedClasses(tf, model, test.x);
              return members.map(({ trained, test: heldOut }, m) => {
                if (!training[m]) return undefined;
                const { curves, fits } = records[m]!;
                recordFits(fits, trained.y, epoch, trainPredictions[m]!);
                curves.trainAccuracy.push(accuracy(trainPredictions[m]!, trained.y));
                curves.testAccuracy.push(accuracy(testPredictions[m]!, heldOut.y));
                return curves.trainAccuracy.at(-1)! >= p.fitThreshold ? 'stop' : undefined;
              });
            },
          });
        } finally {
          [model, train, test].forEach((disposable) => disposable.dispose());
        }

        // Metrics, per unit: when it fit its labels, and its accuracies when it stopped.
        return records.map(({ curves, fits }) => ({
          metrics: {
            epochsToFit: epochsToReach(curves.trainAccuracy, p.fitThreshold),
            trainAccuracy: curves.trainAccuracy.at(-1)!,
            testAccuracy: curves.testAccuracy.at(-1)!,
            // The typical example's fitting time, beside the whole set's (examples never fit count as maxEpochs + 1).
            medianFirstFitEpoch: medianEpoch(fits.firstFit, () => true, p.maxEpochs + 1),
          },
          curves,
        }));
      },
    );

    // Headline: per random fraction, averaged over replicates; epochs to fit over the replicates that fit.
    const byFraction: Record<string, AtFraction> = {};
    for (const fraction of p.randomFractions) {
      const atFraction = metricsWhere(results, 'fraction', fraction);
      const fitEpochs = atFraction.map((m) => m.epochsToFit).filter((epochs) => epochs !== null);
      byFraction[String(fraction)] = {
        epochsToFit: meanOfNumbers(fitEpochs),
        replicatesFit: fitEpochs.length,
        trainAccuracy: mean(atFraction.map((m) => m.trainAccuracy as number)),
        testAccuracy: mean(atFraction.map((m) => m.testAccuracy as number)),
        medianFirstFitEpoch: mean(atFraction.map((m) => m.medianFirstFitEpoch as number)),
      };
    }
    const [trueLabels, fullyRandom] = [byFraction['0']!, byFraction['1']!];
    const chanceAccuracy = 1 / p.classes;
    // Chance, up to sampling: within 4 standard errors of 1/classes over every test prediction at fraction 1.
    const chanceBand = 4 * Math.sqrt((chanceAccuracy * (1 - chanceAccuracy)) / (p.testSize * p.replicates));
    return {
      byFraction: byFraction as unknown as JsonObject,
      trueLabels: { ...trueLabels },
      fullyRandom: { ...fullyRandom },
      chanceAccuracy,
      fitSlowdown: fullyRandom.epochsToFit !== null && trueLabels.epochsToFit !== null ? fullyRandom.epochsToFit / trueLabels.epochsToFit : null,
      stackedGroups,
      randomLabelsFit: fullyRandom.replicatesFit === p.replicates,
      fittingSlowsWithRandomLabels: fullyRandom.epochsToFit !== null && trueLabels.epochsToFit !== null && fullyRandom.epochsToFit > trueLabels.epochsToFit,
      randomLabelsAtChance: Math.abs(fullyRandom.testAccuracy - chanceAccuracy) <= chanceBand,
    };
  },
});
