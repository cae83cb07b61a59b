/**
 * Mode connectivity (Garipov et al. 2018, "Loss surfaces, mode connectivity, and fast ensembling of DNNs";
 * Draxler et al. 2018, "Essentially no barriers in neural network energy landscape"; Entezari et al. 2022
 * and Frankle et al. 2020 on barriers shrinking with width). Two networks of one width are trained on the
 * same data from different seeds. Along the straight line between their weights the training loss rises
 * (a barrier); a quadratic Bézier curve θ(t) = (1−t)²θ₁ + 2t(1−t)θ_c + t²θ₂ whose middle point θ_c is
 * trained (t drawn uniformly for every batch) joins them with almost none. We record the training loss and
 * test accuracy at evenly spaced t on both paths and their barrier heights, by width. Control: the straight
 * line between the same two networks. Known result: the curve's barrier is near zero, the line's is not,
 * and the line's shrinks as the networks widen.
 */
import { defineExperiment, snapshotSchema, stackedDense, stackedWeightedSum, type Rng, type Tf, type TrainingSession } from '@axiom/runner';
import type { Tensor, Tensor2D, Tensor3D, Variable } from '@tensorflow/tfjs-core';
import { mean } from 'simple-statistics';
import { z } from 'zod';
import { clusterTask, sampleClusters } from './lib/data.js';
import { assignValues, createOptimizer, readValues } from './lib/optimizer.js';
import { sessionPart } from './lib/session.js';
import { createStackedMlp, memberLosses, trainStacked } from './lib/stacked.js';
import { epochSteps, gridUnits, metricsWhere, repeat, stackByWidth, stackedBenchWorkload, stackedSweep, stackingParam } from './lib/sweep.js';
import { FEW_PREDICTIONS_FLIP, SAME_VERDICT } from './lib/tolerances.js';
import { accuracy, runEpochs, uploadDataset, type DeviceDataset } from './lib/train.js';

// Parameters: the defaults are the real sweep.
const params = z.strictObject({
  widths: z.array(z.number().int().min(1)).min(1).default([16, 64, 256]),
  pairs: z.number().int().min(1).default(2).describe('pairs of independently trained networks per width, each joined by a line and a curve'),
  trainSize: z.number().int().min(10).default(2000),
  testSize: z.number().int().min(10).default(1000),
  inputDim: z.number().int().min(2).default(20),
  classes: z.number().int().min(2).default(10),
  clustersPerClass: z.number().int().min(1).default(2),
  separation: z.number().positive().default(0.8).describe('spread of cluster centres relative to unit point noise'),
  depth: z.number().int().min(1).default(2).describe('hidden layers, each `width` wide'),
  epochs: z.number().int().min(1).default(30).describe('epochs training each end point'),
  curveEpochs: z.number().int().min(1).default(30).describe("epochs training each curve's middle point"),
  batchSize: z.number().int().min(1).default(64),
  learningRate: z.number().positive().default(0.003).describe('Adam, for the end points and the curves'),
  pathPoints: z.number().int().min(3).default(11).describe('evenly spaced values of t in [0, 1] at which both paths are evaluated'),
  stacking: stackingParam,
});
type Params = z.infer<typeof params>;

/** Evenly spaced points of [0, 1], both ends included. */
export function pathPositions(points: number): number[] {
  return Array.from({ length: points }, (_, i) => i / (points - 1));
}

/**
 * The barrier of a loss profile along a path from t = 0 to t = 1: the largest excess of the loss over the
 * straight interpolation of the two end losses, max_t [L(t) − ((1−t)·L(0) + t·L(1))] (Frankle et al. 2020;
 * Entezari et al. 2022). Zero when the loss never rises above that chord.
 */
export function barrierHeight(positions: readonly number[], losses: readonly number[]): number {
  const [start, end] = [losses[0]!, losses.at(-1)!];
  return Math.max(...losses.map((loss, i) => loss - ((1 - positions[i]!) * start + positions[i]! * end)));
}

