/**
 * Model-wise double descent (Belkin et al. 2019, "Reconciling modern machine-learning practice and the classical
 * bias–variance trade-off"; Nakkiran et al. 2019, "Deep double descent"), in two arms that learn one small fixed
 * training set of Gaussian clusters, each once on clean labels and once with label noise (a fraction of training
 * labels replaced by a uniformly random wrong class, Nakkiran's convention); every model is scored on one test set.
 *
 * 1. Random features, Belkin's own setup (his Figs. 1–2). N random ReLU features max(0, w·x), w drawn once and never
 *    trained (a smaller N is a prefix of the same draw, and both runs share it), N on a log scale from samples/8 to
 *    8 × samples; a linear readout fitted to one-hot targets by minimum-norm least squares: the least-squares fit
 *    while N < samples, the interpolant of least norm from N = samples on. The fit is exact (a Cholesky solve of
 *    the smaller Gram matrix in float64 JS, lib/least-squares.ts): gradient descent would not converge near the
 *    threshold, where that matrix is nearly singular. Being JS arithmetic on data drawn in JS, this arm's numbers
 *    are the same on every backend. Trained parameters: N × classes. Known result: test error peaks where trained
 *    parameters = samples × classes (N = samples) and falls again beyond it; label noise sharpens the peak.
 * 2. Fully trained networks (Nakkiran's setting). One-hidden-layer ReLU networks of widths on a log scale, every
 *    weight trained with Adam and cross-entropy, without early stopping or regularisation, long enough to fit the
 *    training set where they can. Known result: test error peaks where the network can just fit it, at Nakkiran's
 *    "effective model complexity", parameters ≈ samples rather than samples × classes, and falls again; label noise
 *    makes the peak sharper.
 *
 * We record each arm's most prominent test-error peak against samples × classes and samples. Controls, in the same
 * run: the clean-label run, and the best smaller model and the largest one, against which the peak stands out.
 * Sharpness with noise is read on the loss each arm minimises: test error for the trained arm (its peak is absent
 * with clean labels), the squared test loss for random features, whose 0–1 test error goes near chance at the
 * threshold with clean labels too (a readout of huge norm), so that noise cannot raise that peak, only its
 * surroundings; the squared loss shows what noise adds, the variance the near-singular fit amplifies.
 *
 * Measured (default sweep, seeds 1–3): random features peak at N = 300 = samples, 900 trained parameters = samples ×
 * classes, clean and noisy, in every seed: noisy test error 0.13–0.16 up to N = 75, 0.66 at the threshold, 0.27 at
 * 8 × samples (clean: 0.05–0.08, 0.61, 0.04); the squared test loss's peak stands 62–207 above its base with noise,
 * 10–35 without. Fully trained networks peak with noise at width 11 = 267 parameters, 0.89 × samples and 0.30 ×
 * samples × classes, in every seed, with prominence 0.10 against 0.01 on clean labels.
 */
import { defineExperiment, type JsonObject, type Tolerance, type TrainingSession, type UnitContext, type UnitOutput } from '@axiom/runner';
import { z } from 'zod';
import { clusterTask, corruptLabels, sampleClusters, type Dataset } from './lib/data.js';
import { minimumNormLeastSquares, multiply, randomFeatureOutputs, randomReluWeights, reluFeatures } from './lib/least-squares.js';
import { parameterCount } from './lib/mlp.js';
import { createStackedMlp, evaluateStackedLoss, predictStackedClasses, trainStacked, uploadStackedDataset } from './lib/stacked.js';
import { epochSteps, gridUnits, stackedBenchWorkload, stackedSweep, stackingParam } from './lib/sweep.js';
import { FEW_PREDICTIONS_FLIP, SAME_VERDICT } from './lib/tolerances.js';
import { accuracy } from './lib/train.js';

