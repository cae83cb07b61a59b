import type { Tf } from '@axiom/runner';
import type { Scalar, Tensor } from '@tensorflow/tfjs-core';
import { memberLosses, perMember, type StackedData, type StackedMlp } from './stacked.js';
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
        const targets = perMember(tf, sliceRows(tf, data.targets, start, size), model.members);
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