/** The quadratic Bézier curve's weights at `t` ([M, 1, 1], one per member): (1−t)², 2t(1−t) and t², for θ₁, θ_c and θ₂. */
function bezierWeights(tf: Tf, t: Tensor3D): [Tensor3D, Tensor3D, Tensor3D] {
  const rest = tf.sub<Tensor3D>(1, t);
  return [tf.square(rest), tf.mul<Tensor3D>(2, tf.mul(t, rest)), tf.square(t)];
}

/** The network at weights `weights` of the curve θ(t) = (1−t)²θ₁ + 2t(1−t)θ_c + t²θ₂: every layer's parameters, [M, …] each. */
function bezier(starts: readonly Tensor[], middle: readonly Tensor[], ends: readonly Tensor[], weights: [Tensor3D, Tensor3D, Tensor3D]): Tensor[] {
  return middle.map((point, i) => stackedWeightedSum([starts[i]!, point, ends[i]!], weights));
}

/** Logits of stacked networks given as every layer's weights [M, in, out] then biases [M, 1, out], inputs first (ReLU hidden layers). */
function stackedLogits(parameters: readonly Tensor[], x: Tensor2D | Tensor3D): Tensor3D {
  let activation: Tensor2D | Tensor3D = x;
  for (let layer = 0; layer < parameters.length / 2; layer++) {
    const last = 2 * layer + 2 === parameters.length;
    activation = stackedDense(activation, parameters[2 * layer] as Tensor3D, parameters[2 * layer + 1] as Tensor3D, last ? 'linear' : 'relu');
  }
  return activation as Tensor3D;
}

/** A network's training loss and test accuracy. */
interface Evaluation {
  trainLoss: number;
  testAccuracy: number;
}

/** Every member's training loss and test accuracy for the networks `parameters` ([M, …] each), disposed after. */
async function evaluateNetworks(tf: Tf, parameters: readonly Tensor[], train: DeviceDataset, test: DeviceDataset): Promise<Evaluation[]> {
  const members = parameters[0]!.shape[0];
  const [losses, predicted] = tf.tidy((): [Tensor, Tensor] => [
    memberLosses(tf, 'cross-entropy', train.targets, stackedLogits(parameters, train.x)),
    tf.argMax(stackedLogits(parameters, test.x), 2),
  ]);
  try {
    const [lossValues, predictions] = [await losses.data(), await predicted.data()];
    return Array.from({ length: members }, (_, m) => ({
      trainLoss: lossValues[m]!,
      testAccuracy: accuracy(predictions.subarray(m * test.source.size, (m + 1) * test.source.size), test.source.y),
    }));
  } finally {
    [losses, predicted, ...parameters].forEach((tensor) => tensor.dispose());
  }
}

const savedCurveSchema = z.strictObject({ middle: z.array(z.instanceof(Float32Array)), optimizer: snapshotSchema });

/**
 * Trains each curve's middle point through the shared loop (so a restart resumes inside it): every batch,
 * each curve draws its own t uniformly in [0, 1) and takes a step on the loss of the network at θ(t).
 */
