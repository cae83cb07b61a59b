import type { Tf } from '@axiom/runner';
import type { Rank, Scalar, Tensor, Tensor3D } from '@tensorflow/tfjs-core';
import { memberLosses, type StackedData, type StackedMlp } from './stacked.js';
import { forEachBatch, sliceRows, type LossKind } from './train.js';

/**
 * For each member of a stack and each group of input columns, the Frobenius norm of the gradient of
 * the member's mean loss over `data` with respect to its first-layer weight rows that read those
 * columns: how hard training currently pulls on the network's use of that input feature (Pezeshki et
 * al. 2021, "Gradient starvation"). Returns one array per member, one norm per group.
 */
export async function firstLayerGradientNorms(
  tf: Tf,
  model: StackedMlp,
  data: StackedData,
  loss: LossKind,
  columnGroups: ReadonlyArray<readonly number[]>,
  batchSize = 512,
): Promise<number[][]> {
  const firstLayer = model.weights[0]!;
  const rows = data.x.shape.at(-2)!;
  if (rows === 0) throw new Error('gradient-norm probe over an empty data set');
  // The mean loss's gradient, summed over row batches (each weighted by its share of the rows): only one
  // batch's activations are held for backprop at a time, not the whole data set's.
  let gradient: Tensor | undefined;
  try {
    forEachBatch(rows, batchSize, (start, size) => {
      const sum = tf.tidy(() => {
        const targets = sliceRows(tf, data.targets, start, size);
        const batchLoss = (): Scalar => tf.sum(tf.mul(memberLosses(tf, loss, targets, model.logits(sliceRows(tf, data.x, start, size))), size / rows));
        const part = tf.variableGrads(batchLoss, [firstLayer]).grads[firstLayer.name]!;
        return gradient ? tf.add(gradient, part) : part;
      });
      gradient?.dispose();
      gradient = sum;
    });
  } catch (error) {
    gradient?.dispose();
    throw error;
  }
  const summed = gradient!;
  const norms = tf.tidy(() =>
    // [groups, M]: each member's gradient is its own, since members' losses only add.
    tf.stack(columnGroups.map((columns) => tf.sqrt(tf.sum(tf.square(tf.gather(summed, tf.tensor1d(Array.from(columns), 'int32'), 1)), [1, 2])))),
  );
  summed.dispose();
  const values = (await norms.array().finally(() => norms.dispose())) as number[][];
  return Array.from({ length: model.members }, (_, m) => values.map((group) => group[m]!));
}

/** One network's signal at each layer: the RMS of its outputs and of the loss gradient with respect to its pre-activations. */
export interface LayerSignal {
  /** Per layer, inputs first (hidden layers, then the logits): RMS of the layer's output over examples and units. */
  activationRms: number[];
  /**
   * Per layer, the same order: RMS over examples and units of ∂ℓ/∂(pre-activation), ℓ the example's own
   * loss: the signal backpropagation carries to that layer.
   */
  gradientRms: number[];
}

/**
 * The forward and backward signal through every layer of every member of a stack on `data` (Glorot &
 * Bengio 2010; He et al. 2015): at initialisation both grow or shrink geometrically with depth away
 * from the critical weight scale. One forward and one backward pass over all of `data` at once.
 */
export async function layerSignals(tf: Tf, model: StackedMlp, data: StackedData, loss: LossKind): Promise<LayerSignal[]> {
  const rows = data.x.shape.at(-2)!;
  const rms = (tensor: Tensor): Tensor => tf.sqrt(tf.mean(tf.square(tensor), [1, 2]));
  const norms = tf.tidy(() => {
    const shifts = model.weights.map((weight) => tf.zeros<Rank.R3>([model.members, rows, weight.shape[2]!]));
    // Summed over examples (each member's mean loss times `rows`), so each row's gradient is its own example's.
    const totalLoss = (...shifted: Tensor[]): Scalar =>
      tf.mul(tf.sum(memberLosses(tf, loss, data.targets, model.layers(data.x, shifted as Tensor3D[]).at(-1)!)), rows);
    const gradients = tf.grads(totalLoss)(shifts);
    // [2, layers, M]: activation RMS, then gradient RMS.
    return tf.stack([tf.stack(model.layers(data.x).map(rms)), tf.stack(gradients.map(rms))]);
  });
  const [activations, gradients] = (await norms.array().finally(() => norms.dispose())) as number[][][];
  return Array.from({ length: model.members }, (_, m) => ({
    activationRms: activations!.map((layer) => layer[m]!),
    gradientRms: gradients!.map((layer) => layer[m]!),
  }));
}
