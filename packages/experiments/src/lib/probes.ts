import type { Tf } from '@axiom/runner';
import { memberLosses, perMember, type StackedData, type StackedMlp } from './stacked.js';
import type { LossKind } from './train.js';

/**
 * For each member of a stack and each group of input columns, the Frobenius norm of the gradient of
 * the member's mean loss over `data` with respect to its first-layer weight rows that read those
 * columns: how hard training currently pulls on the network's use of that input feature (Pezeshki et
 * al. 2021, "Gradient starvation"). Returns one array per member, one norm per group.
 */
export function firstLayerGradientNorms(tf: Tf, model: StackedMlp, data: StackedData, loss: LossKind, columnGroups: ReadonlyArray<readonly number[]>): number[][] {
  const firstLayer = model.weights[0]!;
  const norms = tf.tidy(() => {
    const targets = perMember(tf, data.targets, model.members);
    const { grads } = tf.variableGrads(() => tf.sum(memberLosses(tf, loss, targets, model.logits(data.x))), [firstLayer]);
    const gradient = grads[firstLayer.name]!;
    // [groups, M]: each member's gradient is its own, since members' losses only add.
    return tf.stack(columnGroups.map((columns) => tf.sqrt(tf.sum(tf.square(tf.gather(gradient, tf.tensor1d(Array.from(columns), 'int32'), 1)), [1, 2]))));
  });
  const values = norms.arraySync() as number[][];
  norms.dispose();
  return Array.from({ length: model.members }, (_, m) => values.map((group) => group[m]!));
}