async function trainCurves(options: {
  tf: Tf;
  starts: readonly Tensor[];
  ends: readonly Tensor[];
  middle: Variable[];
  train: DeviceDataset;
  shuffles: readonly Rng[];
  positions: readonly Rng[];
  p: Params;
  session: TrainingSession;
}): Promise<void> {
  const { tf, starts, ends, middle, train, shuffles, positions, p, session } = options;
  const optimizer = createOptimizer(tf, 'adam', middle);
  const negatedRate = tf.scalar(-p.learningRate);
  const curves = middle[0]!.shape[0];
  try {
    await runEpochs(
      { tf, epochs: p.curveEpochs, batchSize: p.batchSize, optimizer: 'adam', session },
      {
        order: () => {
          const flat = new Int32Array(curves * p.trainSize);
          shuffles.forEach((shuffle, m) => flat.set(shuffle.permutation(p.trainSize), m * p.trainSize));
          return tf.tensor2d(flat, [curves, p.trainSize], 'int32');
        },
        step: (indices) => {
          const t = tf.tensor3d(
            positions.map((rng) => rng.next()),
            [curves, 1, 1],
          );
          // Shared data gathered with [M, B] indices: each curve's own batch, [M, B, k].
          const [xs, ys] = [train.x, train.targets].map((data): Tensor => tf.gather(data, indices)) as [Tensor3D, Tensor3D];
          // The curve's weights at t do not depend on the middle point: computed once, off the gradient tape.
          const weights = bezierWeights(tf, t);
          const { grads } = tf.variableGrads(
            () => tf.sum(memberLosses(tf, 'cross-entropy', ys, stackedLogits(bezier(starts, middle, ends, weights), xs))),
            middle,
          );
          optimizer.apply(
            middle.map((point) => grads[point.name]!),
            negatedRate,
          );
        },
        endEpoch: () => Promise.resolve(false),
        save: async () => ({ middle: await Promise.all(middle.map(readValues)), optimizer: await optimizer.save() }),
        restore: (saved) => {
          const state = savedCurveSchema.parse(saved);
          middle.forEach((point, i) => assignValues(tf, point, state.middle[i] ?? null));
          optimizer.restore(state.optimizer);
        },
      },
    );
  } finally {
    optimizer.dispose();
    negatedRate.dispose();
  }
}

