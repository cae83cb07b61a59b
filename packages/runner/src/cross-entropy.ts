import * as tf from '@tensorflow/tfjs-core';
import type { GradSaveFunc, KernelFunc, Tensor, Tensor1D, Tensor2D, Tensor3D, TensorInfo } from '@tensorflow/tfjs-core';
import { callNative, type NativeKernels, type WasmBackendLike } from './native-kernels.js';

/**
 * Each member's mean cross-entropy, softmax over classes or sigmoid per yes/no output. tfjs computes either as
 * ~20 small ops forward and backward (for softmax: logSumExp, three passes of a scalar exp, the mean, their
 * gradients and the tensors the tape keeps); on WASM each is one call forward and one backward in
 * `native/kernels.c`. Softmax's is operation for operation the same float32 arithmetic as the ops (musl's expf
 * and logf, as tfjs's WASM module has them), so its losses and gradients are the same to the bit. Sigmoid's
 * computes the loss in the stable form and its gradient as σ(z) − t directly, so it rounds differently from the
 * ops, which other backends run.
 */
export const SOFTMAX_CROSS_ENTROPY_KERNEL_PATCH =
  "axiom-softmax-cross-entropy (a stack of classifiers' mean softmax cross-entropy and its gradient in one WASM call each, bit for bit as the ops)";
export const SIGMOID_CROSS_ENTROPY_KERNEL_PATCH =
  "axiom-sigmoid-cross-entropy (a stack of yes/no outputs' mean sigmoid cross-entropy and its gradient σ(z) − t in one WASM call each)";

const BACKPROP = 'AxiomCrossEntropyBackprop';

/** A cross-entropy's kernel: its name, what its mean is over, and the native call that fills the losses and residual. */
interface CrossEntropy {
  forward: string;
  /** The mean is over rows (softmax: one loss per row) or over every output of every row (sigmoid). */
  meanOver: 'rows' | 'outputs';
  run(kernels: NativeKernels, addresses: number[], shape: { members: number; rows: number; classes: number; targetsStride: number }, mathTables: number): void;
}

const SOFTMAX: CrossEntropy = {
  forward: 'AxiomSoftmaxCrossEntropy',
  meanOver: 'rows',
  run: (kernels, [xAt, yAt, lossAt, residualAt], { members, rows, classes, targetsStride }, mathTables) =>
    kernels.softmax_cross_entropy(xAt!, yAt!, targetsStride, lossAt!, residualAt!, members, rows, classes, mathTables),
};

const SIGMOID: CrossEntropy = {
  forward: 'AxiomSigmoidCrossEntropy',
  meanOver: 'outputs',
  run: (kernels, [xAt, yAt, lossAt, residualAt], { members, rows, classes, targetsStride }, mathTables) =>
    kernels.sigmoid_cross_entropy(xAt!, yAt!, targetsStride, lossAt!, residualAt!, members, rows * classes, mathTables),
};

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
  throw new Error(`stacked cross-entropy: ${what}`);
};

/** The forward kernel: outputs the losses [M] and the residual, which the gradient scales. */
const forwardKernel =
  (loss: CrossEntropy): KernelFunc =>
  ({ inputs, backend }) => {
    const { logits, targets } = inputs as Record<string, TensorInfo>;
    if (!fits(targets!, logits!)) refuse(`targets [${targets!.shape.join(', ')}] and logits [${logits!.shape.join(', ')}] do not fit the kernel`);
    const [members, rows, classes] = logits!.shape as [number, number, number];
    const targetsStride = targets!.shape.length === 3 ? rows * classes : 0;
    return callNative(backend as unknown as WasmBackendLike, [logits!, targets!], [[members], logits!.shape], 0, (kernels, addresses, mathTables) =>
      loss.run(kernels, addresses, { members, rows, classes, targetsStride }, mathTables),
    );
  };

