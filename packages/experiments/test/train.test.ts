import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@axiom/runner/host';
import { Rng, standaloneSession, type Tf } from '@axiom/runner';
import { createMlp, evaluateLoss, permutationStream, sampleTeacher, teacherTask, trainClassifier, uploadRegressionDataset } from '@axiom/experiments';

describe('permutation stream', () => {
  it('hands out reshuffled epochs in rounds of a fixed length, shorter or longer than an epoch', () => {
    const rows = Int32Array.from([10, 11, 12, 13, 14]);
    const long = permutationStream(new Rng(1), rows, 7);
    const visits = [...long(), ...long(), ...long(), ...long(), ...long()]; // 35 visits = 7 epochs
    for (let epoch = 0; epoch < 7; epoch++) expect(visits.slice(epoch * 5, epoch * 5 + 5).sort()).toEqual([10, 11, 12, 13, 14]);
    const short = permutationStream(new Rng(1), rows, 2);
    expect([...short(), ...short(), ...short()].slice(0, 5)).toEqual(visits.slice(0, 5)); // the same epochs, cut finer
    expect(() => permutationStream(new Rng(1), new Int32Array(0), 3)).toThrow(RangeError);
  });
});

describe('training loop', () => {
  let tf: Tf;
  beforeAll(async () => {
    ({ tf } = await initBackend({ forced: 'wasm' }));
  });

  it('fits a regression target with MSE, visits the rows a custom order gives, and stops early on request', async () => {
    const before = tf.memory().numTensors;
    const teacher = teacherTask(new Rng(2), { inputDim: 4, hidden: 8 });
    const train = uploadRegressionDataset(tf, sampleTeacher(new Rng(3), teacher, 256));
    const model = createMlp(tf, new Rng(4), { inputDim: 4, hidden: [32], outputDim: 1 });
    const initialLoss = await evaluateLoss(tf, model, train, 'mse');
    const orders: number[] = [];
    const epochsSeen: number[] = [];
    await trainClassifier({
      tf,
      model,
      train,
      epochs: 50,
      batchSize: 32,
      learningRate: 0.01,
      optimizer: 'adam',
      loss: 'mse',
      shuffle: (epoch) => {
        orders.push(epoch);
        return new Rng(epoch).permutation(256);
      },
      session: standaloneSession(),
      onEpoch: (epoch) => {
        epochsSeen.push(epoch);
        return epoch === 20 ? 'stop' : undefined;
      },
    });
    expect(orders).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(epochsSeen).toEqual(orders);
    expect(await evaluateLoss(tf, model, train, 'mse')).toBeLessThan(initialLoss / 4);
    model.dispose();
    train.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
