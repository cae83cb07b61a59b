/**
 * The simple gradient noise scale B_simple = tr(Σ)/|G|² (McCandlish et al. 2018, "An empirical model of
 * large-batch training"): G the full-data gradient, Σ the per-example gradient covariance. A minibatch
 * gradient of B examples drawn with replacement has E|G_B|² = |G|² + tr(Σ)/B, so mean squared norms at
 * two batch sizes give unbiased estimates of both (their Appendix A).
 */
import type { Rng, Tf } from '@axiom/runner';
import type { Tensor, Tensor2D, Tensor3D } from '@tensorflow/tfjs-core';
import { memberLosses, type StackedMlp } from './stacked.js';
import type { LossKind } from './train.js';

/** Mean squared norm of minibatch gradients of one batch size. */
export interface BatchGradientNorms {
  batchSize: number;
  meanSquaredNorm: number;
}

export type NoiseScaleEstimate = {
  /** Estimated |G|². */
  gradientSquaredNorm: number;
  /** Estimated tr(Σ). */
  traceCovariance: number;
  /** tr(Σ)/|G|²; null when the estimate of |G|² is not positive (too few draws for a noise-dominated gradient). */
  simpleNoiseScale: number | null;
};

/** Appendix A's unbiased estimates from the mean squared gradient norms at a small and a big batch size. */
export function estimateNoiseScale(small: BatchGradientNorms, big: BatchGradientNorms): NoiseScaleEstimate {
  if (!(big.batchSize > small.batchSize))
    throw new RangeError(`estimateNoiseScale: the big batch (${big.batchSize}) must exceed the small (${small.batchSize})`);
  const gradientSquaredNorm = (big.batchSize * big.meanSquaredNorm - small.batchSize * small.meanSquaredNorm) / (big.batchSize - small.batchSize);
  const traceCovariance = (small.meanSquaredNorm - big.meanSquaredNorm) / (1 / small.batchSize - 1 / big.batchSize);
  return { gradientSquaredNorm, traceCovariance, simpleNoiseScale: gradientSquaredNorm > 0 ? traceCovariance / gradientSquaredNorm : null };
}

/**
 * For each member of a stack: the squared norm of its mean-loss gradient (all weights and biases) on
 * each of `draws` minibatches of `batchSize` rows drawn with replacement from the shared data set;
 * every member gets its own rows. Returns per member the mean over its draws.
 */
export async function meanBatchGradientSquaredNorms(
  tf: Tf,
  model: StackedMlp,
  data: { x: Tensor2D; targets: Tensor2D },
  loss: LossKind,
  rng: Rng,
  batchSize: number,
  draws: number,
): Promise<number[]> {
  const rows = data.x.shape[0];
  const totals = tf.tidy(() => {
    let sum = tf.zeros([model.members]);
    for (let draw = 0; draw < draws; draw++) {
      const indices = tf.tensor2d(
        Int32Array.from({ length: model.members * batchSize }, () => rng.int(rows)),
        [model.members, batchSize],
        'int32',
      );
      // Rows [M, batch] gather each member's own batch: [M, batch, k].
      const rowsOf = (tensor: Tensor) => tf.gather(tensor, indices) as Tensor3D;
      const [xs, ys] = [rowsOf(data.x), rowsOf(data.targets)];
      const { grads } = tf.variableGrads(() => tf.sum(memberLosses(tf, loss, ys, model.logits(xs))), model.variables);
      const squared = model.variables.map((variable) => tf.sum(tf.square(grads[variable.name]!), [1, 2]));
      sum = tf.add(sum, tf.addN(squared));
    }
    return tf.div(sum, draws);
  });
  return Array.from(await totals.data().finally(() => totals.dispose()));
}

/** The options of a noise-scale estimate: the two batch sizes, and the minibatch gradients drawn at each. */
export interface NoiseScaleOptions {
  smallBatch: number;
  bigBatch: number;
  draws: number;
}

/** Each member's B_simple and its parts, from `draws` minibatch gradients at each of the two batch sizes. */
export async function estimateMemberNoiseScales(
  tf: Tf,
  model: StackedMlp,
  data: { x: Tensor2D; targets: Tensor2D },
  loss: LossKind,
  rng: Rng,
  { smallBatch, bigBatch, draws }: NoiseScaleOptions,
): Promise<NoiseScaleEstimate[]> {
  const small = await meanBatchGradientSquaredNorms(tf, model, data, loss, rng, smallBatch, draws);
  const big = await meanBatchGradientSquaredNorms(tf, model, data, loss, rng, bigBatch, draws);
  return small.map((meanSquaredNorm, m) => estimateNoiseScale({ batchSize: smallBatch, meanSquaredNorm }, { batchSize: bigBatch, meanSquaredNorm: big[m]! }));
}
