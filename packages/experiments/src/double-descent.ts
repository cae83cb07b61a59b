/**
 * Model-wise double descent (Belkin et al. 2019, "Reconciling modern machine-learning practice and the
 * classical bias–variance trade-off"; Nakkiran et al. 2019, "Deep double descent"). One-hidden-layer ReLU
 * networks of widths on a log scale learn one small fixed training set, trained with Adam and cross-entropy,
 * without early stopping or regularisation, long enough to interpolate it where they can; once on clean
 * labels and once with label noise (a fraction of training labels replaced by a uniformly random wrong
 * class, Nakkiran's convention). Known result: test error falls, then rises to a peak at the interpolation
 * threshold, the size at which the network can just fit the training set (parameters ≈ samples × classes
 * for Belkin's squared loss; Nakkiran's "effective model complexity" ≈ samples), then falls again as the
 * network grows; label noise makes the peak sharper. We record where the peak is against samples × classes
 * and against the narrowest width that fits every noisy label. The controls: the best narrower width and
 * the widest width, against which the peak stands out, and the clean-label run, whose peak is small or absent.
 */
import { defineExperiment, type JsonObject, type UnitResult } from '@axiom/runner';
import { z } from 'zod';
import { clusterTask, corruptLabels, sampleClusters } from './lib/data.js';
import { parameterCount } from './lib/mlp.js';
import { createStackedMlp, evaluateStackedLoss, predictStackedClasses, trainStacked, uploadStackedDataset } from './lib/stacked.js';
import { epochSteps, gridUnits, stackedBenchWorkload, stackedSweep, stackingParam } from './lib/sweep.js';
import { FEW_PREDICTIONS_FLIP, SAME_VERDICT } from './lib/tolerances.js';
import { accuracy } from './lib/train.js';

