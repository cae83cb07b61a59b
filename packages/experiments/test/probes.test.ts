import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@axiom/runner/host';
import { Rng, type Tf } from '@axiom/runner';
import { createStackedMlp, evaluateStackedLoss, firstLayerGradientNorms, type LossKind, type TrainingSet } from '@axiom/experiments';

const rows = 6;
const inputDim = 4;
const outputDim = 3;
const groups = [[0, 1], [3]];

describe('first-layer gradient-norm probes', () => {
  let tf: Tf;
  beforeAll(async () => {
    ({ tf } = await initBackend({ forced: 'wasm' }));
  });

  const rng = new Rng(11);
  const x = Array.from({ length: rows * inputDim }, () => rng.normal());
  const oneHot = Array.from({ length: rows * outputDim }, (_, i) => (i % outputDim === (Math.floor(i / outputDim) * 2) % outputDim ? 1 : 0));
  const data = (): TrainingSet => {
    const xs = tf.tensor2d(x, [rows, inputDim]);
    const targets = tf.tensor2d(oneHot, [rows, outputDim]);
    return { x: xs, targets, dispose: () => [xs, targets].forEach((t) => t.dispose()) };
  };
  const groupNorms = (gradient: (row: number, column: number) => number) =>
    groups.map((group) =>
      Math.sqrt(group.reduce((sum, row) => sum + Array.from({ length: outputDim }, (_, j) => gradient(row, j) ** 2).reduce((a, b) => a + b, 0), 0)),
    );

  /** For a linear model (no hidden layer) the gradient has a closed form: Xᵀ(P − Y)/n, or 2Xᵀ(XW − Y)/(n·q) for MSE. */
  const handGradient = (weights: Float32Array, loss: LossKind) => {
    const residual = Array.from({ length: rows }, (_, n) => {
      const outputs = Array.from({ length: outputDim }, (_, j) =>
        x.slice(n * inputDim, (n + 1) * inputDim).reduce((sum, value, d) => sum + value * weights[d * outputDim + j]!, 0),
      );
      const softmax = outputs.map((value) => Math.exp(value) / outputs.reduce((sum, other) => sum + Math.exp(other), 0));
      return Array.from({ length: outputDim }, (_, j) =>
        loss === 'mse' ? (2 * (outputs[j]! - oneHot[n * outputDim + j]!)) / (rows * outputDim) : (softmax[j]! - oneHot[n * outputDim + j]!) / rows,
      );
    });
    return (row: number, column: number) => residual.reduce((sum, r, n) => sum + x[n * inputDim + row]! * r[column]!, 0);
  };

  // Batches of 4 rows split the 6 unevenly: the batch gradients must be weighted by their share of the rows.
  for (const [loss, batchSize] of [
    ['cross-entropy', 512],
    ['mse', 512],
    ['cross-entropy', 4],
    ['mse', 4],
  ] as const) {
    it(`match the closed-form gradient of a linear model (${loss}, batches of ${batchSize} rows) for each member of a stack and leak no tensors`, async () => {
      const before = tf.memory().numTensors;
      const model = createStackedMlp(tf, [new Rng(12), new Rng(14)], { inputDim, hidden: [], outputDim });
      const set = data();
      const norms = await firstLayerGradientNorms(tf, model, set, loss, groups, batchSize);
      const size = inputDim * outputDim;
      norms.forEach((memberNorms, m) => {
        const expected = groupNorms(handGradient(model.weights[0]!.dataSync().slice(m * size, (m + 1) * size) as Float32Array, loss));
        memberNorms.forEach((norm, i) => expect(norm).toBeCloseTo(expected[i]!, 5));
      });
      model.dispose();
      set.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('match central finite differences through a hidden ReLU layer', async () => {
    const model = createStackedMlp(tf, [new Rng(13)], { inputDim, hidden: [5], outputDim });
    const set = data();
    const firstLayer = model.weights[0]!;
    const original = firstLayer.dataSync().slice() as Float32Array;
    const lossWith = async (index: number, delta: number) => {
      const shifted = original.slice();
      shifted[index]! += delta;
      tf.tidy(() => firstLayer.assign(tf.tensor3d(shifted, [1, inputDim, 5])));
      return (await evaluateStackedLoss(tf, model, set, 'cross-entropy'))[0]!;
    };
    const step = 1e-2;
    const finiteDifference = async (row: number, column: number) =>
      ((await lossWith(row * 5 + column, step)) - (await lossWith(row * 5 + column, -step))) / (2 * step);
    const expected: number[] = [];
    for (const group of groups) {
      const differences: number[] = [];
      for (const row of group) for (let j = 0; j < 5; j++) differences.push(await finiteDifference(row, j));
      expected.push(Math.hypot(...differences));
    }
    tf.tidy(() => firstLayer.assign(tf.tensor3d(original, [1, inputDim, 5])));
    const [norms] = await firstLayerGradientNorms(tf, model, set, 'cross-entropy', groups);
    norms!.forEach((norm, i) => expect(Math.abs(norm - expected[i]!)).toBeLessThan(2e-3 * Math.max(1, expected[i]!)));
    model.dispose();
    set.dispose();
  });
});
