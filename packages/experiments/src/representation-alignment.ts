/**
 * Representation alignment (Kornblith et al. 2019, "Similarity of neural network representations
 * revisited"; Li et al. 2015, "Convergent learning"). Pairs of networks of the same width are trained
 * on the same data from different initialisations and shuffles; we compare each hidden layer's
 * activations on held-out inputs with linear CKA, after training and, as a control, at initialisation.
 * Known result (Axiom): similarity rises with width (CKA 0.790, 0.910, 0.939, 0.964 for widths 32 to
 * 256), consistent with wide networks behaving more alike (the lazy/NTK regime).
 */
import { defineExperiment, type Tf } from '@axiom/runner';
import type { Tensor2D } from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { linearCka } from './lib/cka.js';
import { clusterTask, sampleClusters } from './lib/data.js';
import { createMlp, type Mlp } from './lib/mlp.js';
import { gridUnits, meanOfArrays, meanOfNumbers, metricsWhere } from './lib/sweep.js';
import { accuracy, predictClasses, trainClassifier, uploadDataset } from './lib/train.js';

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
});
type Params = z.infer<typeof params>;

/** Linear CKA between the two networks' activations at each hidden layer, on the same inputs. */
function hiddenLayerCka(tf: Tf, first: Mlp, second: Mlp, x: Tensor2D): Array<number | null> {
  const firstLayers = first.layers(x);
  const secondLayers = second.layers(x);
  try {
    return firstLayers.slice(0, -1).map((layer, i) => linearCka(tf, layer, secondLayers[i]!));
  } finally {
    [...firstLayers, ...secondLayers].forEach((layer) => layer.dispose());
  }
}

export default defineExperiment({
  name: 'representation-alignment',
  version: '1.0.0',
  description: 'Networks trained from different seeds: how similar are their hidden representations (linear CKA), by width?',
  params,
  presets: {
    smoke: { widths: [32, 256], pairs: 1, trainSize: 500, testSize: 300, epochs: 8 },
  },
  async run(ctx) {
    const p: Params = ctx.params;
    const { tf } = ctx;
    const units = gridUnits({ width: p.widths, pair: Array.from({ length: p.pairs }, (_, pair) => pair) });

    const results = await ctx.sweep(units, async (unit) => {
      const { width } = unit.config;
      // Data: one task and data set for every unit; only the networks' seeds differ.
      const dataRng = ctx.rng('data');
      const task = clusterTask(dataRng, p);
      const train = uploadDataset(tf, sampleClusters(dataRng, task, p.trainSize));
      const test = uploadDataset(tf, sampleClusters(dataRng, task, p.testSize));

      // Models: two networks with their own initialisation and shuffle streams.
      const shape = { inputDim: p.inputDim, hidden: Array<number>(p.depth).fill(width), outputDim: p.classes };
      const network = (name: string) => ({ name, model: createMlp(tf, unit.rng('init', name), shape), testAccuracy: [] as number[] });
      const networks = [network('a'), network('b')] as const;
      const [first, second] = networks;
      try {
        const ckaAtInit = hiddenLayerCka(tf, first.model, second.model, test.x);
        // Training, one network after the other.
        for (const [index, network] of networks.entries()) {
          await trainClassifier({
            tf,
            model: network.model,
            train,
            epochs: p.epochs,
            batchSize: p.batchSize,
            learningRate: p.learningRate,
            optimizer: p.optimizer,
            shuffle: unit.rng('shuffle', network.name),
            tick: ctx.tick,
            progress: (fraction) => unit.progress((index + fraction) / networks.length),
            onEpoch: () => void network.testAccuracy.push(accuracy(predictClasses(tf, network.model, test.x), test.source.y)),
          });
        }

        // Metrics.
        const cka = hiddenLayerCka(tf, first.model, second.model, test.x);
        return {
          metrics: { ckaByLayer: cka, ckaAtInitByLayer: ckaAtInit, testAccuracy: networks.map((network) => network.testAccuracy.at(-1)!) },
          curves: Object.fromEntries(networks.map((network) => [`testAccuracy/${network.name}`, network.testAccuracy])),
        };
      } finally {
        networks.forEach((network) => network.model.dispose());
        train.dispose();
        test.dispose();
      }
    });

    // Headline: per width, CKA per layer averaged over pairs, and over layers.
    const byWidth = Object.fromEntries(
      p.widths.map((width) => {
        const metrics = metricsWhere(results, 'width', width);
        const ckaByLayer = meanOfArrays(metrics.map((m) => m.ckaByLayer), p.depth);
        const ckaAtInitByLayer = meanOfArrays(metrics.map((m) => m.ckaAtInitByLayer), p.depth);
        return [String(width), { cka: meanOfNumbers(ckaByLayer)!, ckaByLayer, ckaAtInit: meanOfNumbers(ckaAtInitByLayer)!, ckaAtInitByLayer }];
      }),
    );
    const ckas = p.widths.map((width) => byWidth[String(width)]!.cka);
    return {
      byWidth,
      ckaIncreasesWithWidth: ckas.every((cka, i) => i === 0 || cka >= ckas[i - 1]!),
      ckaWidestAboveNarrowest: ckas.at(-1)! > ckas[0]!,
    };
  },
});
