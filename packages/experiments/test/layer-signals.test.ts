import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@axiom/runner/host';
import { Rng, type Tf } from '@axiom/runner';
import { createStackedMlp, initialWeights, layerSignals } from '@axiom/experiments';
import type { Tensor3D } from '@tensorflow/tfjs-core';

const shape = { inputDim: 3, hidden: [4], outputDim: 2 };
const rows = 5;

describe('initial weight gain', () => {
  it("scales He's draw from the same stream; 1 is the default", () => {
    const he = initialWeights(new Rng(7), shape);
    expect(initialWeights(new Rng(7), shape, 1)).toEqual(he);
    initialWeights(new Rng(7), shape, 2.5).forEach((layer, l) => layer.forEach((value, i) => expect(value).toBeCloseTo(2.5 * he[l]![i]!, 6)));
  });
});

describe('layer signals', () => {
  let tf: Tf;
  beforeAll(async () => {
    ({ tf } = await initBackend({ forced: 'wasm' }));
  });

  const rng = new Rng(3);
  const x = Array.from({ length: rows * shape.inputDim }, () => rng.normal());
  const labels = [0, 1, 1, 0, 1];
  const rms = (values: number[]) => Math.sqrt(values.reduce((sum, v) => sum + v * v, 0) / values.length);

  /** One hidden ReLU layer by hand, zero biases: RMS of h and logits; of ∂ℓ/∂pre-activation, ℓ each example's own loss. */
  const byHand = (weights: Float32Array[]) => {
    const [w1, w2] = weights as [Float32Array, Float32Array];
    const [hidden, logits, hiddenGradient, logitGradient] = [[], [], [], []] as number[][];
    for (let n = 0; n < rows; n++) {
      const pre = Array.from({ length: 4 }, (_, j) => [0, 1, 2].reduce((sum, d) => sum + x[n * 3 + d]! * w1[d * 4 + j]!, 0));
      const h = pre.map((value) => Math.max(value, 0));
      const out = [0, 1].map((k) => h.reduce((sum, value, j) => sum + value * w2[j * 2 + k]!, 0));
      const softmax = out.map((value) => Math.exp(value) / (Math.exp(out[0]!) + Math.exp(out[1]!)));
      const outGradient = softmax.map((p, k) => p - (labels[n] === k ? 1 : 0));
      hidden.push(...h);
      logits.push(...out);
      logitGradient.push(...outGradient);
      hiddenGradient.push(...pre.map((value, j) => (value > 0 ? outGradient.reduce((sum, g, k) => sum + g * w2[j * 2 + k]!, 0) : 0)));
    }
    return { activationRms: [rms(hidden), rms(logits)], gradientRms: [rms(hiddenGradient), rms(logitGradient)] };
  };

  it('are the RMS of each layer’s output and of each example’s loss gradient at its pre-activation, per member and gain', async () => {
    const gains = [1, 0.5, 3];
    const model = createStackedMlp(
      tf,
      gains.map(() => new Rng(9)),
      shape,
      undefined,
      gains,
    );
    const before = tf.memory().numTensors;
    const xs = tf.tensor2d(x, [rows, shape.inputDim]);
    const targets = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), 2).toFloat());
    const signals = await layerSignals(tf, model, { x: xs, targets }, 'cross-entropy');
    [xs, targets].forEach((t) => t.dispose());
    expect(tf.memory().numTensors).toBe(before);
    gains.forEach((gain, m) => {
      const expected = byHand(initialWeights(new Rng(9), shape, gain));
      signals[m]!.activationRms.forEach((value, l) => expect(value).toBeCloseTo(expected.activationRms[l]!, 5));
      signals[m]!.gradientRms.forEach((value, l) => expect(value).toBeCloseTo(expected.gradientRms[l]!, 5));
    });
    // ReLU is homogeneous and biases start at zero: the hidden layer scales by the gain, the logits by its square.
    expect(signals[2]!.activationRms[0]! / signals[0]!.activationRms[0]!).toBeCloseTo(3, 5);
    expect(signals[2]!.activationRms[1]! / signals[0]!.activationRms[1]!).toBeCloseTo(9, 4);
    model.dispose();
  });

  it('zero shifts leave the forward pass unchanged', () => {
    const model = createStackedMlp(tf, [new Rng(1), new Rng(2)], shape);
    const [plain, shifted] = tf.tidy(() => {
      const xs = tf.tensor2d(x, [rows, shape.inputDim]);
      const shifts = model.weights.map((weight) => tf.zeros([2, rows, weight.shape[2]!]) as Tensor3D);
      return [model.logits(xs).arraySync(), model.layers(xs, shifts).at(-1)!.arraySync()];
    });
    expect(shifted).toEqual(plain);
    model.dispose();
  });
});
