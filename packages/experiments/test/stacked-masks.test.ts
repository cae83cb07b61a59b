import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@axiom/runner/host';
import { Rng, standaloneSession, type Tf } from '@axiom/runner';
import { clusterTask, createStackedMlp, layerSizes, sampleClusters, trainStacked, uploadStackedDataset } from '@axiom/experiments';
import type { Tensor3D } from '@tensorflow/tfjs-core';

const shape = { inputDim: 6, hidden: [16, 16], outputDim: 3 };
const rows = 120;

describe('stacked training with weight masks', () => {
  let tf: Tf;
  beforeAll(async () => {
    ({ tf } = await initBackend({ forced: 'wasm' }));
  });

  /** Trains two members (the second stops after epoch 2, so the stack that trains is cut down) and returns each layer's weights. */
  async function train(masks: Float32Array[] | undefined): Promise<Float32Array[]> {
    const task = clusterTask(new Rng(1), { inputDim: shape.inputDim, classes: shape.outputDim, clustersPerClass: 1, separation: 1.5 });
    const data = uploadStackedDataset(tf, [sampleClusters(new Rng(2), task, rows), sampleClusters(new Rng(3), task, rows)]);
    const model = createStackedMlp(tf, [new Rng(10), new Rng(11)], shape);
    const weightMasks = masks?.map((values, layer) => tf.tensor3d(values, [2, ...layerSizes(shape)[layer]!]) as Tensor3D);
    try {
      await trainStacked({
        tf,
        model,
        train: data,
        members: [0, 1].map((m) => ({ learningRate: 0.01, shuffle: new Rng(20 + m) })),
        epochs: 4,
        batchSize: 16,
        optimizer: 'adam',
        session: standaloneSession(),
        weightMasks,
        onEpoch: (epoch) => (epoch === 2 ? [undefined, 'stop'] : undefined),
      });
      return await Promise.all(model.weights.map(async (weight) => (await weight.data()) as Float32Array));
    } finally {
      [model, data, ...(weightMasks ?? [])].forEach((disposable) => disposable.dispose());
    }
  }

  it('keeps masked weights exactly zero, trains the rest, and with every weight kept trains as without masks', async () => {
    const before = tf.memory().numTensors;
    const rng = new Rng(5);
    // Member 0 keeps every weight; member 1 about half of them.
    const masks = layerSizes(shape).map(([fanIn, fanOut]) => {
      const size = fanIn * fanOut;
      return Float32Array.from({ length: 2 * size }, (_, i) => (i < size || rng.next() < 0.5 ? 1 : 0));
    });
    const masked = await train(masks);
    const unmasked = await train(undefined);
    masked.forEach((weights, layer) => {
      const size = weights.length / 2;
      const mask = masks[layer]!;
      const pruned = weights.filter((_, i) => mask[i] === 0);
      expect(pruned.length).toBeGreaterThan(0);
      expect(pruned.every((value) => value === 0)).toBe(true);
      expect(weights.filter((_, i) => i >= size && mask[i] === 1).every((value) => value !== 0)).toBe(true);
      // Member 0, every weight kept, trains exactly as without masks.
      expect(Array.from(weights.subarray(0, size))).toEqual(Array.from(unmasked[layer]!.subarray(0, size)));
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});