// Parameters: the defaults are the real sweep.
const params = z.strictObject({
  widths: z
    .array(z.number().int().min(1))
    .min(3)
    .default([2, 3, 4, 6, 8, 11, 16, 23, 32, 45, 64, 128, 256])
    .describe('hidden widths, narrowest first, on a log scale across the interpolation threshold'),
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
  epochs: z.number().int().min(1).default(1000).describe('long enough that networks past the threshold fit every training label'),
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

/** A band's widths train in one stack, zero-padded to its widest. */
const stackOf = (bandOf: Map<number, number>, width: number) => `band=${bandOf.get(width)}`;

export default defineExperiment({
  name: 'double-descent',
  version: '1.0.0',
  description: 'Width swept across the interpolation threshold: does test error peak there and fall again, more sharply with label noise?',
  params,
  presets: {
    smoke: { widths: [4, 11, 128], testSize: 1000, epochs: 300, learningRate: 0.01 },
  },
  // Cross-backend tolerances, measured: WASM (1 thread) vs the plain JS backend, smoke preset, seeds 1–3: test errors
  // within 0.001 (one test prediction in 1000, the widest network's on noisy labels), the noisy peak's prominence
  // within 0.001, verdicts equal. Set for the real sweep's longer training, where a few more predictions may flip.
  headline: [
    { metric: 'byWidth.*.testErrorClean', tolerance: FEW_PREDICTIONS_FLIP },
    { metric: 'byWidth.*.testErrorNoisy', tolerance: FEW_PREDICTIONS_FLIP },
    // A difference of two test errors, each of which may move by a few predictions.
    { metric: 'noisy.peakProminence', tolerance: { absolute: 0.02, relative: 0 } },
    { metric: 'peakSharperWithNoise', tolerance: SAME_VERDICT },
  ],
  findings: {
    controls: [
      {
        claim: 'with label noise, test error peaks and falls again (peak prominence)',
        measure: 'noisy.peakProminence',
        control: 'clean.peakProminence',
        controlLabel: 'with clean labels',
      },
      {
        claim: 'with label noise, test error at the peak',
        measure: 'noisy.peakTestError',
        control: 'noisy.widestTestError',
        controlLabel: 'at the widest width',
      },
      {
        claim: 'with label noise, test error at the peak',
        measure: 'noisy.peakTestError',
        control: 'noisy.bestNarrowTestError',
        controlLabel: 'at the best width below the peak',
      },
      {
        claim: 'with label noise, the width of the test-error peak',
        measure: 'noisy.peakWidth',
        control: 'noisy.narrowestInterpolatingWidth',
        controlLabel: 'the narrowest width that fits every noisy label',
      },
    ],
    keyed: {
      table: 'byWidth',
      keyLabel: 'width',
      fields: {
        testErrorClean: 'test error, clean',
        testErrorNoisy: 'test error, noisy',
        trainErrorClean: 'train error, clean',
        trainErrorNoisy: 'train error, noisy',
        testLossClean: 'test loss, clean',
        testLossNoisy: 'test loss, noisy',
      },
      axis: 'log',
      title: 'Test and train error vs hidden width, clean and noisy labels',
    },
    scalars: [
      { label: 'interpolation threshold', fields: { thresholdParameters: 'samples × classes' } },
      {
        label: 'noisy peak',
        fields: {
          noisyPeakWidth: 'width',
          noisyPeakParameters: 'parameters',
          noisyPeakOverThreshold: '÷ samples × classes',
          noisyPeakOverSamples: '÷ samples',
        },
      },
    ],
  },
  bench: stackedBenchWorkload,
  work: {
    networks: (p) =>
      p.widths.flatMap((width) =>
        runs.map(() => ({
          layers: [p.inputDim, width, p.classes],
          trainPasses: p.trainSize * p.epochs,
          // Train and test sets every `evaluateEvery` epochs, and at the end.
          evalPasses: (p.trainSize + p.testSize) * Math.ceil(p.epochs / p.evaluateEvery),
          steps: epochSteps(p.trainSize, p.batchSize, p.epochs),
          stack: stackOf(widthBands(p.widths, p.bandRatio), width),
        })),
      ),
    // Fitted to the smoke preset and the default sweep on one WASM thread: `npm run bench -- --work-rates`.
    flopsPerSecond: 2.8e10,
    secondsPerStep: 1.5e-3,
  },
  async run(ctx) {
    const p: Params = ctx.params;
    const { tf } = ctx;
    const units = gridUnits({ width: p.widths, run: [...runs] });
    const shapeOf = (width: number) => ({ inputDim: p.inputDim, hidden: [width], outputDim: p.classes });

    // Data: one task, one training set and one test set for every unit; the noisy run's labels are
    // corrupted once, so every width sees the same training set.
    const dataRng = ctx.rng('data');
    const task = clusterTask(dataRng, p);
    const clean = sampleClusters(dataRng, task, p.trainSize);
    const testSet = sampleClusters(dataRng, task, p.testSize);
    const trainingSets: Record<Run, typeof clean> = { clean, noisy: corruptLabels(ctx.rng('label-noise'), clean, p.labelNoise).data };

    // Widths of one band train in one stack, zero-padded to its widest (padded units stay exactly zero).
    const bandOf = widthBands(p.widths, p.bandRatio);
    const { results, stackedGroups } = await stackedSweep(
      ctx,
      units,
      ({ width }) => stackOf(bandOf, width),
      async (group, session) => {
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
      },
    );

    // Headline: per width, both runs; per run, the most prominent peak of test error against width.
    const at = (run: Run, width: number): UnitResult => results.find((r) => r.config.run === run && r.config.width === width)!;
    const suffix = (run: Run) => (run === 'clean' ? 'Clean' : 'Noisy');
    const byWidth: JsonObject = Object.fromEntries(
      p.widths.map((width) => [
        String(width),
        Object.fromEntries(
          runs.flatMap((run) => {
            const { metrics } = at(run, width);
            return [
              [`testError${suffix(run)}`, metrics.testError!],
              [`trainError${suffix(run)}`, metrics.trainError!],
              [`testLoss${suffix(run)}`, metrics.testLoss!],
            ];
          }),
        ),
      ]),
    );
    const thresholdParameters = p.trainSize * p.classes;
    const peakOf = (run: Run) => {
      const testErrors = p.widths.map((width) => at(run, width).metrics.testError as number);
      const trainErrors = p.widths.map((width) => at(run, width).metrics.trainError as number);
      const peak = mostProminentPeak(testErrors);
      const interpolating = p.widths.find((_, i) => trainErrors[i] === 0) ?? null;
      const peakWidth = peak ? p.widths[peak.index]! : null;
      const peakParameters = peakWidth === null ? null : parameterCount(shapeOf(peakWidth));
      return {
        peakWidth,
        peakParameters,
        peakOverThreshold: peakParameters === null ? null : peakParameters / thresholdParameters,
        peakOverSamples: peakParameters === null ? null : peakParameters / p.trainSize,
        peakTestError: peak ? testErrors[peak.index]! : null,
        peakProminence: peak?.prominence ?? 0,
        bestNarrowTestError: peak ? Math.min(...testErrors.slice(0, peak.index)) : null,
        widestTestError: testErrors.at(-1)!,
        // The empirical threshold: the narrowest width that fits every training label.
        narrowestInterpolatingWidth: interpolating,
      };
    };
    const [cleanPeak, noisyPeak] = [peakOf('clean'), peakOf('noisy')];
    return {
      byWidth,
      clean: cleanPeak,
      noisy: noisyPeak,
      thresholdParameters,
      noisyPeakWidth: noisyPeak.peakWidth,
      noisyPeakParameters: noisyPeak.peakParameters,
      noisyPeakOverThreshold: noisyPeak.peakOverThreshold,
      noisyPeakOverSamples: noisyPeak.peakOverSamples,
      stackedGroups,
      peakSharperWithNoise: noisyPeak.peakProminence > cleanPeak.peakProminence,
      // Where the noisy labels are just fitted: the peak within a factor of 2 of the narrowest interpolating width.
      noisyPeakAtInterpolation:
        noisyPeak.peakWidth !== null &&
        noisyPeak.narrowestInterpolatingWidth !== null &&
        Math.abs(Math.log2(noisyPeak.peakWidth / noisyPeak.narrowestInterpolatingWidth)) <= 1,
    };
  },
});