/** dlogits = (dy[m] / n) · residual, n the rows or every output of them (the mean's count). */
const backpropKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, residual } = inputs as Record<string, TensorInfo>;
  const [members, rows, classes] = residual!.shape as [number, number, number];
  if (residual!.shape.length !== 3 || [dy!, residual!].some((tensor) => tensor.dtype !== 'float32') || tf.util.sizeFromShape(dy!.shape) !== members) {
    refuse(`dy [${dy!.shape.join(', ')}] and residual [${residual!.shape.join(', ')}] are not one float per member and float32 [M, rows, classes]`);
  }
  const meanCount = (attrs as unknown as { meanOver: CrossEntropy['meanOver'] }).meanOver === 'rows' ? rows : rows * classes;
  return callNative(backend as unknown as WasmBackendLike, [dy!, residual!], [residual!.shape], 0, (kernels, [dyAt, residualAt, dxAt]) =>
    kernels.cross_entropy_backprop(dyAt!, residualAt!, dxAt!, members, rows * classes, meanCount),
  )[0]!;
};

let registered = false;

/** Registers the native kernels on the WASM backend; again is a no-op. */
export function registerCrossEntropyKernels(): void {
  if (registered) return;
  for (const loss of [SOFTMAX, SIGMOID]) tf.registerKernel({ kernelName: loss.forward, backendName: 'wasm', kernelFunc: forwardKernel(loss) });
  tf.registerKernel({ kernelName: BACKPROP, backendName: 'wasm', kernelFunc: backpropKernel });
  registered = true;
}

/** The native kernels' loss, where they run and read the tensors as laid out; else undefined. */
function nativeLoss(loss: CrossEntropy, targets: Tensor2D | Tensor3D, logits: Tensor3D): Tensor1D | undefined {
  if (!tf.getKernel(loss.forward, tf.getBackend()) || !fits(targets, logits)) return undefined;
  const value = tf.customGrad((...args: Array<Tensor | GradSaveFunc>) => {
    const [x, save] = args as [Tensor, GradSaveFunc];
    const [losses, residual] = tf.engine().runKernel<Tensor[]>(loss.forward, { logits: x, targets });
    save([residual!]);
    return {
      value: losses!,
      gradFunc: (dy: Tensor, [saved]: Tensor[]) => tf.engine().runKernel<Tensor>(BACKPROP, { dy, residual: saved! }, { meanOver: loss.meanOver }),
    };
  });
  return value(logits) as Tensor1D;
}

// Anything the kernels do not read as laid out takes the ops, which broadcast or refuse.
const perMemberTargets = (targets: Tensor2D | Tensor3D, logits: Tensor3D) => (targets.rank === 3 ? targets : tf.broadcastTo(targets, logits.shape));

/**
 * Each member's mean softmax cross-entropy over its rows, [M], for logits [M, rows, classes] against targets
 * [M, rows, classes] or [rows, classes] (shared by every member): tf.losses.softmaxCrossEntropy (no weights, no
 * smoothing, reduction none) and the mean over rows. Gradients flow to the logits only (targets are data).
 */
export function stackedSoftmaxCrossEntropy(targets: Tensor2D | Tensor3D, logits: Tensor3D): Tensor1D {
  return (
    nativeLoss(SOFTMAX, targets, logits) ??
    tf.mean(tf.losses.softmaxCrossEntropy(perMemberTargets(targets, logits), logits, undefined, 0, tf.Reduction.NONE), 1)
  );
}

/**
 * Each member's mean sigmoid cross-entropy over its rows and outputs, [M], for logits [M, rows, outputs] against 0/1
 * targets [M, rows, outputs] or [rows, outputs] (shared): tf.losses.sigmoidCrossEntropy (no weights, no smoothing,
 * reduction none) and the mean over rows and outputs. Gradients flow to the logits only.
 */
export function stackedSigmoidCrossEntropy(targets: Tensor2D | Tensor3D, logits: Tensor3D): Tensor1D {
  return (
    nativeLoss(SIGMOID, targets, logits) ??
    tf.mean(tf.losses.sigmoidCrossEntropy(perMemberTargets(targets, logits), logits, undefined, 0, tf.Reduction.NONE), [1, 2])
  );
}
