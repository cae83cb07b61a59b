import type { Rng, Tf } from '@axiom/runner';
import type { Scalar, Tensor, Tensor1D, Tensor2D, Tensor3D } from '@tensorflow/tfjs-core';
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
export function forEachBatch(rows: number, batchSize: number, body: (start: number, size: number) => void): void {
  for (let start = 0; start < rows; start += batchSize) body(start, Math.min(batchSize, rows - start));
}

/** Rows `start` to `start + size` of a matrix, or of each matrix in a stack ([M, rows, columns]). */
export function sliceRows<T extends Tensor2D | Tensor3D>(tf: Tf, data: T, start: number, size: number): T {
  return (data.rank === 2 ? tf.slice(data, [start, 0], [size, -1]) : tf.slice(data, [0, start, 0], [-1, size, -1])) as T;
}

/**
 * Evaluates `compute` on each batch of `rows` rows and hands its values, read back asynchronously (the only
 * read the WebGPU backend has in Node), to `consume`. One read back per batch; every batch tensor is freed.
 */
export async function readBatches(
  tf: Tf,
  rows: number,
  batchSize: number,
  compute: (start: number, size: number) => Tensor,
  consume: (values: Float32Array | Int32Array | Uint8Array, start: number, size: number) => void,
): Promise<void> {
  for (let start = 0; start < rows; start += batchSize) {
    const size = Math.min(batchSize, rows - start);
    const batch = tf.tidy(() => compute(start, size));
    try {
      consume(await batch.data(), start, size);
    } finally {
      batch.dispose();
    }
  }
}

/** Predicted class per example, evaluated in large batches with one read back per batch. */
export async function predictClasses(tf: Tf, model: Mlp, x: Tensor2D, batchSize = 4096): Promise<Int32Array> {
  const predictions = new Int32Array(x.shape[0]);
  await readBatches(tf, x.shape[0], batchSize, (start, size) => tf.argMax(model.logits(sliceRows(tf, x, start, size)), 1), (values, start) => predictions.set(values, start));
  return predictions;
}

/** The model's mean loss over a whole data set, evaluated in large batches. */
export async function evaluateLoss(tf: Tf, model: Mlp, data: TrainingSet, loss: LossKind, batchSize = 4096): Promise<number> {
  const rows = data.x.shape[0];
  let total = 0;
  await readBatches(
    tf,
    rows,
    batchSize,
    (start, size) => batchLoss(tf, loss, sliceRows(tf, data.targets, start, size), model.logits(sliceRows(tf, data.x, start, size))),
    (values, _start, size) => (total += values[0]! * size),
  );
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

/**
 * The order examples are visited in each epoch: a seeded stream for a fresh permutation every epoch,
 * or a function giving epoch `epoch`'s (1-based) row indices, e.g. a curriculum.
 */
export type VisitOrder = Rng | ((epoch: number) => Int32Array);

/** Epoch `epoch`'s row indices under `order`, for a training set of `rows` rows. */
export function visitsOf(order: VisitOrder, epoch: number, rows: number): Int32Array {
  return typeof order === 'function' ? order(epoch) : order.permutation(rows);
}

/** What every training loop takes besides the model, the data and the optimizer. */
export interface TrainingLoopOptions {
  tf: Tf;
  epochs: number;
  batchSize: number;
  optimizer: 'sgd' | 'adam';
  /** Default `cross-entropy`. */
  loss?: LossKind;
  /** The context's tick(): lets signals through and stops the loop when the run is aborted. */
  tick(): Promise<void>;
  progress?(fraction: number): void;
}

/**
 * The epochs both training loops share: each epoch's visit order is uploaded once (row indices on its
 * last axis), cut into batches, and each batch's indices go to `step` inside one tidy scope, with a
 * tick between steps and no reads back to JS; `endEpoch` returning true ends training early.
 */
export async function runEpochs<Order extends Tensor1D | Tensor2D>(
  options: TrainingLoopOptions,
  epochOrder: (epoch: number) => Order,
  step: (batchIndices: Order) => void,
  endEpoch: (epoch: number) => Promise<boolean>,
): Promise<void> {
  const { tf, epochs, batchSize } = options;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const order = epochOrder(epoch);
    const visits = order.shape.at(-1)!;
    try {
      for (let start = 0; start < visits; start += batchSize) {
        const size = Math.min(batchSize, visits - start);
        tf.tidy(() => step(order.rank === 1 ? tf.slice(order, start, size) : tf.slice(order, [0, start], [-1, size])));
        await options.tick();
      }
    } finally {
      order.dispose();
    }
    const stop = await endEpoch(epoch);
    options.progress?.(epoch / epochs);
    if (stop) break;
  }
}

export interface TrainOptions extends TrainingLoopOptions {
  model: Mlp;
  train: TrainingSet;
  learningRate: number;
  shuffle: VisitOrder;
  /** Called after each epoch (1-based), e.g. to evaluate; returning `'stop'` ends training (early stopping). */
  onEpoch?(epoch: number): void | 'stop' | Promise<void | 'stop'>;
}

/** Minibatch training; one tidy scope per step, no reads back to JS. */
export async function trainClassifier(options: TrainOptions): Promise<void> {
  const { tf, model, train, shuffle } = options;
  const loss = options.loss ?? 'cross-entropy';
  const optimizer = options.optimizer === 'adam' ? tf.train.adam(options.learningRate) : tf.train.sgd(options.learningRate);
  const rows = train.x.shape[0];
  try {
    await runEpochs(
      options,
      (epoch) => tf.tensor1d(visitsOf(shuffle, epoch, rows), 'int32'),
      (indices) => {
        const xs = tf.gather(train.x, indices);
        const ys = tf.gather(train.targets, indices);
        optimizer.minimize(() => batchLoss(tf, loss, ys, model.logits(xs)), false, model.variables);
      },
      async (epoch) => (await options.onEpoch?.(epoch)) === 'stop',
    );
  } finally {
    optimizer.dispose();
  }
}
