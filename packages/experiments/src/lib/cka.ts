import type { Tf } from '@axiom/runner';
import type { Tensor, Tensor2D } from '@tensorflow/tfjs-core';

/**
 * Linear CKA (Kornblith et al. 2019) of two representations of the same n inputs, X (n×p) and Y (n×q):
 * with columns centred, CKA = ‖YᵀX‖²_F / (‖XᵀX‖_F · ‖YᵀY‖_F). 1 for identical representations,
 * invariant to orthogonal transforms and isotropic scaling of either; null when one is constant
 * (e.g. a layer of dead ReLUs), where it is undefined.
 */
export async function linearCka(tf: Tf, x: Tensor2D, y: Tensor2D): Promise<number | null> {
  const parts = tf.tidy(() => {
    const centredX = tf.sub(x, tf.mean(x, 0));
    const centredY = tf.sub(y, tf.mean(y, 0));
    const gram = (a: Tensor, b: Tensor) => tf.matMul(a, b, true, false);
    return tf.stack([tf.sum(tf.square(gram(centredY, centredX))), tf.norm(gram(centredX, centredX)), tf.norm(gram(centredY, centredY))]);
  });
  const [cross, selfX, selfY] = await parts.data().finally(() => parts.dispose());
  const denominator = selfX! * selfY!;
  return denominator > 0 ? cross! / denominator : null;
}
