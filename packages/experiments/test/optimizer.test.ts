import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@axiom/runner/host';
import { Rng, standaloneSession, type Tf } from '@axiom/runner';
import type { Tensor, Variable } from '@tensorflow/tfjs-core';
import {
  clusterTask,
  createMlp,
  createStackedMlp,
  sampleClusters,
  trainClassifier,
  trainStacked,
  uploadDataset,
  uploadStackedDataset,
} from '@axiom/experiments';
import { createOptimizer, MOMENTUM, optimizerKinds, retentionOf, RMSPROP_ALPHA, RMSPROP_EPSILON, type OptimizerKind } from '../src/lib/optimizer.js';

/** A deterministic gradient sequence: step `step`'s gradient of value i. */
const gradientAt = (step: number, i: number) => Math.sin(1.3 * step + 0.7 * i) * (1 + 0.5 * i);
const initial = [0.5, -1.0, 2.0, 0.25];
const steps = 5;

/**
 * Two members stacked as one [2, 1, 4] variable: member 0 starts at `initial` with learning rate 0.05 and weight
 * decay 0.5, member 1 at twice that with rate 0.01, no decay and the negated gradients.
 */
const members = [
  { start: initial, learningRate: 0.05, weightDecay: 0.5, sign: 1 },
  { start: initial.map((value) => 2 * value), learningRate: 0.01, weightDecay: 0, sign: -1 },
];

/** The same updates in float64, written after torch.optim's code (Adam with tfjs's ε 1e-7), for one member. */
function reference(kind: OptimizerKind, { start, learningRate: lr, weightDecay, sign }: (typeof members)[number]): number[] {
  return start.map((initialValue, i) => {
    let [w, first, second] = [initialValue, 0, 0];
    for (let step = 0; step < steps; step++) {
      const g = sign * gradientAt(step, i);
      w *= 1 - lr * weightDecay;
      if (kind === 'sgd') w -= lr * g;
      if (kind === 'momentum') w -= lr * (first = MOMENTUM * first + g);
      if (kind === 'rmsprop') {
        second = RMSPROP_ALPHA * second + (1 - RMSPROP_ALPHA) * g * g;
        w -= (lr * g) / (Math.sqrt(second) + RMSPROP_EPSILON);
      }
      if (kind === 'adam') {
        first = 0.9 * first + 0.1 * g;
        second = 0.999 * second + 0.001 * g * g;
        w -= (lr * first) / (1 - 0.9 ** (step + 1)) / (Math.sqrt(second / (1 - 0.999 ** (step + 1))) + 1e-7);
      }
    }
    return w;
  });
}

/**
 * Member 0 after the 5 steps, from torch 1.13 (float64): AdamW(weight_decay=0.5, eps=1e-7); SGD(momentum=0.9)
 * and RMSprop() with AdamW's decay by hand (p.mul_(1 − lr·wd) before each step).
 */
const torchMember0: Partial<Record<OptimizerKind, number[]>> = {
  momentum: [0.322157245, -1.094450041, 1.563819507, 0.196556548],
  rmsprop: [0.297888249, -1.197772746, 1.564141806, 0.089583443],
  adam: [0.362079443, -1.000143315, 1.674714236, 0.179855753],
};

