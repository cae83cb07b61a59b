/**
 * The critical batch size (McCandlish et al. 2018, "An empirical model of large-batch training"; Shallue
 * et al. 2019, "Measuring the effects of data parallelism on neural network training"). One MLP, from one
 * initialisation, is trained with plain SGD on Gaussian clusters at batch sizes 4 to 512, each with its
 * learning rate tuned on a log grid (a batch size's result is its fastest rate's), until the training
 * loss reaches a target; we record the steps it took. Known result: steps fall in proportion to 1/B up to
 * a critical batch size, then flatten, following S(B) = S_min(1 + B_crit/B) (their eq. 2.11; B_crit =
 * E_min/S_min, from the steps–examples trade-off (S/S_min − 1)(E/E_min − 1) = 1); and the simple gradient
 * noise scale B_simple = tr(Σ)/|G|², measured from minibatch gradient norms at two batch sizes (their
 * Appendix A), predicts B_crit within a small factor. We measure B_simple at the start of training and
 * where the target is reached (it grows as the loss falls). Controls: the perfect-scaling line (steps ∝
 * 1/B from the smallest batch), and noise-free full-batch gradient descent, which needs about S_min steps.
 */
import { defineExperiment, type JsonObject, type Rng } from '@axiom/runner';
import { z } from 'zod';
import { clusterTask, sampleClusters } from './lib/data.js';
import { estimateMemberNoiseScales, type NoiseScaleEstimate } from './lib/noise-scale.js';
import { copyStackedMembers, createStackedMlp, evaluateStackedLoss, trainStacked, type StackedMlp } from './lib/stacked.js';
import { finiteOrNull, gridUnits, repeat, stackedBenchWorkload, stackedSweep, stackingParam } from './lib/sweep.js';
import { SAME_VERDICT } from './lib/tolerances.js';
import { permutationStream, sliceRows, uploadDataset } from './lib/train.js';

// Parameters: the defaults are the real sweep.
const params = z.strictObject({
  batchSizes: z
    .array(z.number().int().min(1))
    .min(3)
    .default([4, 8, 16, 32, 64, 128, 256, 512])
    .describe('minibatch sizes; the full training set is added as the noise-free control'),
  learningRates: z
    .array(z.number().positive())
    .min(1)
    .default([0.03125, 0.0625, 0.125, 0.25, 0.5, 1, 2, 4, 8])
    .describe('plain SGD learning rates tried at every batch size; each batch size keeps its fastest'),
  targetLoss: z.number().positive().default(0.15).describe('training loss (cross-entropy, over `lossSetSize` training examples) to reach'),
  maxSteps: z.number().int().min(1).default(20000).describe('step budget per batch size'),
  maxExamples: z
    .number()
    .int()
    .min(1)
    .default(2 ** 19)
    .describe('budget in examples per batch size: at large batches it bounds the steps more tightly than `maxSteps`'),
  evaluationGrowth: z
    .number()
    .min(1.001)
    .default(1.05)
    .describe('the loss is evaluated at steps 1, 2, … growing by this factor: a resolution of a few percent at any step count'),
  lossSetSize: z.number().int().min(1).default(1024).describe('training examples (the first ones) over which the loss is evaluated'),
  trainSize: z.number().int().min(2).default(4096),
  inputDim: z.number().int().min(2).default(20),
  classes: z.number().int().min(2).default(10),
  clustersPerClass: z.number().int().min(1).default(2),
  separation: z.number().positive().default(1).describe('spread of cluster centres relative to unit point noise'),
  hidden: z.array(z.number().int().min(1)).min(1).default([64, 64]),
  noiseScaleBatchSizes: z
    .tuple([z.number().int().min(1), z.number().int().min(2)])
    .default([16, 1024])
    .describe('the small and big batch sizes of the noise-scale estimate'),
  noiseScaleDraws: z.number().int().min(1).default(32).describe('minibatch gradients drawn at each of the two sizes, per estimate'),
  stacking: stackingParam,
});
type Params = z.infer<typeof params>;

/** One stack per batch size: its learning rates train together. */
const stackOf = ({ batchSize }: { batchSize: number }) => `batch=${batchSize}`;

