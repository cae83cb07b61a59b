import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@axiom/runner/host';
import { Rng, standaloneSession, type Tf } from '@axiom/runner';
import { clusterTask, createStackedMlp, sampleClusters, trainStacked, trainedVariables, uploadStackedDataset } from '@axiom/experiments';

const shape = { inputDim: 5, hidden: [12, 8], outputDim: 3 };

describe('frozen layers in stacked training', () => {
  let tf: Tf;
  beforeAll(async () => {
    ({ tf } = await initBackend({ forced: 'wasm' }));
  });

  it('lists every variable but those of the frozen layers, weights before biases', () => {
    const model = createStackedMlp(tf, [new Rng(1)], shape);
    expect(trainedVariables(model)).toEqual(model.variables);
    expect(trainedVariables(model, [0])).toEqual(model.variables.slice(2));
    expect(trainedVariables(model, [0, 2])).toEqual(model.variables.slice(2, 4));
    model.dispose();
  });

  for (const optimizer of ['sgd', 'adam'] as const) {
    it(`keeps a frozen layer's weights and biases at their initial values, bit for bit, and trains the others (${optimizer}, a member stopping early)`, async () => {
      const before = tf.memory().numTensors;
      const task = clusterTask(new Rng(2), { inputDim: shape.inputDim, classes: shape.outputDim, clustersPerClass: 2, separation: 1 });
      const data = [sampleClusters(new Rng(3), task, 60), sampleClusters(new Rng(4), task, 60)];
      const model = createStackedMlp(tf, [new Rng(5), new Rng(6)], shape);
      const initial = model.variables.map((variable) => variable.dataSync().slice());
      const train = uploadStackedDataset(tf, data);
      await trainStacked({
        tf,
        model,
        train,
        members: [
          { learningRate: 0.05, shuffle: new Rng(7) },
          { learningRate: 0.05, shuffle: new Rng(8) },
        ],
        frozenLayers: [0],
        epochs: 3,
        batchSize: 20,
        optimizer,
        session: standaloneSession(),
        // The second member stops after the first epoch, so the training stack is rebuilt without it.
        onEpoch: (epoch) => (epoch === 1 ? [undefined, 'stop'] : undefined),
      });
      const changed = model.variables.map((variable, i) => variable.dataSync().some((value, j) => value !== initial[i]![j]));
      // Layer 0 (weights, biases) frozen; layers 1 and 2 trained (biases start at zero and move too).
      expect(changed).toEqual([false, false, true, true, true, true]);
      model.dispose();
      train.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});