// Parameters: the defaults are the real sweep.
const params = z.strictObject({
  featureCounts: z
    .array(z.number().int().min(1))
    .min(3)
    .default([38, 53, 75, 106, 150, 212, 300, 424, 600, 849, 1200, 1697, 2400])
    .describe(
      'random-features arm: numbers of random ReLU features N, fewest first, by factors of √2 from trainSize/8 to 8 × trainSize (the threshold: N = trainSize, N × classes trained parameters)',
    ),
  widths: z
    .array(z.number().int().min(1))
    .min(3)
    .default([2, 3, 4, 6, 8, 11, 16, 23, 32, 45, 64, 128, 256])
    .describe('fully trained arm: hidden widths, narrowest first, on a log scale across the interpolation threshold'),
  labelNoise: z
    .number()
    .gt(0)
    .max(0.9)
    .default(0.2)
    .describe('fraction of training labels replaced by a random wrong class in the noisy run; the other run is clean'),
  trainSize: z.number().int().min(10).default(300),
  testSize: z.number().int().min(10).default(2000),
  inputDim: z.number().int().min(2).default(20),
  classes: z.number().int().min(2).default(3),
  clustersPerClass: z.number().int().min(1).default(2),
  separation: z.number().positive().default(1).describe('spread of cluster centres relative to unit point noise'),
  epochs: z.number().int().min(1).default(1000).describe('fully trained arm: long enough that networks past the threshold fit every training label'),
  batchSize: z.number().int().min(1).default(150),
  learningRate: z.number().positive().default(0.003),
  loss: z
    .enum(['mse', 'cross-entropy'])
    .default('cross-entropy')
    .describe(
      'cross-entropy (Nakkiran et al.), or mse: squared loss on one-hot targets (Belkin et al.; at this scale its test error only rises past the threshold)',
    ),
  evaluateEvery: z.number().int().min(1).default(100).describe('epochs between evaluations for the epoch-wise curves'),
  bandRatio: z
    .number()
    .min(1)
    .default(4)
    .describe('with stacking, widths in one band (the widest at most bandRatio × the narrowest) train in one stack, zero-padded to the widest'),
  stacking: stackingParam,
});
type Params = z.infer<typeof params>;

/** The noise levels every run compares: clean labels (the control) and `labelNoise`. */
const runs = ['clean', 'noisy'] as const;
type Run = (typeof runs)[number];
const suffix = (run: Run) => (run === 'clean' ? 'Clean' : 'Noisy');

/** A sweep unit: a random-features readout over `features` features, or a fully trained network of one hidden width. */
type FeaturesConfig = { features: number; run: Run };
type NetworkConfig = { width: number; run: Run };
type ArmConfig = FeaturesConfig | NetworkConfig;
/** Groups never mix the arms: each random-features fit is a group of its own. */
/** Each random-features fit alone: a solve, not a training loop. */
const featuresStackOf = ({ features, run }: FeaturesConfig) => `features=${features}/run=${run}`;
/** A band's widths train in one stack, zero-padded to its widest. */
const bandStackOf = (bandOf: Map<number, number>, width: number) => `band=${bandOf.get(width)}`;
const isFeaturesGroup = (group: Array<UnitContext<ArmConfig>>): group is Array<UnitContext<FeaturesConfig>> => group.every((unit) => 'features' in unit.config);

/** Floating-point operations of a minimum-norm least-squares fit of a rows × cols matrix: the smaller Gram matrix, then its Cholesky factor. */
const leastSquaresFlops = (rows: number, cols: number) => Math.min(rows, cols) ** 2 * Math.max(rows, cols) + Math.min(rows, cols) ** 3 / 3;

/**
 * The interior point of `values` with the greatest topographic prominence: its height above the higher of
 * the lowest points between it and a higher point (or the end) on either side. The first and last points
 * are ends, not peaks (prominence 0), so a curve that only falls or only rises has no peak: null.
 */
export function mostProminentPeak(values: readonly number[]): { index: number; prominence: number } | null {
  let best: { index: number; prominence: number } | null = null;
  for (let i = 1; i < values.length - 1; i++) {
    const base = (step: number) => {
      let lowest = values[i]!;
      for (let j = i + step; j >= 0 && j < values.length && values[j]! <= values[i]!; j += step) lowest = Math.min(lowest, values[j]!);
      return lowest;
    };
    const prominence = values[i]! - Math.max(base(-1), base(1));
    if (prominence > 0 && (best === null || prominence > best.prominence)) best = { index: i, prominence };
  }
  return best;
}

