import type { Rng, Tf } from '@axiom/runner';
import type { Tensor1D, Tensor2D } from '@tensorflow/tfjs-core';
import type { Dataset } from './data.js';
import type { Mlp } from './mlp.js';

/** A data set uploaded to the backend once; batches are gathered there, never copied back to JS. */
export interface DeviceDataset {
  source: Dataset;
  x: Tensor2D;
  labels: Tensor1D;
  oneHot: Tensor2D;
  dispose(): void;
}

export function uploadDataset(tf: Tf, data: Dataset): DeviceDataset {
  const x = tf.tensor2d(data.x, [data.size, data.inputDim]);
  const labels = tf.tensor1d(data.y, 'int32');
  const oneHot = tf.tidy(() => tf.cast(tf.oneHot(labels, data.classes), 'float32') as Tensor2D);
  return { source: data, x, labels, oneHot, dispose: () => [x, labels, oneHot].forEach((t) => t.dispose()) };
}

/** Predicted class per example, evaluated in large batches with one read back per batch. */
export function predictClasses(tf: Tf, model: Mlp, x: Tensor2D, batchSize = 4096): Int32Array {
  const rows = x.shape[0];
  const predictions = new Int32Array(rows);
  for (let start = 0; start < rows; start += batchSize) {
    const size = Math.min(batchSize, rows - start);
    const batch = tf.tidy(() => tf.argMax(model.logits(tf.slice(x, [start, 0], [size, -1])), 1));
    predictions.set(batch.dataSync() as Int32Array, start);
    batch.dispose();
  }
  return predictions;
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

export interface TrainOptions {
  tf: Tf;
  model: Mlp;
  train: DeviceDataset;
  epochs: number;
  batchSize: number;
  learningRate: number;
  optimizer: 'sgd' | 'adam';
  /** Seeded stream for the per-epoch shuffles. */
  shuffle: Rng;
  /** The context's tick(): lets signals through and stops the loop when the run is aborted. */
  tick(): Promise<void>;
  progress?(fraction: number): void;
  /** Called after each epoch (1-based), e.g. to evaluate. */
  onEpoch?(epoch: number): void | Promise<void>;
}

/** Minibatch training with softmax cross-entropy; one tidy scope per step, no reads back to JS. */
export async function trainClassifier(options: TrainOptions): Promise<void> {
  const { tf, model, train, epochs, batchSize } = options;
  const optimizer = options.optimizer === 'adam' ? tf.train.adam(options.learningRate) : tf.train.sgd(options.learningRate);
  const size = train.source.size;
  const stepsPerEpoch = Math.ceil(size / batchSize);
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = tf.tensor1d(options.shuffle.permutation(size), 'int32');
      try {
        for (let step = 0; step < stepsPerEpoch; step++) {
          const start = step * batchSize;
          tf.tidy(() => {
            const indices = tf.slice(order, start, Math.min(batchSize, size - start));
            const xs = tf.gather(train.x, indices);
            const ys = tf.gather(train.oneHot, indices);
            optimizer.minimize(() => tf.losses.softmaxCrossEntropy(ys, model.logits(xs)), false, model.variables);
          });
          await options.tick();
        }
      } finally {
        order.dispose();
      }
      await options.onEpoch?.(epoch + 1);
      options.progress?.((epoch + 1) / epochs);
    }
  } finally {
    optimizer.dispose();
  }
}