describe('optimizers', () => {
  let tf: Tf;
  beforeAll(async () => {
    ({ tf } = await initBackend({ forced: 'wasm' }));
  });

  // Inside tidy so the initial tensors are freed once the variables hold their data.
  const variableOf = (values: ArrayLike<number>, shape: [number, number, number]): Variable =>
    tf.tidy(() => tf.variable(tf.tensor3d(Array.from(values), shape)));
  const stack = () => variableOf([...members[0]!.start, ...members[1]!.start], [2, 1, 4]);
  const gradient = (step: number): Tensor =>
    tf.tensor3d(
      members.flatMap(({ sign }) => initial.map((_, i) => sign * gradientAt(step, i))),
      [2, 1, 4],
    );
  const schedule = (decays = members.map((member) => member.weightDecay)) => ({
    negatedRates: tf.tensor3d(
      members.map((member) => -member.learningRate),
      [2, 1, 1],
    ),
    retention: retentionOf(
      tf,
      members.map((member) => member.learningRate),
      decays,
    ),
  });
  const step = (apply: (gradients: Tensor[]) => void, index: number) => tf.tidy(() => apply([gradient(index)]));

  for (const kind of optimizerKinds) {
    it(`${kind}: each member of a stack takes torch's update with its own rate and decoupled weight decay`, () => {
      const before = tf.memory().numTensors;
      const weights = stack();
      const optimizer = createOptimizer(tf, kind, [weights]);
      const { negatedRates, retention } = schedule();
      for (let index = 0; index < steps; index++) step((gradients) => optimizer.apply(gradients, negatedRates, retention), index);
      const values = Array.from(weights.dataSync());
      members.forEach((member, m) => {
        const own = values.slice(4 * m, 4 * m + 4);
        reference(kind, member).forEach((expected, i) => expect(own[i]).toBeCloseTo(expected, 5));
      });
      torchMember0[kind]?.forEach((expected, i) => expect(values[i]).toBeCloseTo(expected, 5));
      [weights, negatedRates, retention!].forEach((tensor) => tensor.dispose());
      optimizer.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });

    it(`${kind}: saved and restored mid-training, continues bit for bit; a retained member continues as in the stack`, async () => {
      const before = tf.memory().numTensors;
      const { negatedRates, retention } = schedule();
      const weights = stack();
      const optimizer = createOptimizer(tf, kind, [weights]);
      for (let index = 0; index < 2; index++) step((gradients) => optimizer.apply(gradients, negatedRates, retention), index);
      const saved = await optimizer.save();
      const savedWeights = weights.dataSync().slice();
      // Member 1 alone, from here on (as when member 0 stops early).
      const kept = variableOf(savedWeights.slice(4), [1, 1, 4]);
      const second = tf.tensor1d([1], 'int32');
      const alone = optimizer.retain([kept], second);
      for (let index = 2; index < steps; index++) {
        step((gradients) => optimizer.apply(gradients, negatedRates, retention), index);
        step((gradients) => alone.apply([tf.slice(gradients[0]!, [1, 0, 0], [1, 1, 4])], tf.slice(negatedRates, [1, 0, 0], [1, 1, 1])), index);
      }

      const restoredWeights = variableOf(savedWeights, [2, 1, 4]);
      const restored = createOptimizer(tf, kind, [restoredWeights]);
      restored.restore(saved);
      for (let index = 2; index < steps; index++) step((gradients) => restored.apply(gradients, negatedRates, retention), index);
      expect(Array.from(restoredWeights.dataSync())).toEqual(Array.from(weights.dataSync()));
      expect(Array.from(kept.dataSync())).toEqual(Array.from(weights.dataSync().slice(4)));

      [weights, restoredWeights, kept, second, negatedRates, retention!].forEach((tensor) => tensor.dispose());
      [optimizer, restored, alone].forEach((used) => used.dispose());
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('without weight decay there is no retention to compute, and a zero decay leaves a member exactly as without', () => {
    expect(retentionOf(tf, [0.1, 0.2], [0, 0])).toBeUndefined();
    const [plain, decaying] = [stack(), stack()];
    const [withoutDecay, withDecay] = [createOptimizer(tf, 'momentum', [plain]), createOptimizer(tf, 'momentum', [decaying])];
    const { negatedRates, retention } = schedule();
    for (let index = 0; index < steps; index++) {
      step((gradients) => withoutDecay.apply(gradients, negatedRates), index);
      step((gradients) => withDecay.apply(gradients, negatedRates, retention), index);
    }
    // Member 1 has no decay: identical bits; member 0 decays: smaller in size.
    expect(Array.from(decaying.dataSync().slice(4))).toEqual(Array.from(plain.dataSync().slice(4)));
    const norm = (values: Float32Array) => Math.hypot(...values.slice(0, 4));
    expect(norm(decaying.dataSync())).toBeLessThan(norm(plain.dataSync()));
    [plain, decaying, negatedRates, retention!].forEach((tensor) => tensor.dispose());
    [withoutDecay, withDecay].forEach((used) => used.dispose());
  });

  it('reach the training loops: a stack with per-member weight decay trains each member as trainClassifier does alone', async () => {
    const before = tf.memory().numTensors;
    const shape = { inputDim: 4, hidden: [8], outputDim: 3 };
    const data = sampleClusters(new Rng(2), clusterTask(new Rng(1), { inputDim: 4, classes: 3, clustersPerClass: 1, separation: 1.5 }), 64);
    const setups = [
      { seed: 10, learningRate: 0.01, weightDecay: 1 },
      { seed: 11, learningRate: 0.02, weightDecay: 0 },
    ];
    for (const optimizer of ['momentum', 'rmsprop'] as const) {
      const common = { tf, epochs: 3, batchSize: 16, optimizer, session: standaloneSession() };
      const alone: Float32Array[] = [];
      for (const setup of setups) {
        const model = createMlp(tf, new Rng(setup.seed), shape);
        const train = uploadDataset(tf, data);
        await trainClassifier({ ...common, model, train, learningRate: setup.learningRate, weightDecay: setup.weightDecay, shuffle: new Rng(5) });
        alone.push(model.weights[0]!.dataSync().slice());
        [model, train].forEach((disposable) => disposable.dispose());
      }
      const model = createStackedMlp(
        tf,
        setups.map((setup) => new Rng(setup.seed)),
        shape,
      );
      const train = uploadStackedDataset(tf, [data, data]);
      await trainStacked({ ...common, model, train, members: setups.map((setup) => ({ ...setup, shuffle: new Rng(5) })) });
      const stacked = model.weights[0]!.dataSync();
      alone.forEach((own, m) => own.forEach((value, i) => expect(Math.abs(stacked[m * own.length + i]! - value)).toBeLessThan(1e-4)));
      [model, train].forEach((disposable) => disposable.dispose());
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
