import type { Rng, Tf } from '@axiom/runner';
import type { Scalar, Tensor1D, Tensor2D } from '@tensorflow/tfjs-core';
import type { Dataset, RegressionDataset } from './data.js';
import type { Mlp } from './mlp.js';

/** What the training loop needs, on the backend: inputs and per-example targets (one-hot labels or regression values). */
export interface TrainingSet {
  x: Tensor2D;
  targets: Tensor2D;
  dispose(): void;
}

/** A classification data set uploaded to the backend once; batches are gathered there, never copied back to JS. */
export interface DeviceDataset extends TrainingSet {
  source: Dataset;
  labels: Tensor1D;
}

export function uploadDataset(tf: Tf, data: Dataset): DeviceDataset {
  const x = tf.tensor2d(data.x, [data.size, data.inputDim]);
  const labels = tf.tensor1d(data.y, 'int32');
  const targets = tf.tidy(() => tf.cast(tf.oneHot(labels, data.classes), 'float32') as Tensor2D);
  return { source: data, x, labels, targets, dispose: () => [x, labels, targets].forEach((t) => t.dispose()) };
}

export function uploadRegressionDataset(tf: Tf, data: RegressionDataset): TrainingSet {
  const x = tf.tensor2d(data.x, [data.size, data.inputDim]);
  const targets = tf.tensor2d(data.targets, [data.size, data.outputDim]);
  return { x, targets, dispose: () => [x, targets].forEach((t) => t.dispose()) };
}

/** `cross-entropy`: softmax cross-entropy against one-hot targets; `mse`: mean squared error (regression). */
export type LossKind = 'cross-entropy' | 'mse';

/** The mean loss of a batch of network outputs. */
export function batchLoss(tf: Tf, kind: LossKind, targets: Tensor2D, outputs: Tensor2D): Scalar {
  return kind === 'mse' ? tf.losses.meanSquaredError(targets, outputs) : tf.losses.softmaxCrossEntropy(targets, outputs);
}

/** Calls `body` with the start and size of each consecutive batch of at most `batchSize` of `rows` rows. */
function forEachBatch(rows: number, batchSize: number, body: (start: number, size: number) => void): void {
  for (let start = 0; start < rows; start += batchSize) body(start, Math.min(batchSize, rows - start));
}

/** Predicted class per example, evaluated in large batches with one read back per batch. */
export function predictClasses(tf: Tf, model: Mlp, x: Tensor2D, batchSize = 4096): Int32Array {
  const predictions = new Int32Array(x.shape[0]);
  forEachBatch(x.shape[0], batchSize, (start, size) => {
    const batch = tf.tidy(() => tf.argMax(model.logits(tf.slice(x, [start, 0], [size, -1])), 1));
    predictions.set(batch.dataSync() as Int32Array, start);
    batch.dispose();
  });
  return predictions;
}

/** The model's mean loss over a whole data set, evaluated in large batches. */
export function evaluateLoss(tf: Tf, model: Mlp, data: TrainingSet, loss: LossKind, batchSize = 4096): number {
  const rows = data.x.shape[0];
  let total = 0;
  forEachBatch(rows, batchSize, (start, size) => {
    const batch = tf.tidy(() => batchLoss(tf, loss, tf.slice(data.targets, [start, 0], [size, -1]), model.logits(tf.slice(data.x, [start, 0], [size, -1]))));
    total += batch.dataSync()[0]! * size;
    batch.dispose();
  });
  return total / rows;
}

export function accuracy(predicted: ArrayLike<number>, labels: ArrayLike<number>, include?: (index: number) => boolean): number {
  let correct = 0;
  let total = 0;
  for (let i = 0; i < labels.length; i++) {
    if (include && !include(i)) continue;
    total++;
    if (predicted[i] === labels[i]) correct++;
  }
  return total === 0 ? 0 : correct / total;
}

/**
 * An endless sequence of fresh permutations of `rows`, handed out `length` at a time: reshuffled
 * epochs cut into equal rounds, however `length` compares with the number of rows.
 */
export function permutationStream(rng: Rng, rows: Int32Array, length: number): () => Int32Array {
  if (rows.length === 0) throw new RangeError('permutationStream needs at least one row');
  let current = new Int32Array(0);
  let used = 0;
  return () => {
    const visits = new Int32Array(length);
    for (let filled = 0; filled < length; ) {
      if (used === current.length) {
        current = rng.shuffle(Int32Array.from(rows));
        used = 0;
      }
      const taken = Math.min(length - filled, current.length - used);
      visits.set(current.subarray(used, used + taken), filled);
      filled += taken;
      used += taken;
    }
    return visits;
  };
}

export interface TrainOptions {
  tf: Tf;
  model: Mlp;
  train: TrainingSet;
  epochs: number;
  batchSize: number;
  learningRate: number;
  optimizer: 'sgd' | 'adam';
  /** Default `cross-entropy`. */
  loss?: LossKind;
  /**
   * The order examples are visited in each epoch: a seeded stream for a fresh permutation every
   * epoch, or a function giving epoch `epoch`'s (1-based) row indices, e.g. a curriculum.
   */
  shuffle: Rng | ((epoch: number) => Int32Array);
  /** The context's tick(): lets signals through and stops the loop when the run is aborted. */
  tick(): Promise<void>;
  progress?(fraction: number): void;
  /** Called after each epoch (1-based), e.g. to evaluate; returning `'stop'` ends training (early stopping). */
  onEpoch?(epoch: number): void | 'stop' | Promise<void | 'stop'>;
}

/** Minibatch training; one tidy scope per step, no reads back to JS. */
export async function trainClassifier(options: TrainOptions): Promise<void> {
  const { tf, model, train, epochs, batchSize, shuffle } = options;
  const loss = options.loss ?? 'cross-entropy';
  const optimizer = options.optimizer === 'adam' ? tf.train.adam(options.learningRate) : tf.train.sgd(options.learningRate);
  const size = train.x.shape[0];
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const order = tf.tensor1d(typeof shuffle === 'function' ? shuffle(epoch) : shuffle.permutation(size), 'int32');
      const visits = order.shape[0];
      try {
        for (let start = 0; start < visits; start += batchSize) {
          tf.tidy(() => {
            const indices = tf.slice(order, start, Math.min(batchSize, visits - start));
            const xs = tf.gather(train.x, indices);
            const ys = tf.gather(train.targets, indices);
            optimizer.minimize(() => batchLoss(tf, loss, ys, model.logits(xs)), false, model.variables);
          });
          await options.tick();
        }
      } finally {
        order.dispose();
      }
      const next = await options.onEpoch?.(epoch);
      options.progress?.(epoch / epochs);
      if (next === 'stop') break;
    }
  } finally {
    optimizer.dispose();
  }
}
