import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@axiom/runner/host';
import { Rng, type Tf } from '@axiom/runner';
import { copyStackedMembers, createStackedMlp, estimateNoiseScale, initialWeights, meanBatchGradientSquaredNorms } from '@axiom/experiments';

describe('simple noise scale estimate (McCandlish et al. 2018, Appendix A)', () => {
  it('recovers |G|² and tr(Σ) from E|G_B|² = |G|² + tr(Σ)/B at two batch sizes', () => {
    // |G|² = 2, tr(Σ) = 30: E|G_10|² = 5, E|G_100|² = 2.3.
    const estimate = estimateNoiseScale({ batchSize: 10, meanSquaredNorm: 5 }, { batchSize: 100, meanSquaredNorm: 2.3 });
    expect(estimate.gradientSquaredNorm).toBeCloseTo(2, 12);
    expect(estimate.traceCovariance).toBeCloseTo(30, 12);
    expect(estimate.simpleNoiseScale).toBeCloseTo(15, 12);
  });

  it('is null when the estimate of |G|² is not positive, and needs the big batch to be bigger', () => {
    expect(estimateNoiseScale({ batchSize: 10, meanSquaredNorm: 5 }, { batchSize: 100, meanSquaredNorm: 0.4 }).simpleNoiseScale).toBeNull();
    expect(() => estimateNoiseScale({ batchSize: 10, meanSquaredNorm: 5 }, { batchSize: 10, meanSquaredNorm: 4 })).toThrow(RangeError);
  });
});

describe('minibatch gradient norms', () => {
  let tf: Tf;
  beforeAll(async () => {
    ({ tf } = await initBackend({ forced: 'wasm' }));
  });

  const [rows, inputDim, classes] = [7, 3, 2];
  const dataRng = new Rng(4);
  const x = Array.from({ length: rows * inputDim }, () => dataRng.normal());
  const labels = Array.from({ length: rows }, () => dataRng.int(classes));

  /** A linear model's (no hidden layer, zero bias) mean-loss gradient on some rows, squared norm, by hand: Xᵀ(P − Y)/n and Σ(P − Y)/n. */
  const squaredNorm = (weights: Float32Array, batch: number[]) => {
    const weightGradient = new Array<number>(inputDim * classes).fill(0);
    const biasGradient = new Array<number>(classes).fill(0);
    for (const row of batch) {
      const logits = Array.from({ length: classes }, (_, k) =>
        Array.from({ length: inputDim }, (_, d) => x[row * inputDim + d]! * weights[d * classes + k]!).reduce((a, b) => a + b),
      );
      const total = logits.reduce((sum, logit) => sum + Math.exp(logit), 0);
      logits.forEach((logit, k) => {
        const residual = (Math.exp(logit) / total - (labels[row] === k ? 1 : 0)) / batch.length;
        biasGradient[k]! += residual;
        for (let d = 0; d < inputDim; d++) weightGradient[d * classes + k]! += x[row * inputDim + d]! * residual;
      });
    }
    return [...weightGradient, ...biasGradient].reduce((sum, value) => sum + value * value, 0);
  };

  it("are each member's mean over draws of its own rows, drawn with replacement in member order", async () => {
    const shape = { inputDim, hidden: [], outputDim: classes };
    const stack = createStackedMlp(tf, [new Rng(1), new Rng(2), new Rng(3)], shape);
    // A copy of members 2 and 0 (current weights), as a probe of one member on its own would use.
    const model = copyStackedMembers(tf, stack, [2, 0]);
    stack.dispose();
    const data = tf.tidy(() => ({ x: tf.tensor2d(x, [rows, inputDim]), targets: tf.oneHot(tf.tensor1d(labels, 'int32'), classes).toFloat() }));
    const before = tf.memory().numTensors;
    const [batchSize, draws] = [3, 4];
    const norms = await meanBatchGradientSquaredNorms(tf, model, data, 'cross-entropy', new Rng(9), batchSize, draws);
    expect(tf.memory().numTensors).toBe(before);

    const replay = new Rng(9);
    const expected = [0, 0];
    for (let draw = 0; draw < draws; draw++) {
      const indices = Array.from({ length: 2 * batchSize }, () => replay.int(rows));
      [2, 0].forEach((source, m) => {
        const [weights] = initialWeights(new Rng(source + 1), shape);
        expected[m]! += squaredNorm(weights!, indices.slice(m * batchSize, (m + 1) * batchSize)) / draws;
      });
    }
    norms.forEach((norm, m) => expect(norm).toBeCloseTo(expected[m]!, 6));
    model.dispose();
    [data.x, data.targets].forEach((t) => t.dispose());
  });
});