/** A batch size's step budget. */
export const stepBudget = (p: Pick<Params, 'maxSteps' | 'maxExamples'>, batchSize: number) => Math.min(p.maxSteps, Math.ceil(p.maxExamples / batchSize));

/** Steps 1, 2, … up to `maxSteps`, each at least `growth` times the last (rounded up): when the loss is evaluated. */
export function evaluationSteps(maxSteps: number, growth: number): number[] {
  const steps: number[] = [];
  for (let step = 1; step < maxSteps; step = Math.max(step + 1, Math.ceil(step * growth))) steps.push(step);
  return [...steps, maxSteps];
}

/**
 * Where a loss curve first reaches `target`, interpolated linearly between the evaluation before and the
 * one at the crossing; null if it never does. `points` are [step, loss] pairs in step order, from step 0.
 */
export function stepsToTarget(points: ReadonlyArray<readonly [number, number]>, target: number): number | null {
  for (let i = 0; i < points.length; i++) {
    const [step, loss] = points[i]!;
    if (loss > target) continue;
    if (i === 0) return step;
    const [previousStep, previousLoss] = points[i - 1]!;
    return previousStep + ((step - previousStep) * (previousLoss - target)) / (previousLoss - loss);
  }
  return null;
}

/** McCandlish et al.'s steps–batch relation S(B) = S_min(1 + B_crit/B), fitted to measured (B, S). */
export type TradeoffFit = {
  minSteps: number;
  criticalBatchSize: number;
  /** E_min = S_min·B_crit: the fewest examples that reach the target (at small batches). */
  minExamples: number;
  /** RMS of log(S) residuals. */
  rmsLogError: number;
};

/**
 * Least squares in log S (each batch size counts alike, whatever its step count): for each B_crit on a
 * fine log grid the best S_min is closed-form, and the best pair wins. Null for fewer than two points.
 */
export function fitStepsTradeoff(points: ReadonlyArray<readonly [number, number]>): TradeoffFit | null {
  if (points.length < 2) return null;
  const batches = points.map(([batch]) => batch);
  const [lowest, highest] = [Math.min(...batches) / 100, Math.max(...batches) * 100];
  const gridSize = 2000;
  let best: TradeoffFit | null = null;
  for (let i = 0; i <= gridSize; i++) {
    const criticalBatchSize = lowest * (highest / lowest) ** (i / gridSize);
    const shape = points.map(([batch, steps]) => Math.log(steps) - Math.log(1 + criticalBatchSize / batch));
    const logMinSteps = shape.reduce((a, b) => a + b, 0) / shape.length;
    const rmsLogError = Math.sqrt(shape.reduce((sum, value) => sum + (value - logMinSteps) ** 2, 0) / shape.length);
    if (!best || rmsLogError < best.rmsLogError) {
      const minSteps = Math.exp(logMinSteps);
      best = { minSteps, criticalBatchSize, minExamples: minSteps * criticalBatchSize, rmsLogError };
    }
  }
  return best;
}

/** Geometric mean of the positive numbers among `values`; null if there are none. */
function geometricMean(values: ReadonlyArray<number | null>): number | null {
  const positive = values.filter((value): value is number => value !== null && value > 0);
  return positive.length ? Math.exp(positive.reduce((sum, value) => sum + Math.log(value), 0) / positive.length) : null;
}

/** What each (batch size, learning rate) unit records, and the headline reads back. */
interface UnitMetrics {
  stepsToTarget: number | null;
  reachedFirst: boolean;
  simpleNoiseScaleAtTarget: number | null;
}

