import { type Rng, type Snapshot, snapshotSchema, type Tf, type TrainingSession } from '@axiom/runner';
import type { Scalar, Tensor, Tensor1D, Tensor2D, Tensor3D } from '@tensorflow/tfjs-core';
import { z } from 'zod';
import type { Dataset, RegressionDataset } from './data.js';
import type { Mlp } from './mlp.js';
import { assignValues, createOptimizer, readValues, type OptimizerKind } from './optimizer.js';

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

/**
 * `cross-entropy`: softmax cross-entropy against one-hot targets; `mse`: mean squared error (regression);
 * `binary-cross-entropy`: each output a separate yes/no answer (sigmoid cross-entropy against 0/1 targets,
 * averaged over outputs), for answers of several independent binary parts.
 */
export type LossKind = 'cross-entropy' | 'mse' | 'binary-cross-entropy';

/** The mean loss of a batch of network outputs. */
export function batchLoss(tf: Tf, kind: LossKind, targets: Tensor2D, outputs: Tensor2D): Scalar {
  if (kind === 'binary-cross-entropy') return tf.losses.sigmoidCrossEntropy(targets, outputs);
  return kind === 'mse' ? tf.losses.meanSquaredError(targets, outputs) : tf.losses.softmaxCrossEntropy(targets, outputs);
}

/** Calls `body` with the start and size of each consecutive batch of at most `batchSize` of `rows` rows. */
export function forEachBatch(rows: number, batchSize: number, body: (start: number, size: number) => void): void {
  for (let start = 0; start < rows; start += batchSize) body(start, Math.min(batchSize, rows - start));
}

/** Rows `start` to `start + size` of a matrix, or of each matrix in a stack ([M, rows, columns]). */
export function sliceRows<T extends Tensor2D | Tensor3D>(tf: Tf, data: T, start: number, size: number): T {
  return data.rank === 2 ? tf.slice(data, [start, 0], [size, -1]) : tf.slice(data, [0, start, 0], [-1, size, -1]);
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
  await readBatches(
    tf,
    x.shape[0],
    batchSize,
    (start, size) => tf.argMax(model.logits(sliceRows(tf, x, start, size)), 1),
    (values, start) => predictions.set(values, start),
  );
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
    for (let filled = 0; filled < length;) {
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
  optimizer: OptimizerKind;
  /** Default `cross-entropy`. */
  loss?: LossKind;
  /** The sweep group's session: progress, signals, and checkpoints inside training. */
  session: TrainingSession;
}

/** A training loop's own parts, for `runEpochs`. */
export interface EpochLoop<Order extends Tensor1D | Tensor2D> {
  /** Epoch `epoch`'s visit order on the backend (row indices on its last axis); draws from the order streams. */
  order(epoch: number): Order;
  step(batchIndices: Order): void;
  /** After each epoch (1-based); true ends training early. */
  endEpoch(epoch: number): Promise<boolean>;
  /** The loop's state besides its position (weights, optimizer), for checkpoints. */
  save(): Promise<Snapshot>;
  restore(saved: Snapshot): void;
}

const loopPositionSchema = z.strictObject({ epoch: z.number().int().min(1), batch: z.number().int().min(0), loop: snapshotSchema });

/**
 * The epochs every training loop shares: each epoch's visit order is uploaded once, cut into batches, and
 * each batch's indices go to `step` inside one tidy scope, with no reads back to JS. After every step the
 * session may checkpoint the loop (its position and `loop.save()`); a restart restores it, draws the visit
 * orders of the epochs so far again (so every order stream and schedule is where it was) and continues
 * with the next step.
 */
export async function runEpochs<Order extends Tensor1D | Tensor2D>(options: TrainingLoopOptions, loop: EpochLoop<Order>): Promise<void> {
  const { tf, epochs, batchSize, session } = options;
  let epoch = 1;
  let batch = 0;
  let resumedOrder: Order | undefined;
  const training = await session.beginTraining({
    save: async () => ({ epoch, batch, loop: await loop.save() }),
    restore: (saved) => {
      const position = loopPositionSchema.parse(saved);
      ({ epoch, batch } = position);
      loop.restore(position.loop);
      for (let earlier = 1; earlier < epoch; earlier++) loop.order(earlier).dispose();
      resumedOrder = loop.order(epoch);
    },
  });
  if (!training) return;
  try {
    for (; epoch <= epochs; epoch++, batch = 0) {
      const order = resumedOrder ?? loop.order(epoch);
      resumedOrder = undefined;
      const visits = order.shape.at(-1)!;
      const batches = Math.ceil(visits / batchSize);
      try {
        while (batch < batches) {
          const start = batch * batchSize;
          const size = Math.min(batchSize, visits - start);
          tf.tidy(() => loop.step(order.rank === 1 ? tf.slice(order, start, size) : tf.slice(order, [0, start], [-1, size])));
          batch++;
          session.progress((epoch - 1 + batch / batches) / epochs, `epoch ${epoch}/${epochs}`);
          await training.stepDone();
        }
      } finally {
        order.dispose();
      }
      if (await loop.endEpoch(epoch)) break;
    }
  } finally {
    training.end();
  }
}

export interface TrainOptions extends TrainingLoopOptions {
  model: Mlp;
  train: TrainingSet;
  learningRate: number;
  /** Decoupled weight decay wd (w ← w·(1 − lr·wd) before each step, as torch.optim.AdamW); default 0, none. */
  weightDecay?: number;
  shuffle: VisitOrder;
  /** Called after each epoch (1-based), e.g. to evaluate; returning `'stop'` ends training (early stopping). */
  onEpoch?(epoch: number): void | 'stop' | Promise<void | 'stop'>;
}

/** Minibatch training; one tidy scope per step, no reads back to JS; resumable inside training. */
export async function trainClassifier(options: TrainOptions): Promise<void> {
  const { tf, model, train, shuffle } = options;
  const loss = options.loss ?? 'cross-entropy';
  const optimizer = createOptimizer(tf, options.optimizer, model.variables);
  const negatedRate = tf.scalar(-options.learningRate);
  const retention = options.weightDecay ? tf.scalar(1 - options.learningRate * options.weightDecay) : undefined;
  const rows = train.x.shape[0];
  try {
    await runEpochs(options, {
      order: (epoch) => tf.tensor1d(visitsOf(shuffle, epoch, rows), 'int32'),
      step: (indices) => {
        const xs = tf.gather(train.x, indices);
        const ys = tf.gather(train.targets, indices);
        const { grads } = tf.variableGrads(() => batchLoss(tf, loss, ys, model.logits(xs)), model.variables);
        optimizer.apply(
          model.variables.map((variable) => grads[variable.name]!),
          negatedRate,
          retention,
        );
      },
      endEpoch: async (epoch) => (await options.onEpoch?.(epoch)) === 'stop',
      save: async () => ({ weights: await Promise.all(model.variables.map(readValues)), optimizer: await optimizer.save() }),
      restore: (saved) => {
        const { weights, optimizer: optimizerState } = savedClassifierSchema.parse(saved);
        model.variables.forEach((variable, i) => assignValues(tf, variable, weights[i] ?? null));
        optimizer.restore(optimizerState);
      },
    });
  } finally {
    optimizer.dispose();
    negatedRate.dispose();
    retention?.dispose();
  }
}

const savedClassifierSchema = z.strictObject({ weights: z.array(z.instanceof(Float32Array)), optimizer: snapshotSchema });