export default defineExperiment({
  name: 'mode-connectivity',
  version: '1.0.0',
  description: 'Two networks from different seeds: a loss barrier on the straight line between them, almost none on a trained curve?',
  params,
  presets: {
    smoke: { widths: [16, 64], pairs: 1, trainSize: 500, testSize: 300, epochs: 15, curveEpochs: 20, pathPoints: 5 },
  },
  // Cross-backend tolerances, measured: WASM (1 thread) vs the plain JS backend, smoke preset, seeds 1–3:
  // barriers within 1.3e-6, accuracies and verdicts identical. Barriers set with ~4000× headroom for the real
  // sweep's longer training (losses of order 1; the widest curve's barrier is ~0.01, hence the small absolute part).
  headline: [
    { metric: 'byWidth.*.linearBarrier', tolerance: { absolute: 0.005, relative: 0.01 } },
    { metric: 'byWidth.*.curveBarrier', tolerance: { absolute: 0.005, relative: 0.01 } },
    { metric: 'byWidth.*.linearMiddleTestAccuracy', tolerance: FEW_PREDICTIONS_FLIP },
    { metric: 'curveBelowLineAtEveryWidth', tolerance: SAME_VERDICT },
  ],
  findings: {
    controls: [
      {
        claim: 'a trained Bézier curve joins two independently trained networks with almost no loss barrier',
        measure: 'meanCurveBarrier',
        control: 'meanLinearBarrier',
        controlLabel: 'the straight line between the same networks',
      },
      {
        claim: 'the straight line’s barrier is lower between the widest networks',
        measure: 'linearBarrierWidest',
        control: 'linearBarrierNarrowest',
        controlLabel: 'between the narrowest networks',
      },
    ],
    keyed: {
      table: 'byWidth',
      keyLabel: 'width',
      fields: { linearBarrier: 'barrier on the line', curveBarrier: 'barrier on the curve', linearMiddleTestAccuracy: 'test accuracy halfway along the line' },
      axis: 'log',
      title: 'Training-loss barrier between two trained networks vs width: straight line and trained curve',
    },
    // The loss and accuracy profiles are recorded at points along each path, not epochs.
    curveAxis: { curve: 't', label: 't along the path (0 to 1)' },
  },
  bench: stackedBenchWorkload,
  work: {
    networks: (p) =>
      p.widths.flatMap((width) => {
        const layers = [p.inputDim, ...repeat(p.depth, width), p.classes];
        const endPoint = {
          layers,
          trainPasses: p.trainSize * p.epochs,
          evalPasses: 0,
          steps: epochSteps(p.trainSize, p.batchSize, p.epochs),
          stack: `${stackByWidth({ width })}/end-points`,
        };
        // Each curve trains one network at a time (plus the weights' mix) and evaluates both paths at every point;
        // a width's curves train together once its end points are trained.
        const curve = {
          layers,
          trainPasses: p.trainSize * p.curveEpochs,
          evalPasses: 2 * p.pathPoints * (p.trainSize + p.testSize),
          steps: epochSteps(p.trainSize, p.batchSize, p.curveEpochs),
          stack: `${stackByWidth({ width })}/curves`,
        };
        return [...repeat(2 * p.pairs, endPoint), ...repeat(p.pairs, curve)];
      }),
    // Fitted to the smoke preset and the default sweep on one WASM thread: `npm run bench -- --work-rates`.
    flopsPerSecond: 2.8e10,
    secondsPerStep: 3.5e-3,
    // The declared stacks (end points, curves) are not the sweep's groups: the runner must not plan parts of them.
    keepStacksWhole: true,
  },
  async run(ctx) {
    const p: Params = ctx.params;
    const { tf } = ctx;
    const units = gridUnits({ width: p.widths, pair: Array.from({ length: p.pairs }, (_, pair) => pair) });
    const positions = pathPositions(p.pathPoints);
    const endPointShare = (2 * p.epochs) / (2 * p.epochs + p.curveEpochs);

    // Every network of one width trains in one stack: both end points of each pair, then every pair's curve.
    const { results, stackedGroups } = await stackedSweep(ctx, units, stackByWidth, async (group, session) => {
      const { width } = group[0]!.config;
      // Data: one task and data set for every unit; only the networks' seeds differ.
      const dataRng = ctx.rng('data');
      const task = clusterTask(dataRng, p);
      const train = uploadDataset(tf, sampleClusters(dataRng, task, p.trainSize));
      const test = uploadDataset(tf, sampleClusters(dataRng, task, p.testSize));

      // Model: two end-point networks per pair (members 2i and 2i + 1), each with its own initialisation and shuffle.
      const endPoints = group.flatMap((unit) => ['a', 'b'].map((name) => ({ unit, name })));
      const shape = { inputDim: p.inputDim, hidden: repeat(p.depth, width), outputDim: p.classes };
      const model = createStackedMlp(
        tf,
        endPoints.map(({ unit, name }) => unit.rng('init', name)),
        shape,
      );
      const endShuffles = endPoints.map(({ unit, name }) => unit.rng('shuffle', name));
      const curveShuffles = group.map((unit) => unit.rng('curve', 'shuffle'));
      const curvePositions = group.map((unit) => unit.rng('curve', 't'));
      // The trained end points, kept so that a restart inside the curves' training (which skips the end
      // points' finished loop) starts from them.
      const trained = session.record('endPoints', () => ({ weights: [] as Float32Array[] }));
      const pairIndex = (first: number) =>
        tf.tensor1d(
          group.map((_, i) => 2 * i + first),
          'int32',
        );
      const [startIndex, endIndex] = [pairIndex(0), pairIndex(1)];
      let middle: Variable[] = [];
      let starts: Tensor[] = [];
      let ends: Tensor[] = [];
      try {
        // Training, 1: the end points.
        await trainStacked({
          tf,
          model,
          train,
          members: endShuffles.map((shuffle) => ({ learningRate: p.learningRate, shuffle })),
          epochs: p.epochs,
          batchSize: p.batchSize,
          optimizer: 'adam',
          // Progress: the end points' share of the group's epochs (two networks per pair, one curve).
          session: sessionPart(session, 0, endPointShare),
        });
        if (trained.weights.length === 0) trained.weights.push(...(await Promise.all(model.variables.map(readValues))));
        else model.variables.forEach((variable, i) => assignValues(tf, variable, trained.weights[i]!));

        // Training, 2: each pair's curve, its middle point starting halfway along the line (Garipov et al.).
        starts = model.variables.map((variable) => tf.gather(variable, startIndex));
        ends = model.variables.map((variable) => tf.gather(variable, endIndex));
        middle = starts.map((start, i) => tf.tidy(() => tf.variable(tf.mul(tf.add(start, ends[i]!), 0.5), true)));
        await trainCurves({
          tf,
          starts,
          ends,
          middle,
          train,
          shuffles: curveShuffles,
          positions: curvePositions,
          p,
          session: sessionPart(session, endPointShare, 1),
        });

        // Metrics: training loss and test accuracy at each t along the line and along the curve.
        const line: Evaluation[][] = [];
        const curve: Evaluation[][] = [];
        for (const t of positions) {
          line.push(
            await evaluateNetworks(
              tf,
              tf.tidy(() => starts.map((start, i) => tf.add(tf.mul(1 - t, start), tf.mul(t, ends[i]!)))),
              train,
              test,
            ),
          );
          curve.push(
            await evaluateNetworks(
              tf,
              tf.tidy(() => bezier(starts, middle, ends, bezierWeights(tf, tf.fill([group.length, 1, 1], t)))),
              train,
              test,
            ),
          );
        }
        const halfway = positions.indexOf(0.5);
        return group.map((_, i) => {
          const profile = (path: Evaluation[][], field: keyof Evaluation) => path.map((point) => point[i]![field]);
          const curves = {
            lineTrainLoss: profile(line, 'trainLoss'),
            curveTrainLoss: profile(curve, 'trainLoss'),
            lineTestAccuracy: profile(line, 'testAccuracy'),
            curveTestAccuracy: profile(curve, 'testAccuracy'),
          };
          return {
            metrics: {
              linearBarrier: barrierHeight(positions, curves.lineTrainLoss),
              curveBarrier: barrierHeight(positions, curves.curveTrainLoss),
              endPointTrainLoss: [curves.lineTrainLoss[0]!, curves.lineTrainLoss.at(-1)!],
              endPointTestAccuracy: [curves.lineTestAccuracy[0]!, curves.lineTestAccuracy.at(-1)!],
              // Halfway along each path (t = 0.5 when it is one of the points, else the lowest along it).
              linearMiddleTestAccuracy: halfway >= 0 ? curves.lineTestAccuracy[halfway]! : Math.min(...curves.lineTestAccuracy),
              curveMiddleTestAccuracy: halfway >= 0 ? curves.curveTestAccuracy[halfway]! : Math.min(...curves.curveTestAccuracy),
            },
            curves: { t: positions, ...curves },
          };
        });
      } finally {
        [model, train, test].forEach((disposable) => disposable.dispose());
        [startIndex, endIndex, ...starts, ...ends, ...middle].forEach((tensor) => tensor.dispose());
      }
    });

    // Headline: per width, barrier heights averaged over pairs.
    const byWidth = Object.fromEntries(
      p.widths.map((width) => {
        const metrics = metricsWhere(results, 'width', width);
        const meanOf = (field: string) => mean(metrics.map((m) => m[field] as number));
        return [
          String(width),
          {
            linearBarrier: meanOf('linearBarrier'),
            curveBarrier: meanOf('curveBarrier'),
            linearMiddleTestAccuracy: meanOf('linearMiddleTestAccuracy'),
            curveMiddleTestAccuracy: meanOf('curveMiddleTestAccuracy'),
          },
        ];
      }),
    );
    const widths = p.widths.map((width) => byWidth[String(width)]!);
    const [narrowest, widest] = [Math.min(...p.widths), Math.max(...p.widths)].map((width) => byWidth[String(width)]!);
    return {
      byWidth,
      stackedGroups,
      meanLinearBarrier: mean(widths.map((w) => w.linearBarrier)),
      meanCurveBarrier: mean(widths.map((w) => w.curveBarrier)),
      linearBarrierNarrowest: narrowest!.linearBarrier,
      linearBarrierWidest: widest!.linearBarrier,
      curveBelowLineAtEveryWidth: widths.every((w) => w.curveBarrier < w.linearBarrier),
    };
  },
});
