import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, KernelFunc, Tensor, Tensor3D, TensorInfo } from '@tensorflow/tfjs-core';
import { callNative, type WasmBackendLike } from './native-kernels.js';

/**
 * w₀·x₀ + w₁·x₁ + w₂·x₂ for each member of a stack, one weight per member and term (a point of a Bézier curve
 * between networks). tfjs computes it as a Multiply per term and an AddN, each kept on the tape with copies of its
 * inputs; on WASM it is one call in `native/kernels.c` with the same float32 arithmetic (each product rounded,
 * summed in order from 0, as AddN), so the result is the same to the bit. Other backends run the ops.
 */
export const WEIGHTED_SUM_KERNEL_PATCH = 'axiom-weighted-sum (a stack of weighted sums of three terms in one WASM call, bit for bit as the ops)';

const WEIGHTED_SUM = 'AxiomWeightedSum';
const TERMS = ['term0', 'term1', 'term2'] as const;
const WEIGHTS = ['weight0', 'weight1', 'weight2'] as const;

/** Refuses, on every backend alike, what is not three float32 terms of one shape [M, …] with weights [M, 1, 1]. */
function check(terms: readonly TensorInfo[], weights: readonly TensorInfo[]): void {
  const [first] = terms;
  const fits =
    first !== undefined &&
    terms.length === TERMS.length &&
    weights.length === TERMS.length &&
    first.shape.length >= 2 &&
    terms.every((term) => tf.util.arraysEqual(term.shape, first.shape)) &&
    weights.every((weight) => tf.util.arraysEqual(weight.shape, [first.shape[0]!, 1, 1])) &&
    [...terms, ...weights].every((tensor) => tensor.dtype === 'float32');
  if (!fits) {
    const shapes = (tensors: readonly TensorInfo[]) => tensors.map((tensor) => `[${tensor.shape.join(', ')}]`).join(', ');
    throw new Error(
      `stackedWeightedSum: terms ${shapes(terms)} and weights ${shapes(weights)} are not three float32 terms [M, …] of one shape with weights [M, 1, 1]`,
    );
  }
}

const weightedSum: KernelFunc = ({ inputs, backend }) => {
  const named = inputs as Record<string, TensorInfo>;
  const [terms, weights] = [TERMS.map((name) => named[name]!), WEIGHTS.map((name) => named[name]!)];
  check(terms, weights);
  const [members, ...rest] = terms[0]!.shape;
  return callNative(backend as unknown as WasmBackendLike, [...terms, ...weights], [terms[0]!.shape], 0, (kernels, [x0, x1, x2, w0, w1, w2, out]) =>
    kernels.weighted_sum(w0!, x0!, w1!, x1!, w2!, x2!, out!, members!, tf.util.sizeFromShape(rest)),
  )[0]!;
};

const gradient: GradConfig = {
  kernelName: WEIGHTED_SUM,
  inputsToSave: [...TERMS, ...WEIGHTS],
  // As tfjs's gradients of Multiply and AddN compute them: dy times the other factor, summed over what was broadcast.
  gradFunc: (dy, saved) => {
    const [terms, weights] = [saved.slice(0, TERMS.length), saved.slice(TERMS.length)];
    const perMember = (product: Tensor) =>
      tf.reshape(
        tf.sum(
          product,
          Array.from({ length: product.rank - 1 }, (_, axis) => axis + 1),
        ),
        [product.shape[0], 1, 1],
      );
    return Object.fromEntries(
      TERMS.flatMap((name, k) => [
        [name, () => tf.mul(dy as Tensor, weights[k]!)],
        [WEIGHTS[k]!, () => perMember(tf.mul(dy as Tensor, terms[k]!))],
      ]),
    );
  },
};

let registered = false;

/** Registers the native kernel on the WASM backend, and its gradient; again is a no-op. */
export function registerWeightedSumKernel(): void {
  if (registered) return;
  tf.registerKernel({ kernelName: WEIGHTED_SUM, backendName: 'wasm', kernelFunc: weightedSum });
  tf.registerGradient(gradient);
  registered = true;
}

/**
 * weights[0]·terms[0] + weights[1]·terms[1] + weights[2]·terms[2]: terms of one shape [M, …], weights [M, 1, 1]
 * (one per member). One native call on WASM, tfjs's addN of the products elsewhere; gradients flow to all six.
 */
export function stackedWeightedSum<T extends Tensor>(terms: readonly [T, T, T], weights: readonly [Tensor3D, Tensor3D, Tensor3D]): T {
  // The native kernel checks the shapes itself (a direct runKernel must not read past a tensor either).
  if (tf.getKernel(WEIGHTED_SUM, tf.getBackend())) {
    const inputs: Record<string, Tensor> = Object.fromEntries([
      ...TERMS.map((name, k): [string, Tensor] => [name, terms[k]!]),
      ...WEIGHTS.map((name, k): [string, Tensor] => [name, weights[k]!]),
    ]);
    return tf.engine().runKernel<T>(WEIGHTED_SUM, inputs);
  }
  check(terms, weights);
  return tf.addN(terms.map((term, k) => tf.mul<T>(weights[k]!, term)));
}
