/**
 * Initial weight scale and depth (Glorot & Bengio 2010, "Understanding the difficulty of training deep
 * feedforward neural networks"; He et al. 2015, "Delving deep into rectifiers"; Schoenholz et al. 2017,
 * "Deep information propagation"). ReLU MLPs of several depths start from He-uniform weights times a
 * gain g (weight variance 2g²/fanIn; g = 1 is He's critical scale for ReLU) on a log grid, and train
 * with plain SGD for a fixed budget on Gaussian clusters. At initialisation we measure every layer's
 * activation RMS and the RMS of the loss gradient backpropagated to it. Known result: each layer
 * multiplies the forward and backward signal by about g, so away from g = 1 they explode or vanish
 * geometrically with depth (log2 RMS changes by log2 g per layer); deep networks train only near the
 * critical scale, and the window of trainable gains narrows as depth grows. Control: the shallow
 * network trains across a broad range of gains.
 */
import { defineExperiment, type JsonObject } from '@axiom/runner';
import { linearRegression } from 'simple-statistics';
import { z } from 'zod';
import { clusterTask, sampleClusters } from './lib/data.js';
import { layerSignals } from './lib/probes.js';
import { createStackedMlp, evaluateStackedLoss, predictStackedClasses, trainStacked } from './lib/stacked.js';
import { epochSteps, finiteOrNull, gridUnits, repeat, stackedBenchWorkload, stackedSweep, stackingParam } from './lib/sweep.js';
import { SAME_VERDICT } from './lib/tolerances.js';
import { accuracy, sliceRows, uploadDataset } from './lib/train.js';

// Parameters: the defaults are the real sweep.
const params = z.strictObject({
  depths: z.array(z.number().int().min(1)).min(2).default([1, 4, 8, 16]).describe('hidden layers; the shallowest is the control'),
  gains: z
    .array(z.number().positive())
    .min(2)
    .default([0.25, 0.354, 0.5, 0.707, 1, 1.414, 2, 2.828, 4])
    .describe("initial weight scale relative to He's (std √(2/fanIn)·gain), on a log grid around 1"),
  width: z.number().int().min(1).default(64),
  trainSize: z.number().int().min(10).default(1000),
  inputDim: z.number().int().min(2).default(20),
  classes: z.number().int().min(2).default(5),
  clustersPerClass: z.number().int().min(1).default(2),
  separation: z.number().positive().default(1.5).describe('spread of cluster centres relative to unit point noise'),
  epochs: z.number().int().min(1).default(20).describe('the fixed training budget'),
  batchSize: z.number().int().min(1).default(32),
  learningRate: z.number().positive().default(0.02).describe('plain SGD, the same for every gain'),
  trainedMargin: z.number().min(0).max(1).default(0.3).describe('a network trains if its final training accuracy beats chance (1/classes) by this much'),
  probeSize: z.number().int().min(2).default(256).describe('training examples over which the signals at initialisation are measured'),
  stacking: stackingParam,
});
type Params = z.infer<typeof params>;

/** Every gain of one depth trains in one stack. */
const stackOf = ({ depth }: { depth: number }) => `depth=${depth}`;

/** What each network records (and the headline reads back). */
interface UnitMetrics {
  finalTrainAccuracy: number;
  trained: boolean;
  activationSlope: number | null;
  gradientSlope: number | null;
}

/**
 * Least-squares slope of log2(value) against layer index: the doublings per layer of a signal that
 * grows or shrinks geometrically. Null for fewer than two layers or a value that is not positive.
 */
export function log2SlopePerLayer(values: readonly number[]): number | null {
  if (values.length < 2 || values.some((value) => !(value > 0) || !Number.isFinite(value))) return null;
  return linearRegression(values.map((value, layer) => [layer, Math.log2(value)])).m;
}

/** The range of gains that train (each gain's verdict in `trained`): lowest, highest, and their ratio in octaves; nulls if none trains. */
export function trainableWindow(gains: readonly number[], trained: readonly boolean[]) {
  const trainable = gains.filter((_, i) => trained[i]);
  if (trainable.length === 0) return { lowestTrainableGain: null, highestTrainableGain: null, windowOctaves: null };
  const [lowest, highest] = [Math.min(...trainable), Math.max(...trainable)];
  return { lowestTrainableGain: lowest, highestTrainableGain: highest, windowOctaves: Math.log2(highest / lowest) };
}

