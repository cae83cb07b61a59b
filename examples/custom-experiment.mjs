// A researcher's own experiment, run with:  npx axiom run examples/custom-experiment.mjs --preset smoke
// It uses the same contract and shared pieces as the built-in experiments (docs/writing-an-experiment.md).
import { defineExperiment } from '@axiom/runner';
import { clusterTask, createMlp, predictClasses, accuracy, sampleClusters, trainClassifier, uploadDataset } from '@axiom/experiments';
import { z } from 'zod';

// Parameters: defaults are the full sweep.
const params = z.strictObject({
  widths: z.array(z.number().int().min(1)).default([8, 32, 128]).describe('hidden widths to compare'),
  trainSize: z.number().int().min(10).default(1000),
  epochs: z.number().int().min(1).default(20),
});

export default defineExperiment({
  name: 'width-vs-accuracy',
  version: '1.0.0',
  description: 'Does a wider one-hidden-layer MLP generalise better on Gaussian clusters?',
  params,
  presets: { smoke: { widths: [8, 32], trainSize: 200, epochs: 5 } },
  // The metric that carries the finding, and how closely two backends (WASM, plain JS) must agree on it.
  headline: [{ metric: 'byWidth.*.testAccuracy', tolerance: { absolute: 0.01, relative: 0 } }],
  async run(ctx) {
    const { tf, params: p } = ctx;
    const units = p.widths.map((width) => ({ key: `width=${width}`, config: { width } }));
    const results = await ctx.sweep(units, async (unit, session) => {
      // Data: the same task for every width.
      const rng = ctx.rng('data');
      const task = clusterTask(rng, { inputDim: 10, classes: 4, clustersPerClass: 3, separation: 1 });
      const train = uploadDataset(tf, sampleClusters(rng, task, p.trainSize));
      const test = uploadDataset(tf, sampleClusters(rng, task, 1000));
      // Model and training.
      const model = createMlp(tf, unit.rng('init'), { inputDim: 10, hidden: [unit.config.width], outputDim: 4 });
      // Kept by the session, so a run stopped mid-training resumes with the curve so far.
      const testAccuracy = session.record('testAccuracy', () => []);
      try {
        await trainClassifier({
          tf,
          model,
          train,
          epochs: p.epochs,
          batchSize: 32,
          learningRate: 0.01,
          optimizer: 'adam',
          shuffle: unit.rng('shuffle'),
          session,
          onEpoch: async () => void testAccuracy.push(accuracy(await predictClasses(tf, model, test.x), test.source.y)),
        });
      } finally {
        model.dispose();
        train.dispose();
        test.dispose();
      }
      // Metrics.
      return { metrics: { testAccuracy: testAccuracy.at(-1) }, curves: { testAccuracy } };
    });
    // Headline: a table by width.
    return { byWidth: Object.fromEntries(results.map((r) => [String(r.config.width), { testAccuracy: r.metrics.testAccuracy }])) };
  },
});
