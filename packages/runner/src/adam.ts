import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc, Tensor, TensorInfo } from '@tensorflow/tfjs-core';
import { callNative, type WasmBackendLike } from './native-kernels.js';

/**
 * One Adam step per variable. tfjs computes it as a dozen elementwise ops, each a pass over the weights
 * (a sixth of a GEMM-bound sweep's time on WASM); on WASM it is one pass in `native/kernels.c`, operation
 * for operation the same float32 arithmetic, so the results are the same to the bit. Other backends run the ops.
 */
export const ADAM_KERNEL_PATCH = 'axiom-adam (an Adam step in one WASM SIMD pass per variable, bit for bit as the ops)';

/** Adam's defaults in tfjs (tf.train.adam). */
export const ADAM_BETA1 = 0.9;
export const ADAM_BETA2 = 0.999;

const ADAM_STEP = 'AxiomAdamStep';

export interface AdamStepInputs {
  variable: Tensor;
  gradient: Tensor;
  /** The first and second moments before the step. */
  first: Tensor;
  second: Tensor;
  /** The bias corrections 1 − β1^t and 1 − β2^t, scalars. */
  firstCorrection: Tensor;
  secondCorrection: Tensor;
  /** −lr: a scalar, or one per member of a stack ([M, 1, 1]). */
  negatedRates: Tensor;
  /** 1 − lr·wd (decoupled weight decay), shaped as the rates; none: no decay. */
  retention?: Tensor;
}

export interface AdamStep {
  variable: Tensor;
  first: Tensor;
  second: Tensor;
}

/** Rates that vary along the leading (member) axis only, or not at all, as the kernel reads them. */
const perLeadingAxis = (rates: TensorInfo, variable: TensorInfo) =>
  rates.shape.every((size) => size === 1) || (rates.shape[0] === variable.shape[0] && rates.shape.slice(1).every((size) => size === 1));

const adamKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const { variable, gradient, first, second, firstCorrection, secondCorrection, negatedRates, retention } = inputs as Record<string, TensorInfo>;
  const { beta1, beta2, epsilon } = attrs as unknown as { beta1: number; beta2: number; epsilon: number };
  const rates = tf.util.sizeFromShape(negatedRates!.shape);
  const size = tf.util.sizeFromShape(variable!.shape);
  const given = [variable!, gradient!, first!, second!, firstCorrection!, secondCorrection!, negatedRates!, ...(retention ? [retention] : [])];
  return callNative(backend as unknown as WasmBackendLike, given, [variable!.shape, variable!.shape, variable!.shape], 0, (kernels, addresses) => {
    const [w, g, m, v, c1, c2, r, ...rest] = addresses as [number, number, number, number, number, number, number, ...number[]];
    const [keep, wOut, mOut, vOut] = retention ? rest : [0, ...rest];
    const blocks = rates === 1 ? 1 : variable!.shape[0]!;
    kernels.adam_update(w, g, m, v, c1, c2, r, keep!, rates, blocks, size / blocks, beta1, 1 - beta1, beta2, 1 - beta2, epsilon, wOut!, mOut!, vOut!);
  });
};

let registered = false;

/** Registers the native Adam step on the WASM backend; again is a no-op. */
export function registerAdamKernel(): void {
  if (registered) return;
  tf.registerKernel({ kernelName: ADAM_STEP, backendName: 'wasm', kernelFunc: adamKernel });
  registered = true;
}

/** The variable and moments after one Adam step (tf.train.adam's update, with the rate as a tensor): new tensors, for the caller to assign. */
export function adamStep(inputs: AdamStepInputs): AdamStep {
  const { variable, gradient, first, second, firstCorrection, secondCorrection, negatedRates, retention } = inputs;
  const epsilon = tf.backend().epsilon();
  // The kernel reads every tensor as laid out here (anything else, e.g. a broadcast gradient, takes the ops).
  const native =
    tf.getKernel(ADAM_STEP, tf.getBackend()) &&
    [gradient, first, second].every((tensor) => tf.util.arraysEqual(tensor.shape, variable.shape)) &&
    [variable, gradient, first, second, firstCorrection, secondCorrection, negatedRates, ...(retention ? [retention] : [])].every(
      (tensor) => tensor.dtype === 'float32',
    ) &&
    firstCorrection.size === 1 &&
    secondCorrection.size === 1 &&
    perLeadingAxis(negatedRates, variable) &&
    (!retention || (perLeadingAxis(retention, variable) && tf.util.arraysEqual(retention.shape, negatedRates.shape)));
  if (native) {
    const given = { variable, gradient, first, second, firstCorrection, secondCorrection, negatedRates, ...(retention ? { retention } : {}) };
    const [updated, newFirst, newSecond] = tf.engine().runKernel<Tensor[]>(ADAM_STEP, given, {
      beta1: ADAM_BETA1,
      beta2: ADAM_BETA2,
      epsilon,
    });
    return { variable: updated!, first: newFirst!, second: newSecond! };
  }
  const newFirst = tf.add(tf.mul(first, ADAM_BETA1), tf.mul(gradient, 1 - ADAM_BETA1));
  const newSecond = tf.add(tf.mul(second, ADAM_BETA2), tf.mul(tf.square(gradient), 1 - ADAM_BETA2));
  const step = tf.div(tf.div(newFirst, firstCorrection), tf.add(tf.sqrt(tf.div(newSecond, secondCorrection)), epsilon));
  return { variable: tf.add(tf.mul(step, negatedRates), retention ? tf.mul(variable, retention) : variable), first: newFirst, second: newSecond };
}