export default defineExperiment({
  name: 'critical-batch-size',
  version: '1.0.0',
  description: 'Steps to a target loss vs batch size: perfect scaling up to a critical batch size, then flat; does the gradient noise scale predict it?',
  params,
  presets: {
    smoke: {
      batchSizes: [4, 16, 64, 256],
      learningRates: [0.0625, 0.25, 1, 4],
      targetLoss: 0.5,
      maxSteps: 2000,
      maxExamples: 2 ** 15,
      trainSize: 1024,
      lossSetSize: 512,
      noiseScaleBatchSizes: [8, 256],
      noiseScaleDraws: 16,
    },
  },
  // Cross-backend tolerances, measured: WASM (1 thread) vs the plain JS backend, smoke preset, seeds 1–3: steps,
  // fit and noise scales within 2.1e-6 relative, the fastest learning rates and verdicts identical. Set for the
  // real sweep's 1000s of SGD steps at small batches, where float rounding moves the loss curves slightly and
  // a near-tie between two learning rates may go the other way (a few percent in steps, more in the fit).
  headline: [
    { metric: 'byBatchSize.*.stepsToTarget', tolerance: { absolute: 0, relative: 0.05 } },
    { metric: 'criticalBatchSize', tolerance: { absolute: 0, relative: 0.1 } },
    { metric: 'minSteps', tolerance: { absolute: 0, relative: 0.1 } },
    { metric: 'simpleNoiseScaleAtInit', tolerance: { absolute: 0, relative: 1e-3 } },
    { metric: 'simpleNoiseScaleAtTarget', tolerance: { absolute: 0, relative: 0.1 } },
    { metric: 'perfectScalingBreaksDown', tolerance: SAME_VERDICT },
    { metric: 'criticalBatchInsideSweep', tolerance: SAME_VERDICT },
  ],
  findings: {
    controls: [
      {
        claim: 'steps to the target loss at the largest minibatch',
        measure: 'largestBatch.stepsToTarget',
        control: 'largestBatch.perfectScalingSteps',
        controlLabel: 'on the perfect-scaling line (steps ∝ 1/B from the smallest batch)',
      },
      {
        claim: 'fewest steps S_min of the fitted S(B) = S_min(1 + B_crit/B)',
        measure: 'minSteps',
        control: 'fullBatchSteps',
        controlLabel: 'with noise-free full-batch gradients',
      },
      {
        claim: 'critical batch size B_crit = E_min/S_min',
        measure: 'criticalBatchSize',
        control: 'simpleNoiseScaleAtTarget',
        controlLabel: 'gradient noise scale B_simple where the target is reached',
      },
      {
        claim: 'critical batch size B_crit = E_min/S_min',
        measure: 'criticalBatchSize',
        control: 'simpleNoiseScaleAtInit',
        controlLabel: 'gradient noise scale B_simple at the start of training',
      },
    ],
    keyed: {
      table: 'byBatchSize',
      keyLabel: 'batch size',
      fields: {
        stepsToTarget: 'steps to target',
        fittedSteps: 'S_min(1 + B_crit/B)',
        perfectScalingSteps: 'perfect scaling',
        bestLearningRate: 'best learning rate',
      },
      axis: 'log',
      title: 'Steps to the target loss vs batch size',
    },
    scalars: [
      { label: 'fit', fields: { criticalBatchSize: 'B_crit', minSteps: 'S_min', fitRmsLogError: 'RMS log error' } },
      { label: 'noise scale', fields: { simpleNoiseScaleAtInit: 'B_simple at init', simpleNoiseScaleAtTarget: 'B_simple at the target' } },
      { label: 'B_simple / B_crit', fields: { noiseScaleAtInitOverCritical: 'at init', noiseScaleAtTargetOverCritical: 'at the target' } },
    ],
  },
  bench: stackedBenchWorkload,
  // Rates on one WASM thread, fitted to the smoke preset and the default sweep: `npm run bench -- --work-rates`.
  work: {
    networks: (p) =>
      [...p.batchSizes, p.trainSize].flatMap((batchSize) =>
        repeat(p.learningRates.length, {
          layers: [p.inputDim, ...p.hidden, p.classes],
          trainPasses: stepBudget(p, batchSize) * batchSize,
          evalPasses: evaluationSteps(stepBudget(p, batchSize), p.evaluationGrowth).length * p.lossSetSize,
          steps: stepBudget(p, batchSize),
          stack: stackOf({ batchSize }),
        }),
      ),
    flopsPerSecond: 2.8e10,
    secondsPerStep: 0,
    // A stack stops once any member (learning rate) reaches the target: its members' steps depend on one another.
    keepStacksWhole: true,
  },
  async run(ctx) {
    const p: Params = ctx.params;
    const { tf } = ctx;
    const fullBatch = p.trainSize;
    const units = gridUnits({ batchSize: [...p.batchSizes, fullBatch], learningRate: p.learningRates });

    // Data: one task and training set; the loss is tracked on its first `lossSetSize` examples.
    const dataRng = ctx.rng('data');
    const task = clusterTask(dataRng, p);
    const train = uploadDataset(tf, sampleClusters(dataRng, task, p.trainSize));
    const lossSetSize = Math.min(p.lossSetSize, p.trainSize);
    const lossSet = { x: sliceRows(tf, train.x, 0, lossSetSize), targets: sliceRows(tf, train.targets, 0, lossSetSize) };
    const allRows = Int32Array.from({ length: p.trainSize }, (_, i) => i);

    // Model: a ReLU MLP; every run starts from the same initialisation.
    const shape = { inputDim: p.inputDim, hidden: p.hidden, outputDim: p.classes };
    const initialModel = () => createStackedMlp(tf, [ctx.rng('init')], shape);
    const noiseScaleOptions = { smallBatch: p.noiseScaleBatchSizes[0], bigBatch: p.noiseScaleBatchSizes[1], draws: p.noiseScaleDraws };
    const noiseScaleOf = async (model: StackedMlp, rng: Rng): Promise<NoiseScaleEstimate> => {
      const [estimate] = await estimateMemberNoiseScales(tf, model, train, 'cross-entropy', rng, noiseScaleOptions);
      model.dispose();
      return estimate!;
    };

    // Metrics at the start of training: the gradient noise scale.
    const atInit = await noiseScaleOf(initialModel(), ctx.rng('noise-scale-at-init'));

    // Training: one stack per batch size, one member per learning rate; the loss is evaluated on a
    // geometric schedule of steps, and the stack stops once any member reaches the target (the batch
    // size's steps are its fastest rate's) or every member has diverged.
    const { results, stackedGroups } = await stackedSweep(ctx, units, stackOf, async (group, session) => {
      const batchSize = group[0]!.config.batchSize;
      const schedule = evaluationSteps(stepBudget(p, batchSize), p.evaluationGrowth);
      const model = createStackedMlp(
        tf,
        group.map(() => ctx.rng('init')),
        shape,
      );
      const search = session.record('search', () => ({
        losses: group.map(() => [] as Array<number | null>),
        winner: -1,
        noiseScaleAtTarget: null as number | null,
      }));
      try {
        const [initialLoss] = await evaluateStackedLoss(tf, model, lossSet, 'cross-entropy');
        // Round r trains from schedule[r − 2] (or 0) to schedule[r − 1] steps; every learning rate sees the same batches.
        const rounds = (round: number) => schedule[round - 1]! - (schedule[round - 2] ?? 0);
        const members = group.map((unit) => {
          const nextBatch = permutationStream(ctx.rng('batch', batchSize, 'order'), allRows, batchSize);
          const shuffle = (round: number) => {
            const visits = new Int32Array(rounds(round) * batchSize);
            for (let step = 0; step < rounds(round); step++) visits.set(nextBatch(), step * batchSize);
            return visits;
          };
          return { learningRate: unit.config.learningRate, shuffle };
        });
        const curve = (m: number) => [[0, initialLoss!] as const, ...search.losses[m]!.map((loss, i) => [schedule[i]!, loss ?? Infinity] as const)];
        await trainStacked({
          tf,
          model,
          train,
          members,
          epochs: schedule.length,
          batchSize,
          optimizer: 'sgd',
          session,
          onEpoch: async (_round, training) => {
            const losses = await evaluateStackedLoss(tf, model, lossSet, 'cross-entropy');
            group.forEach((_, m) => training[m] && search.losses[m]!.push(finiteOrNull(losses[m]!)));
            const reached = group.flatMap((_, m) => (training[m] && losses[m]! <= p.targetLoss ? [m] : []));
            if (reached.length > 0) {
              const steps = (m: number) => stepsToTarget(curve(m), p.targetLoss)!;
              search.winner = reached.reduce((best, m) => (steps(m) < steps(best) ? m : best));
              // Metrics where the target is reached: the winner's gradient noise scale.
              const estimate = await noiseScaleOf(copyStackedMembers(tf, model, [search.winner]), ctx.rng('batch', batchSize, 'noise-scale-at-target'));
              search.noiseScaleAtTarget = estimate.simpleNoiseScale;
              return group.map(() => 'stop' as const);
            }
            return group.map((_, m) => (Number.isFinite(losses[m]!) ? undefined : 'stop'));
          },
        });
        return group.map((_, m) => ({
          metrics: {
            stepsToTarget: stepsToTarget(curve(m), p.targetLoss),
            reachedFirst: m === search.winner,
            simpleNoiseScaleAtTarget: m === search.winner ? search.noiseScaleAtTarget : null,
            stepsTrained: schedule[search.losses[m]!.length - 1] ?? 0,
          },
          curves: { trainLoss: search.losses[m]!, trainLossAtStep: schedule.slice(0, search.losses[m]!.length) },
        }));
      } finally {
        model.dispose();
      }
    });
    [train, lossSet.x, lossSet.targets].forEach((disposable) => disposable.dispose());

    // Headline: per batch size its fastest learning rate's steps; the fit over the minibatch sizes.
    const fastest = (batchSize: number) => {
      const atBatch = results.filter((r) => r.config.batchSize === batchSize);
      const winner = atBatch.find((r) => (r.metrics as unknown as UnitMetrics).reachedFirst);
      return winner ? { ...(winner.metrics as unknown as UnitMetrics), learningRate: winner.config.learningRate as number } : null;
    };
    const smallest = Math.min(...p.batchSizes);
    const largest = Math.max(...p.batchSizes);
    const smallestSteps = fastest(smallest)?.stepsToTarget ?? null;
    const points = p.batchSizes.flatMap((batchSize) => {
      const steps = fastest(batchSize)?.stepsToTarget;
      return typeof steps === 'number' ? [[batchSize, steps] as const] : [];
    });
    const fit = fitStepsTradeoff(points);
    const perfectScaling = (batchSize: number) => (smallestSteps === null ? null : (smallestSteps * smallest) / batchSize);
    const byBatchSize: JsonObject = {};
    for (const batchSize of [...p.batchSizes, fullBatch]) {
      const winner = fastest(batchSize);
      byBatchSize[String(batchSize)] = {
        stepsToTarget: winner?.stepsToTarget ?? null,
        examplesToTarget: winner?.stepsToTarget != null ? winner.stepsToTarget * batchSize : null,
        bestLearningRate: winner?.learningRate ?? null,
        perfectScalingSteps: perfectScaling(batchSize),
        fittedSteps: fit ? fit.minSteps * (1 + fit.criticalBatchSize / batchSize) : null,
        simpleNoiseScaleAtTarget: winner?.simpleNoiseScaleAtTarget ?? null,
      };
    }
    // B_simple where the target is reached: each batch size's fastest run measures it; their geometric mean.
    const simpleNoiseScaleAtTarget = geometricMean(p.batchSizes.map((batchSize) => fastest(batchSize)?.simpleNoiseScaleAtTarget ?? null));
    const simpleNoiseScaleAtInit = atInit.simpleNoiseScale;
    const criticalBatchSize = fit?.criticalBatchSize ?? null;
    const largestBatch = { batchSize: largest, stepsToTarget: fastest(largest)?.stepsToTarget ?? null, perfectScalingSteps: perfectScaling(largest) };
    return {
      byBatchSize,
      stackedGroups,
      fit,
      criticalBatchSize,
      minSteps: fit?.minSteps ?? null,
      fitRmsLogError: fit?.rmsLogError ?? null,
      fullBatchSteps: fastest(fullBatch)?.stepsToTarget ?? null,
      largestBatch,
      noiseScaleAtInit: atInit,
      simpleNoiseScaleAtInit,
      simpleNoiseScaleAtTarget,
      noiseScaleAtTargetOverCritical: simpleNoiseScaleAtTarget !== null && criticalBatchSize !== null ? simpleNoiseScaleAtTarget / criticalBatchSize : null,
      noiseScaleAtInitOverCritical: simpleNoiseScaleAtInit !== null && criticalBatchSize !== null ? simpleNoiseScaleAtInit / criticalBatchSize : null,
      // Verdicts: large batches need far more steps than perfect scaling, and the knee lies inside the sweep.
      perfectScalingBreaksDown:
        largestBatch.stepsToTarget !== null && largestBatch.perfectScalingSteps !== null && largestBatch.stepsToTarget > 2 * largestBatch.perfectScalingSteps,
      criticalBatchInsideSweep: criticalBatchSize !== null && criticalBatchSize > smallest && criticalBatchSize < largest,
    };
  },
});
