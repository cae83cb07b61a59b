import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@axiom/runner/host';
import { Rng, type Tf } from '@axiom/runner';
import { createMlp, createStackedMlp } from '@axiom/experiments';

describe('the hidden activation', () => {
  let tf: Tf;
  beforeAll(async () => {
    ({ tf } = await initBackend({ forced: 'wasm' }));
  });
  const shape = { inputDim: 4, hidden: [6, 5], outputDim: 3 };
  const inputs = () =>
    tf.tensor2d(
      Float32Array.from({ length: 20 }, (_, i) => Math.sin(i) * 3),
      [5, 4],
    );

  it('is ReLU by default and tanh when the shape says so, in the plain and the stacked network alike', () => {
    const before = tf.memory().numTensors;
    for (const activation of [undefined, 'relu', 'tanh'] as const) {
      const plain = createMlp(tf, new Rng(1), { ...shape, activation });
      const stacked = createStackedMlp(tf, [new Rng(2), new Rng(1)], { ...shape, activation });
      const [plainLayers, stackedLayers] = tf.tidy(() => {
        const x = inputs();
        return [plain.layers(x).map((layer) => layer.arraySync()), stacked.layers(x).map((layer) => layer.arraySync()[1]!)];
      });
      // The first hidden layer is the activation of x·W + b (b = 0 at initialisation).
      const preActivation = tf.tidy(() => tf.matMul(inputs(), plain.weights[0]!).arraySync());
      const expected = preActivation.map((row) => row.map((value) => (activation === 'tanh' ? Math.tanh(value) : Math.max(value, 0))));
      plainLayers[0]!.forEach((row, i) => row.forEach((value, j) => expect(value).toBeCloseTo(expected[i]![j]!, 5)));
      // The stacked member drawn from the same stream computes the same layers.
      plainLayers.forEach((layer, l) => layer.forEach((row, i) => row.forEach((value, j) => expect(stackedLayers[l]![i]![j]).toBeCloseTo(value, 5))));
      plain.dispose();
      stacked.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
