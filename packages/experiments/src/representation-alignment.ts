/**
 * Representation alignment (Kornblith et al. 2019, "Similarity of neural network representations
 * revisited"; Li et al. 2015, "Convergent learning"). Pairs of networks of the same width are trained
 * on the same data from different initialisations and shuffles; we compare each hidden layer's
 * activations on held-out inputs with linear CKA, after training and, as a control, at initialisation.
 * Known result (Axiom): similarity rises with width (CKA 0.790, 0.910, 0.939, 0.964 for widths 32 to
 * 256), consistent with wide networks behaving more alike (the lazy/NTK regime). The control tempers it:
 * much of that rise is there before any training (random features of wider networks already agree more),
 * and the gain from training shrinks with width; the headline reports the rise beside the rise at init.
 */
import { defineExperiment, type Tf } from '@axiom/runner';
import type { Tensor2D } from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { linearCka } from './lib/cka.js';
import { clusterTask, sampleClusters } from './lib/data.js';
import { createStackedMlp, predictStackedClasses, trainStacked, type StackedMlp } from './lib/stacked.js';
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
import { SAME_VERDICT } from './lib/tolerances.js';
import { accuracy, uploadDataset } from './lib/train.js';

// Parameters: the defaults are the real sweep.
const params = z.strictObject({
  widths: z.array(z.number().int().min(1)).min(1).default([32, 64, 128, 256]),
  pairs: z.number().int().min(1).default(3).describe('pairs of independently initialised networks per width'),
  trainSize: z.number().int().min(10).default(2000),
  testSize: z.number().int().min(10).default(1000).describe('held-out inputs on which representations are compared'),
  inputDim: z.number().int().min(2).default(20),
  classes: z.number().int().min(2).default(10),
  clustersPerClass: z.number().int().min(1).default(2),
  separation: z.number().positive().default(0.8).describe('spread of cluster centres relative to unit point noise'),
  depth: z.number().int().min(1).default(2).describe('hidden layers, each `width` wide'),
  epochs: z.number().int().min(1).default(20),
  batchSize: z.number().int().min(1).default(64),
  optimizer: z.enum(['sgd', 'adam']).default('adam'),
  learningRate: z.number().positive().default(0.001),
  stacking: stackingParam,
});
type Params = z.infer<typeof params>;

/** For each pair of stacked members, linear CKA between their activations at each hidden layer, on the same inputs. */
async function hiddenLayerCka(tf: Tf, model: StackedMlp, x: Tensor2D, pairs: ReadonlyArray<readonly [number, number]>): Promise<Array<Array<number | null>>> {
  const layers = tf.tidy(() => model.layers(x));
  const hiddenByMember = layers.slice(0, -1).map((layer) => tf.unstack(layer) as Tensor2D[]);
  try {
    const byPair: Array<Array<number | null>> = [];
    for (const [first, second] of pairs) {
      const byLayer: Array<number | null> = [];
      for (const members of hiddenByMember) byLayer.push(await linearCka(tf, members[first]!, members[second]!));
      byPair.push(byLayer);
    }
    return byPair;
  } finally {
    [...layers, ...hiddenByMember.flat()].forEach((tensor) => tensor.dispose());
  }
}

