/**
 * Feature competition (Pezeshki et al. 2021, "Gradient starvation"; Shah et al. 2020, "The pitfalls of
 * simplicity bias"; Hermann & Lampinen 2020). Binary labels are carried by two input features at once:
 * a strong one (large margin, almost linearly separable) and a weak one (smaller margin, also
 * predictive), plus noise columns. Each epoch we measure the gradient of the loss with respect to the
 * first-layer weights reading each feature; after training, test accuracy with each feature destroyed
 * (shuffled across examples). Known result: the strong feature's gradient dominates (Axiom: mean ratio
 * 1.39, larger for wider networks) and destroying it hurts accuracy far more than destroying the weak one.
 * The control: the same network trained with the strong feature removed (shuffled in its training
 * data), so the weak feature has no competitor. Starvation means the network trained on both features
 * gets less from the weak one (test accuracy with the strong feature destroyed) than the control does.
 */
import { defineExperiment, type Rng } from '@axiom/runner';
import { mean } from 'simple-statistics';
import { z } from 'zod';
import { featureColumns, sampleCompetingFeatures, shuffleColumns, type Dataset, type FeatureColumns } from './lib/data.js';
import { firstLayerGradientNorms } from './lib/probes.js';
import { createStackedMlp, predictStackedClasses, trainStacked, uploadStackedDataset, type StackedDataset } from './lib/stacked.js';
import { epochSteps, finiteOrNull, gridUnits, meanOfNumbers, repeat, stackByWidth, stackedBenchWorkload, stackedSweep, stackingParam } from './lib/sweep.js';
import { FEW_PREDICTIONS_FLIP, SAME_VERDICT } from './lib/tolerances.js';
import { accuracy } from './lib/train.js';

// Parameters: the defaults are the real sweep.
const params = z.strictObject({
  widths: z.array(z.number().int().min(1)).min(1).default([32, 64, 128, 256]),
  replicates: z.number().int().min(1).default(5).describe('independent data sets and initialisations per width'),
  featureDims: z.number().int().min(1).default(2).describe('input columns carrying each feature'),
  strongMargin: z.number().positive().default(2).describe("distance of each class's mean from the boundary along the strong feature, in units of its noise"),
  weakMargin: z.number().positive().default(1).describe('the same for the weak feature'),
  noiseDims: z.number().int().min(0).default(16).describe('input columns of pure noise'),
  trainSize: z.number().int().min(10).default(2000),
  testSize: z.number().int().min(10).default(2000),
  depth: z.number().int().min(1).default(2).describe('hidden layers, each `width` wide'),
  epochs: z.number().int().min(1).default(30),
  batchSize: z.number().int().min(1).default(32),
  optimizer: z.enum(['sgd', 'adam']).default('sgd'),
  learningRate: z.number().positive().default(0.01),
  stacking: stackingParam,
});
type Params = z.infer<typeof params>;

/** What a network trains on: both features, or (the control) the weak one alone, the strong one shuffled away. */
export const trainings = ['both-features', 'strong-removed'] as const;

/** The test set twice, with the strong and with the weak feature destroyed: its columns shuffled jointly across examples, nothing else changed. */
export function destroyFeatures(rng: Rng, test: Dataset, columns: FeatureColumns): { withoutStrong: Dataset; withoutWeak: Dataset } {
  return { withoutStrong: shuffleColumns(rng, test, columns.strong), withoutWeak: shuffleColumns(rng, test, columns.weak) };
}

