import * as tf from '@tensorflow/tfjs-core';
import type { GradSaveFunc, KernelFunc, Tensor, Tensor1D, Tensor2D, Tensor3D, TensorInfo } from '@tensorflow/tfjs-core';
import { callNative, type WasmBackendLike } from './native-kernels.js';

/**
 * Each member's mean softmax cross-entropy. tfjs computes it as ~20 small ops forward and backward (logSumExp,
 * three passes of a scalar exp, the mean, their gradients and the tensors the tape keeps); on WASM it is one
 * call forward and one backward in `native/kernels.c`, operation for operation the same float32 arithmetic
 * (musl's expf and logf, as tfjs's WASM module has them), so losses and gradients are the same to the bit.
 * Other backends run the ops.
 */
export const SOFTMAX_CROSS_ENTROPY_KERNEL_PATCH =
  "axiom-softmax-cross-entropy (a stack of classifiers' mean softmax cross-entropy and its gradient in one WASM call each, bit for bit as the ops)";

const FORWARD = 'AxiomSoftmaxCrossEntropy';
const BACKPROP = 'AxiomSoftmaxCrossEntropyBackprop';

/** Whether the kernel reads these as laid out (float32 logits [M, rows, classes ≥ 1], targets the same or [rows, classes]). */
function fits(targets: TensorInfo, logits: TensorInfo): boolean {
  const [, rows, classes] = logits.shape;
  return (
    logits.shape.length === 3 &&
    classes! > 0 &&
    [targets, logits].every((tensor) => tensor.dtype === 'float32') &&
    tf.util.arraysEqual(targets.shape, targets.shape.length === 3 ? logits.shape : [rows!, classes!])
  );
}

// Each kernel refuses what it cannot read, as a direct runKernel must not read past a tensor either.
const refuse = (what: string) => {
  throw new Error(`stackedSoftmaxCrossEntropy: ${what}`);
};

const wasmKernels: Record<string, KernelFunc> = {
  // Outputs the losses [M] and the residual softmax − targets, which the gradient scales.
  [FORWARD]: ({ inputs, backend }) => {
    const { logits, targets } = inputs as Record<string, TensorInfo>;
    if (!fits(targets!, logits!)) refuse(`targets [${targets!.shape.join(', ')}] and logits [${logits!.shape.join(', ')}] do not fit the kernel`);
    const [members, rows, classes] = logits!.shape as [number, number, number];
    const targetsStride = targets!.shape.length === 3 ? rows * classes : 0;
    return callNative(
      backend as unknown as WasmBackendLike,
      [logits!, targets!],
      [[members], logits!.shape],
      0,
      (kernels, [xAt, yAt, lossAt, residualAt], mathTables) =>
        kernels.softmax_cross_entropy(xAt!, yAt!, targetsStride, lossAt!, residualAt!, members, rows, classes, mathTables),
    );
  },
  [BACKPROP]: ({ inputs, backend }) => {
    const { dy, residual } = inputs as Record<string, TensorInfo>;
    const [members, rows, classes] = residual!.shape as [number, number, number];
    if (residual!.shape.length !== 3 || [dy!, residual!].some((tensor) => tensor.dtype !== 'float32') || tf.util.sizeFromShape(dy!.shape) !== members) {
      refuse(`dy [${dy!.shape.join(', ')}] and residual [${residual!.shape.join(', ')}] are not one float per member and float32 [M, rows, classes]`);
    }
    return callNative(backend as unknown as WasmBackendLike, [dy!, residual!], [residual!.shape], 0, (kernels, [dyAt, residualAt, dxAt]) =>
      kernels.softmax_cross_entropy_backprop(dyAt!, residualAt!, dxAt!, members, rows, classes),
    )[0]!;
  },
};

let registered = false;

/** Registers the native kernels on the WASM backend; again is a no-op. */
export function registerSoftmaxCrossEntropyKernels(): void {
  if (registered) return;
  for (const [kernelName, kernelFunc] of Object.entries(wasmKernels)) tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  registered = true;
}

/**
 * Each member's mean softmax cross-entropy over its rows, [M], for logits [M, rows, classes] against targets
 * [M, rows, classes] or [rows, classes] (shared by every member): tf.losses.softmaxCrossEntropy (no weights, no
 * smoothing, reduction none) and the mean over rows. Gradients flow to the logits only (targets are data).
 */
export function stackedSoftmaxCrossEntropy(targets: Tensor2D | Tensor3D, logits: Tensor3D): Tensor1D {
  // Anything the kernel does not read as laid out takes the ops, which broadcast or refuse.
  if (tf.getKernel(FORWARD, tf.getBackend()) && fits(targets, logits)) {
    const loss = tf.customGrad((...args: Array<Tensor | GradSaveFunc>) => {
      const [x, save] = args as [Tensor, GradSaveFunc];
      const [losses, residual] = tf.engine().runKernel<Tensor[]>(FORWARD, { logits: x, targets });
      save([residual!]);
      return { value: losses!, gradFunc: (dy: Tensor, [saved]: Tensor[]) => tf.engine().runKernel<Tensor>(BACKPROP, { dy, residual: saved! }) };
    });
    return loss(logits) as Tensor1D;
  }
  const perMember = targets.rank === 3 ? targets : tf.broadcastTo(targets, logits.shape);
  return tf.mean(tf.losses.softmaxCrossEntropy(perMember, logits, undefined, 0, tf.Reduction.NONE), 1);
}
