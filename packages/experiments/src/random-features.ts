/**
 * Random features (Rahimi & Recht 2007, "Random features for large-scale kernel machines"; 2008,
 * "Weighted sums of random kitchen sinks"; Huang et al. 2006, extreme learning machines; the seed
 * project's "reservoir"). A one-hidden-layer ReLU network whose hidden layer keeps its random
 * initial weights, only the linear readout trained, against the same network (same initial weights,
 * same data, same visit order, same optimizer) with every layer trained, over hidden widths. Known
 * result: the random-feature model approaches the fully trained one as the width grows, but needs
 * many more hidden units to reach the same accuracy. We record both accuracy-vs-width curves and the
 * width each needs for a target accuracy, a fixed fraction of the widest fully trained network's.
 * The control: the fully trained network of the same width.
 */
import { defineExperiment, type JsonObject } from '@axiom/runner';
import { z } from 'zod';
import { clusterTask, sampleClusters } from './lib/data.js';
import { layerSizes, type MlpShape } from './lib/mlp.js';
import { createStackedMlp, predictStackedClasses, trainStacked, uploadStackedDataset } from './lib/stacked.js';
import { epochSteps, gridUnits, repeat, stackedBenchWorkload, stackedSweep, stackingParam } from './lib/sweep.js';
import { FEW_PREDICTIONS_FLIP, SAME_VERDICT } from './lib/tolerances.js';
import { accuracy } from './lib/train.js';

// Parameters: the defaults are the real sweep.
const params = z.strictObject({
  widths: z.array(z.number().int().min(1)).min(2).default([4, 8, 16, 32, 64, 128, 256, 512, 1024]).describe('hidden widths, narrowest first'),
  targetFraction: z.number().gt(0).max(1).default(0.95).describe('target accuracy, as a fraction of the widest fully trained network’s test accuracy'),
  trainSize: z.number().int().min(10).default(2000),
  testSize: z.number().int().min(10).default(2000),
  inputDim: z.number().int().min(2).default(16),
  classes: z.number().int().min(2).default(4),
  clustersPerClass: z.number().int().min(1).default(4).describe('Gaussian blobs per class: several make the boundary nonlinear'),
  separation: z.number().positive().default(1).describe('spread of cluster centres relative to unit point noise'),
  epochs: z.number().int().min(1).default(40),
  batchSize: z.number().int().min(1).default(64),
  learningRate: z.number().positive().default(0.003),
  stacking: stackingParam,
  padWidthsUpTo: z
    .number()
    .int()
    .min(0)
    .default(64)
    .describe(
      'with stacking, widths up to this train in one stack per model, zero-padded to the widest of them (padded units stay exactly zero); 0: each width alone',
    ),
});
type Params = z.infer<typeof params>;

/** The two models compared at each width: `random-features` trains the readout only; `fully-trained` every layer. */
const MODELS = ['random-features', 'fully-trained'] as const;
type Model = (typeof MODELS)[number];

/** Each model's narrow widths train in one stack, zero-padded to the widest of them; wider ones each in their own. */
const stackOf = (p: Pick<Params, 'padWidthsUpTo'>, model: Model, width: number) =>
  `${model}/${width <= p.padWidthsUpTo ? `width≤${p.padWidthsUpTo}` : `width=${width}`}`;

/** The hidden layer (layer 0) keeps its initial random weights in the random-feature model. */
const frozenLayersOf = (model: Model): number[] => (model === 'random-features' ? [0] : []);

/** Parameters training changes: the readout's only with random features, every layer's when fully trained. */
export function trainedParameterCount(shape: MlpShape, frozenLayers: readonly number[]): number {
  return layerSizes(shape).reduce((sum, [fanIn, fanOut], layer) => sum + (frozenLayers.includes(layer) ? 0 : fanIn * fanOut + fanOut), 0);
}

/** The narrowest width whose accuracy reaches `target` (widths in increasing order); null if none does. */
export function widthForTarget(widths: readonly number[], accuracies: readonly number[], target: number): number | null {
  const index = accuracies.findIndex((value) => value >= target);
  return index < 0 ? null : widths[index]!;
}