export default defineExperiment({
  name: 'feature-competition',
  version: '1.3.0',
  description: 'A strong and a weak predictive feature: does the strong one starve the weak one of gradient?',
  params,
  presets: {
    smoke: { widths: [32, 128], replicates: 1, trainSize: 500, testSize: 500, epochs: 10 },
  },
  // Cross-backend tolerances, measured: WASM (1 thread) vs the plain JS backend, smoke preset, seeds 1–3:
  // gradient ratios within 1.2e-7 relative, accuracies and verdicts identical. Set with ~1000× headroom for
  // the real sweep's longer training, where a few predictions may flip.
  headline: [
    { metric: 'byWidth.*.meanGradientRatio', tolerance: { absolute: 0, relative: 1e-4 } },
    { metric: 'byWidth.*.testAccuracy', tolerance: FEW_PREDICTIONS_FLIP },
    { metric: 'strongGradientDominates', tolerance: SAME_VERDICT },
    { metric: 'strongRemovalHurtsMore', tolerance: SAME_VERDICT },
    { metric: 'byWidth.*.weakFeatureAccuracy', tolerance: FEW_PREDICTIONS_FLIP },
    { metric: 'byWidth.*.weakFeatureAccuracyAlone', tolerance: FEW_PREDICTIONS_FLIP },
    { metric: 'weakFeatureStarved', tolerance: SAME_VERDICT },
  ],
  findings: {
    controls: [
      {
        claim: 'accuracy from the weak feature (strong feature destroyed at test), trained beside the strong one',
        measure: 'weakFeatureAccuracy',
        control: 'weakFeatureAccuracyAlone',
        controlLabel: 'trained with the strong feature removed',
      },
    ],
    verdicts: {
      weakFeatureStarved: 'the strong feature starves the weak one: less is learned from it than without competition, at every width',
      strongRemovalHurtsMore: 'destroying the strong feature hurts accuracy more than destroying the weak one',
    },
    keyed: {
      table: 'byWidth',
      keyLabel: 'width',
      fields: {
        meanGradientRatio: 'gradient ratio strong/weak',
        weakFeatureAccuracy: 'weak-feature accuracy',
        weakFeatureAccuracyAlone: 'weak-feature accuracy, trained alone',
      },
      axis: 'log',
      title: 'Gradient ratio of the strong to the weak feature vs width',
    },
  },
  bench: stackedBenchWorkload,
  // Rates on one WASM thread, fitted to the smoke preset and the default sweep: `npm run bench -- --work-rates`.
  work: {
    networks: (p) =>
      p.widths.flatMap((width) =>
        repeat(p.replicates * trainings.length, {
          layers: [2 * p.featureDims + p.noiseDims, ...repeat(p.depth, width), 2],
          trainPasses: p.trainSize * p.epochs,
          evalPasses: p.testSize * p.epochs,
          steps: epochSteps(p.trainSize, p.batchSize, p.epochs),
          stack: stackByWidth({ width }),
        }),
      ),
    flopsPerSecond: 2.1e10,
    secondsPerStep: 3.9e-3,
  },
  async run(ctx) {
    const p: Params = ctx.params;
    const { tf } = ctx;
    const columns = featureColumns(p);
    const units = gridUnits({ width: p.widths, replicate: Array.from({ length: p.replicates }, (_, replicate) => replicate), training: trainings });

    // Networks of one width train together; each keeps its own data, initialisation and shuffle.
    const { results, stackedGroups } = await stackedSweep(ctx, units, stackByWidth, async (group, session) => {
      const { width } = group[0]!.config;
      // Data: the data set depends on the replicate only, so widths are compared on the same examples.
      // The control trains on the same examples with the strong feature shuffled across them.
      const sources = group.map(({ config: { replicate, training } }) => {
        const dataRng = ctx.rng('replicate', replicate, 'data');
        const examples = sampleCompetingFeatures(dataRng, p, p.trainSize);
        const test = sampleCompetingFeatures(dataRng, p, p.testSize);
        const train = training === 'strong-removed' ? shuffleColumns(ctx.rng('replicate', replicate, 'remove-strong'), examples, columns.strong) : examples;
        return { train, test, ...destroyFeatures(ctx.rng('replicate', replicate, 'destroy'), test, columns) };
      });
      const upload = (part: keyof (typeof sources)[number]) =>
        uploadStackedDataset(
          tf,
          sources.map((source) => source[part]),
        );
      const [train, test, withoutStrong, withoutWeak] = [upload('train'), upload('test'), upload('withoutStrong'), upload('withoutWeak')];

      // Model: an MLP with ReLU hidden layers and two logits, one per unit.
      const inputDim = sources[0]!.train.inputDim;
      const model = createStackedMlp(
        tf,
        group.map((unit) => unit.rng('init')),
        { inputDim, hidden: Array<number>(p.depth).fill(width), outputDim: 2 },
      );
      const testAccuracyOf = async (data: StackedDataset) =>
        (await predictStackedClasses(tf, model, data.x)).map((predicted, m) => accuracy(predicted, data.sources[m]!.y));

      // Training, probing after every epoch how hard the loss pulls on the weights reading each feature
      // (records survive a restart).
      const curves = session.record('curves', () =>
        group.map(() => ({
          gradientNormStrong: [] as number[],
          gradientNormWeak: [] as number[],
          gradientRatio: [] as Array<number | null>,
          testAccuracy: [] as number[],
        })),
      );
      let accuracyStrongDestroyed: number[] = [];
      let accuracyWeakDestroyed: number[] = [];
      try {
        await trainStacked({
          tf,
          model,
          train,
          members: group.map((unit) => ({ learningRate: p.learningRate, shuffle: unit.rng('shuffle') })),
          epochs: p.epochs,
          batchSize: p.batchSize,
          optimizer: p.optimizer,
          session,
          onEpoch: async () => {
            const norms = await firstLayerGradientNorms(tf, model, train, 'cross-entropy', [columns.strong, columns.weak]);
            const accuracies = await testAccuracyOf(test);
            curves.forEach((memberCurves, m) => {
              const [strong, weak] = norms[m] as [number, number];
              memberCurves.gradientNormStrong.push(strong);
              memberCurves.gradientNormWeak.push(weak);
              memberCurves.gradientRatio.push(finiteOrNull(strong / weak));
              memberCurves.testAccuracy.push(accuracies[m]!);
            });
          },
        });
        accuracyStrongDestroyed = await testAccuracyOf(withoutStrong);
        accuracyWeakDestroyed = await testAccuracyOf(withoutWeak);
      } finally {
        [model, train, test, withoutStrong, withoutWeak].forEach((disposable) => disposable.dispose());
      }

      // Metrics, per unit.
      return curves.map((memberCurves, m) => ({
        metrics: {
          testAccuracy: memberCurves.testAccuracy.at(-1)!,
          accuracyStrongDestroyed: accuracyStrongDestroyed[m]!,
          accuracyWeakDestroyed: accuracyWeakDestroyed[m]!,
          meanGradientRatio: meanOfNumbers(memberCurves.gradientRatio),
          finalGradientRatio: memberCurves.gradientRatio.at(-1)!,
        },
        curves: memberCurves,
      }));
    });

    // Headline: per width, averaged over replicates.
    const byWidth = Object.fromEntries(
      p.widths.map((width) => {
        const atWidth = results.filter((result) => result.config.width === width);
        const average = (training: (typeof trainings)[number], field: string) =>
          meanOfNumbers(atWidth.filter((result) => result.config.training === training).map((result) => result.metrics[field]))!;
        const accuracyDrop = (field: string) => average('both-features', 'testAccuracy') - average('both-features', field);
        return [
          String(width),
          {
            meanGradientRatio: average('both-features', 'meanGradientRatio'),
            testAccuracy: average('both-features', 'testAccuracy'),
            accuracyDropStrongDestroyed: accuracyDrop('accuracyStrongDestroyed'),
            accuracyDropWeakDestroyed: accuracyDrop('accuracyWeakDestroyed'),
            weakFeatureAccuracy: average('both-features', 'accuracyStrongDestroyed'),
            weakFeatureAccuracyAlone: average('strong-removed', 'accuracyStrongDestroyed'),
          },
        ];
      }),
    );
    const summaries = Object.values(byWidth);
    return {
      byWidth,
      stackedGroups,
      meanGradientRatio: mean(summaries.map((s) => s.meanGradientRatio)),
      strongGradientDominates: summaries.every((s) => s.meanGradientRatio > 1),
      strongRemovalHurtsMore: summaries.every((s) => s.accuracyDropStrongDestroyed > s.accuracyDropWeakDestroyed),
      weakFeatureAccuracy: mean(summaries.map((s) => s.weakFeatureAccuracy)),
      weakFeatureAccuracyAlone: mean(summaries.map((s) => s.weakFeatureAccuracyAlone)),
      weakFeatureStarved: summaries.every((s) => s.weakFeatureAccuracyAlone > s.weakFeatureAccuracy),
      gradientRatioRisesWithWidth: byWidth[String(p.widths.at(-1))]!.meanGradientRatio > byWidth[String(p.widths[0])]!.meanGradientRatio,
    };
  },
});