export default defineExperiment({
  name: 'representation-alignment',
  version: '1.2.0',
  description: 'Networks trained from different seeds: how similar are their hidden representations (linear CKA), by width?',
  params,
  presets: {
    smoke: { widths: [32, 256], pairs: 1, trainSize: 500, testSize: 300, epochs: 8 },
  },
  // Cross-backend tolerances, measured: WASM (1 thread) vs the plain JS backend, smoke preset, seeds 1–3:
  // CKA within 2.2e-6 after training and 4.9e-6 at initialisation, verdicts identical. Set with ~200× headroom.
  headline: [
    { metric: 'byWidth.*.cka', tolerance: { absolute: 1e-3, relative: 0 } },
    { metric: 'byWidth.*.ckaAtInit', tolerance: { absolute: 1e-3, relative: 0 } },
    { metric: 'ckaWidestAboveNarrowest', tolerance: SAME_VERDICT },
    { metric: 'ckaRiseWithWidth', tolerance: { absolute: 2e-3, relative: 0 } },
    { metric: 'ckaRiseWithWidthAtInit', tolerance: { absolute: 2e-3, relative: 0 } },
  ],
  findings: {
    // The control: the same pairs of networks before training. Much of the rise with width is there already.
    controls: [
      {
        claim: 'CKA rises from the narrowest to the widest network',
        measure: 'ckaRiseWithWidth',
        control: 'ckaRiseWithWidthAtInit',
        controlLabel: 'the same networks at initialisation',
      },
    ],
    verdicts: {
      riseMostlyPresentAtInit: 'the rise of CKA with width is mostly present at initialisation (more than half of it)',
      gainFromTrainingShrinksWithWidth: 'the gain from training shrinks with width',
    },
    scalars: [{ label: 'share of the rise with width present at initialisation', fields: { shareOfRisePresentAtInit: 'share' } }],
    keyed: {
      table: 'byWidth',
      keyLabel: 'width',
      fields: { cka: 'CKA after training', ckaAtInit: 'CKA at initialisation', gainFromTraining: 'gain from training' },
      axis: 'log',
      title: 'Representation similarity (linear CKA) vs width',
    },
  },
  bench: stackedBenchWorkload,
  // Rates on one WASM thread, fitted to the smoke preset and the default sweep: `npm run bench -- --work-rates`.
  work: {
    networks: (p) =>
      p.widths.flatMap((width) =>
        repeat(2 * p.pairs, {
          layers: [p.inputDim, ...repeat(p.depth, width), p.classes],
          trainPasses: p.trainSize * p.epochs,
          evalPasses: p.testSize * p.epochs,
          steps: epochSteps(p.trainSize, p.batchSize, p.epochs),
          stack: stackByWidth({ width }),
        }),
      ),
    flopsPerSecond: 2.8e10,
    secondsPerStep: 5.1e-3,
  },
  async run(ctx) {
    const p: Params = ctx.params;
    const { tf } = ctx;
    const units = gridUnits({ width: p.widths, pair: Array.from({ length: p.pairs }, (_, pair) => pair) });

    // Every network of one width trains in one stack: both networks of each pair, for every pair.
    const { results, stackedGroups } = await stackedSweep(ctx, units, stackByWidth, async (group, session) => {
      const { width } = group[0]!.config;
      // Data: one task and data set for every unit; only the networks' seeds differ.
      const dataRng = ctx.rng('data');
      const task = clusterTask(dataRng, p);
      const train = uploadDataset(tf, sampleClusters(dataRng, task, p.trainSize));
      const test = uploadDataset(tf, sampleClusters(dataRng, task, p.testSize));

      // Models: two networks per unit, each with its own initialisation and shuffle streams; a pair is members 2i and 2i + 1.
      const networks = group.flatMap((unit) => ['a', 'b'].map((name) => ({ unit, name })));
      const testAccuracy = session.record('testAccuracy', () => networks.map(() => [] as number[]));
      const pairs = group.map((_, i) => [2 * i, 2 * i + 1] as const);
      const shape = { inputDim: p.inputDim, hidden: Array<number>(p.depth).fill(width), outputDim: p.classes };
      const model = createStackedMlp(
        tf,
        networks.map(({ unit, name }) => unit.rng('init', name)),
        shape,
      );
      try {
        const ckaAtInit = await hiddenLayerCka(tf, model, test.x, pairs);
        await trainStacked({
          tf,
          model,
          train,
          members: networks.map(({ unit, name }) => ({ learningRate: p.learningRate, shuffle: unit.rng('shuffle', name) })),
          epochs: p.epochs,
          batchSize: p.batchSize,
          optimizer: p.optimizer,
          session,
          onEpoch: async () =>
            (await predictStackedClasses(tf, model, test.x)).forEach((predicted, m) => testAccuracy[m]!.push(accuracy(predicted, test.source.y))),
        });

        // Metrics, per unit (pair).
        const cka = await hiddenLayerCka(tf, model, test.x, pairs);
        return pairs.map((pair, i) => {
          return {
            metrics: { ckaByLayer: cka[i]!, ckaAtInitByLayer: ckaAtInit[i]!, testAccuracy: pair.map((m) => testAccuracy[m]!.at(-1)!) },
            curves: Object.fromEntries(pair.map((m) => [`testAccuracy/${networks[m]!.name}`, testAccuracy[m]!])),
          };
        });
      } finally {
        [model, train, test].forEach((disposable) => disposable.dispose());
      }
    });

    // Headline: per width, CKA per layer averaged over pairs, and over layers.
    const byWidth = Object.fromEntries(
      p.widths.map((width) => {
        const metrics = metricsWhere(results, 'width', width);
        const ckaByLayer = meanOfArrays(
          metrics.map((m) => m.ckaByLayer),
          p.depth,
        );
        const ckaAtInitByLayer = meanOfArrays(
          metrics.map((m) => m.ckaAtInitByLayer),
          p.depth,
        );
        const [cka, ckaAtInit] = [meanOfNumbers(ckaByLayer)!, meanOfNumbers(ckaAtInitByLayer)!];
        return [String(width), { cka, ckaByLayer, ckaAtInit, ckaAtInitByLayer, gainFromTraining: cka - ckaAtInit }];
      }),
    );
    // The trend with width after training, beside the same trend before it (the control).
    const [narrowest, widest] = [byWidth[String(p.widths[0])]!, byWidth[String(p.widths.at(-1))]!];
    const ckas = p.widths.map((width) => byWidth[String(width)]!.cka);
    const gains = p.widths.map((width) => byWidth[String(width)]!.gainFromTraining);
    const ckaRiseWithWidth = widest.cka - narrowest.cka;
    const ckaRiseWithWidthAtInit = widest.ckaAtInit - narrowest.ckaAtInit;
    const shareOfRisePresentAtInit = ckaRiseWithWidth > 0 ? ckaRiseWithWidthAtInit / ckaRiseWithWidth : null;
    return {
      byWidth,
      stackedGroups,
      ckaIncreasesWithWidth: ckas.every((value, i) => i === 0 || value >= ckas[i - 1]!),
      ckaWidestAboveNarrowest: widest.cka > narrowest.cka,
      ckaRiseWithWidth,
      ckaRiseWithWidthAtInit,
      shareOfRisePresentAtInit,
      riseMostlyPresentAtInit: shareOfRisePresentAtInit !== null && shareOfRisePresentAtInit > 0.5,
      gainFromTrainingShrinksWithWidth: gains.at(-1)! < gains[0]!,
    };
  },
});