export default defineExperiment({
  name: 'random-features',
  version: '1.0.0',
  description: 'A fixed random hidden layer with a trained readout vs the same network fully trained: how many more units does it need?',
  params,
  presets: {
    smoke: {
      widths: [4, 16, 64, 256],
      trainSize: 500,
      testSize: 500,
      epochs: 10,
      batchSize: 50,
      learningRate: 0.01,
    },
  },
  // Cross-backend tolerances, measured: WASM (1 thread) vs the plain JS backend, smoke preset, seeds 1–3: every
  // value identical. Set for the real sweep's longer training, where a few predictions may flip.
  headline: [
    { metric: 'byWidth.*.randomFeaturesAccuracy', tolerance: FEW_PREDICTIONS_FLIP },
    { metric: 'byWidth.*.fullyTrainedAccuracy', tolerance: FEW_PREDICTIONS_FLIP },
    { metric: 'randomFeaturesNeedMoreUnits', tolerance: SAME_VERDICT },
    { metric: 'randomFeaturesApproachFullyTrained', tolerance: SAME_VERDICT },
  ],
  findings: {
    controls: [
      {
        claim: 'hidden units a fixed random hidden layer needs to reach the target accuracy',
        measure: 'randomFeatures.widthForTarget',
        control: 'fullyTrained.widthForTarget',
        controlLabel: 'fully trained, same width',
      },
      {
        claim: 'test accuracy at the narrowest width, random features',
        measure: 'randomFeatures.narrowestAccuracy',
        control: 'fullyTrained.narrowestAccuracy',
        controlLabel: 'fully trained',
      },
      {
        claim: 'test accuracy at the widest width, random features',
        measure: 'randomFeatures.widestAccuracy',
        control: 'fullyTrained.widestAccuracy',
        controlLabel: 'fully trained',
      },
    ],
    keyed: {
      table: 'byWidth',
      keyLabel: 'width',
      fields: { randomFeaturesAccuracy: 'random-features test accuracy', fullyTrainedAccuracy: 'fully trained test accuracy', accuracyGap: 'gap' },
      axis: 'log',
      title: 'Test accuracy vs hidden width: fixed random hidden layer vs fully trained',
    },
    scalars: [{ label: 'target', fields: { targetAccuracy: 'accuracy', widthRatio: 'width ratio (random / trained)' } }],
  },
  bench: stackedBenchWorkload,
  // Rates on one WASM thread, fitted to the smoke preset and the default sweep: `npm run bench -- --work-rates`.
  work: {
    networks: (p) =>
      MODELS.flatMap((model) =>
        p.widths.map((width) => ({
          layers: [p.inputDim, width, p.classes],
          trainPasses: p.trainSize * p.epochs,
          // Test accuracy is tracked every epoch, train accuracy at the end.
          evalPasses: p.testSize * p.epochs + p.trainSize,
          steps: epochSteps(p.trainSize, p.batchSize, p.epochs),
          stack: stackOf(p, model, width),
        })),
      ),
    flopsPerSecond: 2.8e10,
    secondsPerStep: 8.2e-4,
  },
  async run(ctx) {
    const p: Params = ctx.params;
    const { tf } = ctx;
    const units = gridUnits({ model: MODELS, width: p.widths });

    // Data: one task, training set and test set for every unit.
    const dataRng = ctx.rng('data');
    const task = clusterTask(dataRng, p);
    const trainData = sampleClusters(dataRng, task, p.trainSize);
    const testData = sampleClusters(dataRng, task, p.testSize);

    // Each model trains in its own stacks (freezing applies to a whole stack): narrow widths together, zero-padded.
    const { results, stackedGroups } = await stackedSweep(
      ctx,
      units,
      ({ model, width }) => stackOf(p, model, width),
      async (group, session) => {
        const model = group[0]!.config.model;
        const frozenLayers = frozenLayersOf(model);
        const train = uploadStackedDataset(tf, repeat(group.length, trainData));
        const test = uploadStackedDataset(tf, repeat(group.length, testData));

        // Model: one hidden ReLU layer and a linear readout. Both models draw the same initial weights at
        // a width, so the random features are exactly the fully trained network's starting hidden layer.
        const width = Math.max(...group.map((unit) => unit.config.width));
        const shape = { inputDim: p.inputDim, hidden: [width], outputDim: p.classes };
        const network = createStackedMlp(
          tf,
          group.map((unit) => ctx.rng('width', unit.config.width, 'init')),
          shape,
          group.map((unit) => [unit.config.width]),
        );

        // Training: the same Adam steps and visit order for both models; test accuracy after every epoch.
        const curves = session.record('curves', () => group.map(() => ({ testAccuracy: [] as number[] })));
        let trainAccuracy: number[] = [];
        try {
          await trainStacked({
            tf,
            model: network,
            train,
            members: group.map((unit) => ({ learningRate: p.learningRate, shuffle: ctx.rng('width', unit.config.width, 'shuffle') })),
            frozenLayers,
            epochs: p.epochs,
            batchSize: p.batchSize,
            optimizer: 'adam',
            session,
            onEpoch: async () => {
              const predictions = await predictStackedClasses(tf, network, test.x);
              predictions.forEach((predicted, m) => curves[m]!.testAccuracy.push(accuracy(predicted, testData.y)));
            },
          });
          trainAccuracy = (await predictStackedClasses(tf, network, train.x)).map((predicted) => accuracy(predicted, trainData.y));
        } finally {
          [network, train, test].forEach((disposable) => disposable.dispose());
        }

        // Metrics, per unit.
        return group.map((unit, m) => ({
          metrics: {
            testAccuracy: curves[m]!.testAccuracy.at(-1)!,
            trainAccuracy: trainAccuracy[m]!,
            trainedParameters: trainedParameterCount({ ...shape, hidden: [unit.config.width] }, frozenLayers),
          },
          curves: curves[m]!,
        }));
      },
    );

    // Headline: both accuracy-vs-width curves, and the width each model needs for the target accuracy.
    const accuracies = (model: Model) => {
      const ofModel = results.filter((result) => result.config.model === model);
      return p.widths.map((width) => ofModel.find((result) => result.config.width === width)!.metrics.testAccuracy as number);
    };
    const [randomAccuracies, trainedAccuracies] = MODELS.map(accuracies) as [number[], number[]];
    const targetAccuracy = p.targetFraction * trainedAccuracies.at(-1)!;
    const summary = (curve: number[]) => ({
      widthForTarget: widthForTarget(p.widths, curve, targetAccuracy),
      narrowestAccuracy: curve[0]!,
      widestAccuracy: curve.at(-1)!,
    });
    const randomFeatures = summary(randomAccuracies);
    const fullyTrained = summary(trainedAccuracies);
    const byWidth: JsonObject = {};
    p.widths.forEach((width, i) => {
      byWidth[String(width)] = {
        randomFeaturesAccuracy: randomAccuracies[i]!,
        fullyTrainedAccuracy: trainedAccuracies[i]!,
        accuracyGap: trainedAccuracies[i]! - randomAccuracies[i]!,
      };
    });
    const gaps = p.widths.map((_, i) => trainedAccuracies[i]! - randomAccuracies[i]!);
    return {
      byWidth,
      randomFeatures,
      fullyTrained,
      targetAccuracy,
      widthRatio:
        randomFeatures.widthForTarget !== null && fullyTrained.widthForTarget !== null ? randomFeatures.widthForTarget / fullyTrained.widthForTarget : null,
      stackedGroups,
      // More units for the same accuracy: the fully trained network reaches the target at a narrower width
      // than the random features do (or they never reach it).
      randomFeaturesNeedMoreUnits: fullyTrained.widthForTarget !== null && (randomFeatures.widthForTarget ?? Infinity) > fullyTrained.widthForTarget,
      // Approaching with width: the random features reach the target at some width, and the gap is smaller at the widest width than at the narrowest.
      randomFeaturesApproachFullyTrained: randomFeatures.widthForTarget !== null && gaps.at(-1)! < gaps[0]!,
    };
  },
});
