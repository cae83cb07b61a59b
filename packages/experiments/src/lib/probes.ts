import type { Tf } from '@axiom/runner';
import type { Mlp } from './mlp.js';
import { batchLoss, type LossKind, type TrainingSet } from './train.js';

/**
 * For each group of input columns, the Frobenius norm of the gradient of the mean loss over `data`
 * with respect to the first-layer weight rows that read those columns: how hard training currently
 * pulls on the network's use of that input feature (Pezeshki et al. 2021, "Gradient starvation").
 */
export function firstLayerGradientNorms(tf: Tf, model: Mlp, data: TrainingSet, loss: LossKind, columnGroups: ReadonlyArray<readonly number[]>): number[] {
  const firstLayer = model.weights[0]!;
  const norms = tf.tidy(() => {
    const { grads } = tf.variableGrads(() => batchLoss(tf, loss, data.targets, model.logits(data.x)), [firstLayer]);
    const gradient = grads[firstLayer.name]!;
    return tf.stack(columnGroups.map((columns) => tf.norm(tf.gather(gradient, tf.tensor1d(Array.from(columns), 'int32')))));
  });
  const values = Array.from(norms.dataSync());
  norms.dispose();
  return values;
}