export default defineExperiment({
  name: 'weight-init',
  version: '1.0.0',
  description: 'Initial weight scale vs depth: do deep ReLU MLPs train only near He’s critical scale, in a window that narrows with depth?',
  params,
  presets: {
    smoke: { depths: [1, 8], gains: [0.25, 0.5, 1, 2, 4], width: 32, trainSize: 400, epochs: 8, probeSize: 128 },
  },
  // Cross-backend tolerances, measured: WASM (1 thread) vs the plain JS backend, smoke preset, seeds 1–3:
  // windows and verdicts identical, slopes within 1.2e-7 (the untrainable networks' accuracies differ by up
  // to 0.06: they diverge, so they are not headline metrics). A gain near the edge of the window may train
  // on one backend and not the other over the real sweep's longer training: windows may differ by one step
  // of the default grid (half an octave, 0.5002 with its rounded gains). Slopes with ~1000× headroom.
  headline: [
    { metric: 'byDepth.*.windowOctaves', tolerance: { absolute: 0.6, relative: 0 } },
    { metric: 'deepest.*.activationSlope', tolerance: { absolute: 1e-4, relative: 0 } },
    { metric: 'deepest.*.gradientSlope', tolerance: { absolute: 1e-4, relative: 0 } },
    { metric: 'windowNarrowsWithDepth', tolerance: SAME_VERDICT },
  ],
  findings: {
    controls: [
      {
        claim: 'octaves of initial gain that train, deepest network',
        measure: 'deepWindowOctaves',
        control: 'shallowWindowOctaves',
        controlLabel: 'in the shallowest network',
      },
      {
        claim: 'doublings of activation RMS per layer at init, largest gain (deepest)',
        measure: 'deepest.highestGain.activationSlope',
        control: 'deepest.criticalGain.activationSlope',
        controlLabel: "at He's scale",
      },
      {
        claim: 'doublings of activation RMS per layer at init, smallest gain (deepest)',
        measure: 'deepest.lowestGain.activationSlope',
        control: 'deepest.criticalGain.activationSlope',
        controlLabel: "at He's scale",
      },
      {
        claim: 'doublings of backpropagated gradient RMS per layer at init, smallest gain (deepest)',
        measure: 'deepest.lowestGain.gradientSlope',
        control: 'deepest.criticalGain.gradientSlope',
        controlLabel: "at He's scale",
      },
    ],
    keyed: {
      table: 'byDepth',
      keyLabel: 'depth',
      fields: {
        windowOctaves: 'trainable octaves',
        lowestTrainableGain: 'lowest gain that trains',
        highestTrainableGain: 'highest gain that trains',
      },
      axis: 'log',
      title: 'Range of initial gains that train vs depth',
    },
    scalars: [
      { label: 'per-layer slope vs log2 gain (theory 1, −1)', fields: { activationSlopePerOctave: 'activations', gradientSlopePerOctave: 'gradients' } },
    ],
  },
  bench: stackedBenchWorkload,
  // Rates on one WASM thread, fitted to the smoke preset and the default sweep: `npm run bench -- --work-rates`.
  work: {
    networks: (p) =>
      p.depths.flatMap((depth) =>
        repeat(p.gains.length, {
          layers: [p.inputDim, ...repeat(depth, p.width), p.classes],
          trainPasses: p.trainSize * p.epochs,
          // Training accuracy every epoch, the final loss, and the signals at init.
          evalPasses: p.trainSize * (p.epochs + 1) + p.probeSize,
          steps: epochSteps(p.trainSize, p.batchSize, p.epochs),
          stack: stackOf({ depth }),
        }),
      ),
    flopsPerSecond: 2.8e10,
    secondsPerStep: 5.0e-3,
  },
  async run(ctx) {
    const p: Params = ctx.params;
    const { tf } = ctx;
    const units = gridUnits({ depth: p.depths, gain: p.gains });

    // Data: one task and training set for every network.
    const dataRng = ctx.rng('data');
    const task = clusterTask(dataRng, p);
    const train = uploadDataset(tf, sampleClusters(dataRng, task, p.trainSize));
    const probe = {
      x: sliceRows(tf, train.x, 0, Math.min(p.probeSize, p.trainSize)),
      targets: sliceRows(tf, train.targets, 0, Math.min(p.probeSize, p.trainSize)),
    };
    const chance = 1 / p.classes;

    // Networks of one depth train in one stack.
    const { results, stackedGroups } = await stackedSweep(ctx, units, stackOf, async (group, session) => {
      const depth = group[0]!.config.depth;
      // Model: at one depth, every gain scales the same He-uniform draw and visits examples in the same
      // order, so gains differ in scale and nothing else.
      const model = createStackedMlp(
        tf,
        group.map(() => ctx.rng('depth', depth, 'init')),
        { inputDim: p.inputDim, hidden: repeat(depth, p.width), outputDim: p.classes },
        undefined,
        group.map((unit) => unit.config.gain),
      );
      try {
        // Metrics at initialisation, each layer's forward and backward signal (after a restart the
        // model is rebuilt from its seeds before training resumes, so this is still at init).
        const atInit = await layerSignals(tf, model, probe, 'cross-entropy');
        // Training: plain SGD, one learning rate, a fixed budget.
        const curves = session.record('curves', () => group.map(() => ({ trainAccuracy: [] as number[] })));
        await trainStacked({
          tf,
          model,
          train,
          members: group.map(() => ({ learningRate: p.learningRate, shuffle: ctx.rng('depth', depth, 'shuffle') })),
          epochs: p.epochs,
          batchSize: p.batchSize,
          optimizer: 'sgd',
          session,
          onEpoch: async () => {
            const predictions = await predictStackedClasses(tf, model, train.x);
            predictions.forEach((predicted, m) => curves[m]!.trainAccuracy.push(accuracy(predicted, train.source.y)));
          },
        });
        const finalLosses = await evaluateStackedLoss(tf, model, train, 'cross-entropy');
        return group.map((_, m) => {
          const { activationRms, gradientRms } = atInit[m]!;
          // Slopes over the hidden layers, where each layer has the same fan-in.
          const hidden = (values: number[]) => values.slice(0, depth);
          const finalTrainAccuracy = curves[m]!.trainAccuracy.at(-1)!;
          return {
            metrics: {
              finalTrainAccuracy,
              finalTrainLoss: finiteOrNull(finalLosses[m]!),
              trained: finalTrainAccuracy >= chance + p.trainedMargin,
              activationSlope: log2SlopePerLayer(hidden(activationRms)),
              // Read from the input side: positive when the gradient grows towards the output, i.e. vanishes towards the input.
              gradientSlope: log2SlopePerLayer(hidden(gradientRms)),
              activationRms: activationRms.map(finiteOrNull),
              gradientRms: gradientRms.map(finiteOrNull),
            },
            curves: curves[m]!,
          };
        });
      } finally {
        model.dispose();
      }
    });
    [train, probe.x, probe.targets].forEach((disposable) => disposable.dispose());

    // Headline: per depth, the window of gains that train; at the deepest depth, the signal profiles.
    const unitAt = (depth: number, gain: number) => results.find((r) => r.config.depth === depth && r.config.gain === gain)!.metrics as unknown as UnitMetrics;
    const byDepth: JsonObject = {};
    for (const depth of p.depths) {
      const atDepth = p.gains.map((gain) => unitAt(depth, gain));
      byDepth[String(depth)] = {
        ...trainableWindow(
          p.gains,
          atDepth.map((m) => m.trained),
        ),
        trainAccuracyByGain: Object.fromEntries(p.gains.map((gain, i) => [String(gain), atDepth[i]!.finalTrainAccuracy])),
      };
    }
    const [shallowest, deepest] = [Math.min(...p.depths), Math.max(...p.depths)];
    const windowOf = (depth: number) => (byDepth[String(depth)] as { windowOctaves: number | null }).windowOctaves;
    const criticalGain = p.gains.reduce((best, gain) => (Math.abs(Math.log(gain)) < Math.abs(Math.log(best)) ? gain : best));
    const profile = (gain: number) => {
      const { activationSlope, gradientSlope, finalTrainAccuracy } = unitAt(deepest, gain);
      return { gain, activationSlope, gradientSlope, finalTrainAccuracy };
    };
    // Slope of the per-layer slopes against log2 gain across the deepest networks: theory says 1 for
    // activations (each layer multiplies them by the gain) and −1 for gradients read from the input side.
    const slopeAgainstGain = (field: 'activationSlope' | 'gradientSlope') => {
      const points = p.gains.flatMap((gain) => {
        const slope = unitAt(deepest, gain)[field];
        return typeof slope === 'number' ? [[Math.log2(gain), slope]] : [];
      });
      return points.length >= 2 ? linearRegression(points).m : null;
    };
    const shallowWindowOctaves = windowOf(shallowest);
    const deepWindowOctaves = windowOf(deepest);
    return {
      byDepth,
      stackedGroups,
      deepestDepth: deepest,
      deepest: { lowestGain: profile(Math.min(...p.gains)), criticalGain: profile(criticalGain), highestGain: profile(Math.max(...p.gains)) },
      activationSlopePerOctave: slopeAgainstGain('activationSlope'),
      gradientSlopePerOctave: slopeAgainstGain('gradientSlope'),
      shallowWindowOctaves,
      deepWindowOctaves,
      windowNarrowsWithDepth: (deepWindowOctaves ?? -1) < (shallowWindowOctaves ?? -1),
    };
  },
});