/** Bands of widths for stacking: each starts at the narrowest width not yet in one and takes widths up to `ratio` times it. */
export function widthBands(widths: readonly number[], ratio: number): Map<number, number> {
  const bandOf = new Map<number, number>();
  let start = 0;
  for (const width of [...widths].sort((a, b) => a - b)) {
    if (start === 0 || width > ratio * start) start = width;
    bandOf.set(width, start);
  }
  return bandOf;
}

/** One arm's curves in one run, by model size (hidden width, or number of random features), smallest first. */
interface ArmCurves {
  sizes: readonly number[];
  parameters: readonly number[];
  testErrors: readonly number[];
  trainErrors: readonly number[];
  testLosses: readonly number[];
}

/**
 * Where the arm's test error peaks (its most prominent peak) against samples × classes and samples, and the
 * controls it stands out against: the best smaller model and the largest one; also the test loss's peak.
 */
function peakOf(curves: ArmCurves, samples: number, classes: number) {
  const peak = mostProminentPeak(curves.testErrors);
  const lossPeak = mostProminentPeak(curves.testLosses);
  const peakParameters = peak ? curves.parameters[peak.index]! : null;
  return {
    peakSize: peak ? curves.sizes[peak.index]! : null,
    peakParameters,
    peakOverThreshold: peakParameters === null ? null : peakParameters / (samples * classes),
    peakOverSamples: peakParameters === null ? null : peakParameters / samples,
    peakTestError: peak ? curves.testErrors[peak.index]! : null,
    peakProminence: peak?.prominence ?? 0,
    bestSmallerTestError: peak ? Math.min(...curves.testErrors.slice(0, peak.index)) : null,
    largestTestError: curves.testErrors.at(-1)!,
    // The empirical threshold: the smallest model that fits every training label.
    smallestInterpolatingSize: curves.sizes.find((_, i) => curves.trainErrors[i] === 0) ?? null,
    lossPeakSize: lossPeak ? curves.sizes[lossPeak.index]! : null,
    lossPeakProminence: lossPeak?.prominence ?? 0,
  };
}

/** The size in `sizes` nearest `target` on a log scale: where a sweep on a log scale meets the threshold. */
export function nearestOnLogScale(sizes: readonly number[], target: number): number {
  return sizes.reduce((nearest, size) => (Math.abs(Math.log(size / target)) < Math.abs(Math.log(nearest / target)) ? size : nearest));
}

/** The predicted class of each row of a row-major rows × classes matrix of outputs (the first on a tie). */
function predictedClasses(outputs: Float64Array, classes: number): Int32Array {
  return Int32Array.from({ length: outputs.length / classes }, (_, row) => {
    let best = 0;
    for (let c = 1; c < classes; c++) if (outputs[row * classes + c]! > outputs[row * classes + best]!) best = c;
    return best;
  });
}

/** One-hot targets of a data set's labels, row-major size × classes, in float64. */
function oneHot(data: Dataset): Float64Array {
  const targets = new Float64Array(data.size * data.classes);
  data.y.forEach((label, row) => (targets[row * data.classes + label] = 1));
  return targets;
}

/**
 * The random-features arm's metrics: computed in float64 JS from data drawn in JS, so identical on every backend;
 * the tolerances leave room only for another JS engine rounding its Math functions (the data's draws) differently.
 */
const FLOAT64_IN_JS: { errors: Tolerance; losses: Tolerance } = { errors: { absolute: 0.001, relative: 0 }, losses: { absolute: 0, relative: 1e-6 } };

export default defineExperiment({
  name: 'double-descent',
  version: '1.1.0',
  description:
    'Model size swept across the interpolation threshold, random features fitted by minimum-norm least squares and fully trained networks: does test error peak there and fall again, more sharply with label noise?',
  params,
  presets: {
    smoke: { featureCounts: [75, 150, 300, 600, 1200], widths: [4, 11, 128], testSize: 1000, epochs: 300, learningRate: 0.01 },
  },
  // Cross-backend tolerances, measured: WASM (1 thread) vs the plain JS backend, smoke preset, seeds 1–3: the trained
  // arm's test errors within 0.001 (one test prediction in 1000, the widest network's on noisy labels), its noisy peak's
  // prominence within 0.001, verdicts equal; the random-features arm identical. Set for the real sweep's longer
  // training, where a few more predictions may flip.
  headline: [
    { metric: 'byFeatures.*.testErrorClean', tolerance: FLOAT64_IN_JS.errors },
    { metric: 'byFeatures.*.testErrorNoisy', tolerance: FLOAT64_IN_JS.errors },
    { metric: 'randomFeatures.noisy.lossPeakProminence', tolerance: FLOAT64_IN_JS.losses },
    { metric: 'randomFeaturesPeakAtThreshold', tolerance: SAME_VERDICT },
    { metric: 'randomFeaturesPeakSharperWithNoise', tolerance: SAME_VERDICT },
    { metric: 'byWidth.*.testErrorClean', tolerance: FEW_PREDICTIONS_FLIP },
    { metric: 'byWidth.*.testErrorNoisy', tolerance: FEW_PREDICTIONS_FLIP },
    // A difference of two test errors, each of which may move by a few predictions.
    { metric: 'trained.noisy.peakProminence', tolerance: { absolute: 0.02, relative: 0 } },
    { metric: 'trainedPeakSharperWithNoise', tolerance: SAME_VERDICT },
  ],
  findings: {
    // The trained arm evaluates every `evaluateEvery` epochs and records which; the random-features arm has no curves.
    curveAxis: { curve: 'epoch', label: 'epoch' },
    controls: [
      {
        claim: 'random features, noisy labels: trained parameters (features × classes) where test error peaks',
        measure: 'randomFeatures.noisy.peakParameters',
        control: 'thresholdParameters',
        controlLabel: 'samples × classes',
      },
      {
        claim: 'random features, clean labels: trained parameters where test error peaks',
        measure: 'randomFeatures.clean.peakParameters',
        control: 'thresholdParameters',
        controlLabel: 'samples × classes',
      },
      {
        claim: 'random features, noisy labels: test error at the peak',
        measure: 'randomFeatures.noisy.peakTestError',
        control: 'randomFeatures.noisy.largestTestError',
        controlLabel: 'with the most features',
      },
      {
        claim: 'random features, noisy labels: test error at the peak',
        measure: 'randomFeatures.noisy.peakTestError',
        control: 'randomFeatures.noisy.bestSmallerTestError',
        controlLabel: 'at the best feature count below the peak',
      },
      {
        claim: 'random features: prominence of the squared test loss’s peak with label noise',
        measure: 'randomFeatures.noisy.lossPeakProminence',
        control: 'randomFeatures.clean.lossPeakProminence',
        controlLabel: 'with clean labels',
      },
      {
        claim: 'fully trained, noisy labels: parameters where test error peaks',
        measure: 'trained.noisy.peakParameters',
        control: 'samples',
        controlLabel: 'samples',
      },
      {
        claim: 'fully trained, with label noise, test error peaks and falls again (peak prominence)',
        measure: 'trained.noisy.peakProminence',
        control: 'trained.clean.peakProminence',
        controlLabel: 'with clean labels',
      },
      {
        claim: 'fully trained, noisy labels: test error at the peak',
        measure: 'trained.noisy.peakTestError',
        control: 'trained.noisy.largestTestError',
        controlLabel: 'at the widest width',
      },
      {
        claim: 'fully trained, noisy labels: test error at the peak',
        measure: 'trained.noisy.peakTestError',
        control: 'trained.noisy.bestSmallerTestError',
        controlLabel: 'at the best width below the peak',
      },
      {
        claim: 'fully trained, noisy labels: the width of the test-error peak',
        measure: 'trained.noisy.peakSize',
        control: 'trained.noisy.smallestInterpolatingSize',
        controlLabel: 'the narrowest width that fits every noisy label',
      },
    ],
    verdicts: {
      randomFeaturesPeakAtThreshold:
        'random features: test error peaks, clean and noisy, where trained parameters = samples × classes (the sweep’s point nearest), and falls again beyond',
      randomFeaturesPeakSharperWithNoise: 'random features: label noise sharpens the peak of the squared test loss',
      trainedNoisyPeakNearSamples: 'fully trained, noisy labels: test error peaks within 2× of parameters = samples (Nakkiran), below samples × classes',
      trainedNoisyPeakAtInterpolation: 'fully trained, noisy labels: the peak is within 2× of the narrowest width that fits every noisy label',
      trainedPeakSharperWithNoise: 'fully trained: label noise sharpens the test-error peak',
    },
    keyed: {
      table: 'byFeatures',
      keyLabel: 'random features',
      fields: {
        testErrorClean: 'test error, clean',
        testErrorNoisy: 'test error, noisy',
        trainErrorClean: 'train error, clean',
        trainErrorNoisy: 'train error, noisy',
      },
      axis: 'log',
      title: 'Random features fitted by minimum-norm least squares: test and train error vs features (threshold: features = samples)',
    },
    scalars: [
      { label: 'interpolation threshold', fields: { thresholdParameters: 'samples × classes', samples: 'samples' } },
      {
        label: 'random features, noisy peak',
        fields: {
          'randomFeatures.noisy.peakSize': 'features',
          'randomFeatures.noisy.peakParameters': 'trained parameters',
          'randomFeatures.noisy.peakOverThreshold': '÷ samples × classes',
        },
      },
      {
        label: 'fully trained, noisy peak',
        fields: {
          'trained.noisy.peakSize': 'width',
          'trained.noisy.peakParameters': 'parameters',
          'trained.noisy.peakOverThreshold': '÷ samples × classes',
          'trained.noisy.peakOverSamples': '÷ samples',
        },
      },
    ],
  },
  bench: stackedBenchWorkload,
  work: {
    networks: (p) => [
      ...p.featureCounts.flatMap((features) =>
        runs.map((run) => {
          const layers = [p.inputDim, features, p.classes];
          const weights = (p.inputDim + 1) * features + (features + 1) * p.classes;
          return {
            layers,
            // The fit, as the training passes of the same FLOPs (6 per weight and example): its Gram matrix and Cholesky factor.
            trainPasses: Math.ceil(leastSquaresFlops(p.trainSize, features) / (6 * weights)),
            // Features and readout on the training set (for the fit and its error) and on the test set.
            evalPasses: p.trainSize + p.testSize,
            steps: 1,
            stack: featuresStackOf({ features, run }),
          };
        }),
      ),
      ...p.widths.flatMap((width) =>
        runs.map(() => ({
          layers: [p.inputDim, width, p.classes],
          trainPasses: p.trainSize * p.epochs,
          // Train and test sets every `evaluateEvery` epochs, and at the end.
          evalPasses: (p.trainSize + p.testSize) * Math.ceil(p.epochs / p.evaluateEvery),
          steps: epochSteps(p.trainSize, p.batchSize, p.epochs),
          stack: bandStackOf(widthBands(p.widths, p.bandRatio), width),
        })),
      ),
    ],
    // Fitted to the smoke preset and the default sweep on one WASM thread: `npm run bench -- --work-rates`.
    flopsPerSecond: 2.8e10,
    secondsPerStep: 1.5e-3,
  },
  async run(ctx) {
    const p: Params = ctx.params;
    const { tf } = ctx;
    const units = [...gridUnits({ features: p.featureCounts, run: [...runs] }), ...gridUnits({ width: p.widths, run: [...runs] })];
    const shapeOf = (width: number) => ({ inputDim: p.inputDim, hidden: [width], outputDim: p.classes });

    // Data: one task, one training set and one test set for every unit; the noisy run's labels are
    // corrupted once, so every model sees the same training set.
    const dataRng = ctx.rng('data');
    const task = clusterTask(dataRng, p);
    const clean = sampleClusters(dataRng, task, p.trainSize);
    const testSet = sampleClusters(dataRng, task, p.testSize);
    const trainingSets: Record<Run, Dataset> = { clean, noisy: corruptLabels(ctx.rng('label-noise'), clean, p.labelNoise).data };

    // Random features: one draw of the most features; fewer features are its first rows, for both runs alike.
    const featureWeights = randomReluWeights(ctx.rng('random-features'), p.inputDim, Math.max(...p.featureCounts));
    const fitRandomFeatures = (features: number, run: Run): UnitOutput => {
      const train = trainingSets[run];
      const trainFeatures = reluFeatures(train.x, train.size, p.inputDim, featureWeights, features);
      const readout = minimumNormLeastSquares(trainFeatures, train.size, features, oneHot(train), p.classes);
      const testOutputs = randomFeatureOutputs(testSet.x, testSet.size, p.inputDim, featureWeights, features, readout, p.classes);
      const testTargets = oneHot(testSet);
      return {
        metrics: {
          parameters: features * p.classes,
          trainError: 1 - accuracy(predictedClasses(multiply(trainFeatures, readout, train.size, features, p.classes), p.classes), train.y),
          testError: 1 - accuracy(predictedClasses(testOutputs, p.classes), testSet.y),
          // Mean squared error per output, as tfjs's meanSquaredError reduces it.
          testLoss: testOutputs.reduce((sum, output, i) => sum + (output - testTargets[i]!) ** 2, 0) / testOutputs.length,
          readoutNorm: Math.hypot(...readout),
        },
        curves: {},
      };
    };

    // Fully trained networks: widths of one band train in one stack, zero-padded to its widest (padded units stay
    // exactly zero); each random-features fit is a group of its own.
    const bandOf = widthBands(p.widths, p.bandRatio);
    const trainNetworks = async (group: Array<UnitContext<NetworkConfig>>, session: TrainingSession): Promise<UnitOutput[]> => {
      const widest = Math.max(...group.map((unit) => unit.config.width));
      const train = uploadStackedDataset(
        tf,
        group.map((unit) => trainingSets[unit.config.run]),
      );
      const test = uploadStackedDataset(
        tf,
        group.map(() => testSet),
      );

      // Model: one hidden ReLU layer of the unit's width.
      const model = createStackedMlp(
        tf,
        group.map((unit) => unit.rng('init')),
        shapeOf(widest),
        group.map((unit) => [unit.config.width]),
      );

      // Training: Adam, cross-entropy, every epoch to the end (no early stopping, no regularisation);
      // errors every `evaluateEvery` epochs, for the epoch-wise curves (records survive a restart).
      const curves = session.record('curves', () =>
        group.map(() => ({ epoch: [] as number[], trainError: [] as number[], testError: [] as number[], testLoss: [] as number[] })),
      );
      const evaluate = async () => {
        const [trainPredictions, testPredictions, testLosses] = [
          await predictStackedClasses(tf, model, train.x),
          await predictStackedClasses(tf, model, test.x),
          await evaluateStackedLoss(tf, model, test, p.loss),
        ];
        return group.map((_, m) => ({
          trainError: 1 - accuracy(trainPredictions[m]!, train.sources[m]!.y),
          testError: 1 - accuracy(testPredictions[m]!, testSet.y),
          testLoss: testLosses[m]!,
        }));
      };
      try {
        await trainStacked({
          tf,
          model,
          train,
          members: group.map((unit) => ({ learningRate: p.learningRate, shuffle: unit.rng('shuffle') })),
          epochs: p.epochs,
          batchSize: p.batchSize,
          optimizer: 'adam',
          loss: p.loss,
          session,
          onEpoch: async (epoch) => {
            if (epoch % p.evaluateEvery !== 0 && epoch !== p.epochs) return;
            (await evaluate()).forEach((errors, m) => {
              curves[m]!.epoch.push(epoch);
              curves[m]!.trainError.push(errors.trainError);
              curves[m]!.testError.push(errors.testError);
              curves[m]!.testLoss.push(errors.testLoss);
            });
          },
        });
      } finally {
        [model, train, test].forEach((disposable) => disposable.dispose());
      }

      // Metrics, per unit: at the end of training.
      return group.map((unit, m) => ({
        metrics: {
          parameters: parameterCount(shapeOf(unit.config.width)),
          trainError: curves[m]!.trainError.at(-1)!,
          testError: curves[m]!.testError.at(-1)!,
          testLoss: curves[m]!.testLoss.at(-1)!,
        },
        curves: curves[m]!,
      }));
    };
    const { results, stackedGroups } = await stackedSweep<ArmConfig>(
      ctx,
      units,
      (config) => ('features' in config ? featuresStackOf(config) : bandStackOf(bandOf, config.width)),
      async (group, session) =>
        isFeaturesGroup(group)
          ? group.map(({ config }) => fitRandomFeatures(config.features, config.run))
          : trainNetworks(group as Array<UnitContext<NetworkConfig>>, session),
    );

    // Headline: per size, both runs of each arm; per arm and run, the most prominent peak of test error against size.
    const arm = (field: 'features' | 'width', sizes: readonly number[], run: Run) => {
      const metrics = sizes.map((size) => results.find((r) => r.config[field] === size && r.config.run === run)!.metrics);
      const column = (name: string) => metrics.map((m) => m[name] as number);
      return {
        sizes,
        parameters: column('parameters'),
        testErrors: column('testError'),
        trainErrors: column('trainError'),
        testLosses: column('testLoss'),
        metrics,
      };
    };
    const table = (field: 'features' | 'width', sizes: readonly number[], fields: readonly string[]): JsonObject => {
      const byRun = Object.fromEntries(runs.map((run) => [run, arm(field, sizes, run).metrics]));
      return Object.fromEntries(
        sizes.map((size, i) => [
          String(size),
          Object.fromEntries(runs.flatMap((run) => fields.map((name) => [`${name}${suffix(run)}`, byRun[run]![i]![name]!]))),
        ]),
      );
    };
    const peaks = (field: 'features' | 'width', sizes: readonly number[]) =>
      Object.fromEntries(runs.map((run) => [run, peakOf(arm(field, sizes, run), p.trainSize, p.classes)])) as Record<Run, ReturnType<typeof peakOf>>;
    const randomFeatures = peaks('features', p.featureCounts);
    const trained = peaks('width', p.widths);
    const thresholdFeatures = nearestOnLogScale(p.featureCounts, p.trainSize);
    return {
      thresholdParameters: p.trainSize * p.classes,
      samples: p.trainSize,
      byFeatures: table('features', p.featureCounts, ['testError', 'trainError', 'testLoss', 'readoutNorm']),
      byWidth: table('width', p.widths, ['testError', 'trainError', 'testLoss']),
      randomFeatures,
      trained,
      stackedGroups,
      randomFeaturesPeakAtThreshold: runs.every((run) => randomFeatures[run].peakSize === thresholdFeatures),
      randomFeaturesPeakSharperWithNoise: randomFeatures.noisy.lossPeakProminence > randomFeatures.clean.lossPeakProminence,
      trainedNoisyPeakNearSamples: trained.noisy.peakOverSamples !== null && Math.abs(Math.log2(trained.noisy.peakOverSamples)) <= 1,
      // Where the noisy labels are just fitted: the peak within a factor of 2 of the narrowest interpolating width.
      trainedNoisyPeakAtInterpolation:
        trained.noisy.peakSize !== null &&
        trained.noisy.smallestInterpolatingSize !== null &&
        Math.abs(Math.log2(trained.noisy.peakSize / trained.noisy.smallestInterpolatingSize)) <= 1,
      trainedPeakSharperWithNoise: trained.noisy.peakProminence > trained.clean.peakProminence,
    };
  },
});
