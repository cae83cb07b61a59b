import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, KernelFunc, Tensor, Tensor2D, Tensor3D, TensorInfo } from '@tensorflow/tfjs-core';
import { hostKernels, type HostKernels } from './host-kernels.js';
import { callNative, wasmMemoryOf, type WasmBackendLike } from './native-kernels.js';

/**
 * A stacked dense layer, y = act(x·W + b) for M networks at once (x [rows, in] shared by every member or
 * [M, rows, in], W [M, in, out], b [M, 1, out]), as one tfjs kernel with its gradients. On the WASM
 * backend it runs in `native/kernels.c` (one call forward, one per gradient; see there why), its three
 * products in the host kernels where they load (the same bits, in this CPU's machine code); on every other
 * backend it is tfjs's matMul, add and relu, so their results are unchanged.
 */
export const STACKED_DENSE_KERNEL_PATCH = 'axiom-stacked-dense (stacked dense layers and their gradients in one WASM SIMD call each)';

/** The patch a result records when the host kernels computed the products. */
export const hostDensePatch = (kernels: HostKernels) =>
  `axiom-host-dense (the stacked dense layers' products in this CPU's machine code, ${kernels.instructions}: the same bits as WASM)`;

const FORWARD = 'AxiomStackedDense';
const BACKPROP_INPUT = 'AxiomStackedDenseBackpropInput';
const BACKPROP_FILTER = 'AxiomStackedDenseBackpropFilter';
const BIAS_GRAD = 'AxiomStackedDenseBiasGrad';

/** The layer's activation: ReLU, or none (tanh is applied after it by tfjs, which owns its gradient). */
export type StackedDenseActivation = 'relu' | 'linear';

interface StackedDenseAttrs {
  relu: boolean;
}

/**
 * [members, rows, in, out] of a layer, and x's member stride (0 when every member shares it). Shapes that do not
 * make a stacked layer are refused on every backend alike, and before native code could read past a tensor.
 */
function dimensions(x: TensorInfo, weight: TensorInfo, bias: TensorInfo): { members: number; rows: number; inputs: number; units: number; xStride: number } {
  const [members, inputs, units] = weight.shape as [number, number, number];
  const fits =
    weight.shape.length === 3 &&
    (x.shape.length === 2 || (x.shape.length === 3 && x.shape[0] === members)) &&
    x.shape.at(-1) === inputs &&
    tf.util.arraysEqual(bias.shape, [members, 1, units]) &&
    [x, weight, bias].every((tensor) => tensor.dtype === 'float32');
  if (!fits) {
    throw new Error(
      `stackedDense: x [${x.shape.join(', ')}], W [${weight.shape.join(', ')}] and b [${bias.shape.join(', ')}] are not a stacked layer ` +
        '(float32 x [rows, in] or [M, rows, in], W [M, in, out], b [M, 1, out])',
    );
  }
  const rows = x.shape.at(-2)!;
  return { members, rows, inputs, units, xStride: x.shape.length === 3 ? rows * inputs : 0 };
}

type Inputs = Record<string, TensorInfo>;
const kernel =
  (body: (inputs: Inputs, backend: WasmBackendLike, relu: number) => TensorInfo): KernelFunc =>
  ({ inputs, backend, attrs }) =>
    body(inputs as Inputs, backend as unknown as WasmBackendLike, (attrs as unknown as StackedDenseAttrs).relu ? 1 : 0);
const padded = (n: number) => Math.ceil(n / 8) * 8;

/** A view of the backend's whole memory, for the host kernels: made again only when the memory has grown (a new buffer). */
let memoryView = new Uint8Array(0);
function memoryOf(backend: WasmBackendLike): Uint8Array {
  const { buffer } = wasmMemoryOf(backend);
  if (memoryView.buffer !== buffer) memoryView = new Uint8Array(buffer);
  return memoryView;
}

/**
 * One of the layer's products into a new `output`: in the host kernels where they load (they keep their own
 * scratch), else in the WASM module with `scratch` floats of the backend's heap. Both take the same arguments, made
 * by `args` from the inputs' and the output's addresses; the host's function takes the memory first.
 */
function product(
  backend: WasmBackendLike,
  inputs: TensorInfo[],
  output: number[],
  scratch: number,
  names: { host: 'denseForward' | 'denseBackpropInput' | 'denseBackpropFilter'; wasm: 'dense_forward' | 'dense_backprop_input' | 'dense_backprop_filter' },
  args: (addresses: number[]) => number[],
): TensorInfo {
  const host = hostKernels();
  return callNative(backend, inputs, [output], host ? 0 : scratch, (kernels, addresses) => {
    // The view is taken after the outputs are made: making them may grow the memory.
    if (host) host[names.host](memoryOf(backend), ...args(addresses));
    else kernels[names.wasm](...args(addresses), addresses.at(-1)!);
  })[0]!;
}

const wasmKernels: Record<string, KernelFunc> = {
  [FORWARD]: kernel(({ x, weight, bias }, backend, relu) => {
    const { members, rows, inputs, units, xStride } = dimensions(x!, weight!, bias!);
    return product(
      backend,
      [x!, weight!, bias!],
      [members, rows, units],
      (inputs + 1) * padded(units),
      { host: 'denseForward', wasm: 'dense_forward' },
      ([xAt, wAt, bAt, yAt]) => [xAt!, xStride, wAt!, bAt!, yAt!, members, rows, inputs, units, relu],
    );
  }),
  [BACKPROP_INPUT]: kernel(({ dy, y, weight }, backend, relu) => {
    const [members, inputs, units] = weight!.shape as [number, number, number];
    const rows = dy!.shape[1]!;
    const scratch = rows * padded(units) + units * padded(inputs);
    return product(
      backend,
      [dy!, y!, weight!],
      [members, rows, inputs],
      scratch,
      { host: 'denseBackpropInput', wasm: 'dense_backprop_input' },
      ([dyAt, yAt, wAt, dxAt]) => [dyAt!, yAt!, wAt!, dxAt!, members, rows, inputs, units, relu],
    );
  }),
  [BACKPROP_FILTER]: kernel(({ dy, y, x }, backend, relu) => {
    const [members, rows, units] = dy!.shape as [number, number, number];
    const inputs = x!.shape.at(-1)!;
    const xStride = x!.shape.length === 3 ? rows * inputs : 0;
    return product(
      backend,
      [dy!, y!, x!],
      [members, inputs, units],
      rows * padded(units),
      { host: 'denseBackpropFilter', wasm: 'dense_backprop_filter' },
      ([dyAt, yAt, xAt, dwAt]) => [dyAt!, yAt!, xAt!, xStride, dwAt!, members, rows, inputs, units, relu],
    );
  }),
  [BIAS_GRAD]: kernel(({ dy, y }, backend, relu) => {
    const [members, rows, units] = dy!.shape as [number, number, number];
    return callNative(backend, [dy!, y!], [[members, 1, units]], 0, (kernels, [dyAt, yAt, dbAt]) =>
      kernels.dense_bias_grad(dyAt!, yAt!, dbAt!, members, rows, units, relu),
    )[0]!;
  }),
};

const gradient: GradConfig = {
  kernelName: FORWARD,
  inputsToSave: ['x', 'weight'],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [x, weight, y] = saved as [Tensor, Tensor, Tensor];
    const run = (name: string, inputs: Record<string, Tensor>) => tf.engine().runKernel<Tensor>(name, inputs, attrs);
    return {
      // A shared x was read by every member: its gradient is the sum of theirs.
      x: () => {
        const perMember = run(BACKPROP_INPUT, { dy: dy as Tensor, y, weight });
        return x.rank === 2 ? tf.sum(perMember, 0) : perMember;
      },
      weight: () => run(BACKPROP_FILTER, { dy: dy as Tensor, y, x }),
      bias: () => run(BIAS_GRAD, { dy: dy as Tensor, y }),
    };
  },
};

let registered = false;

/** Registers the native kernels on the WASM backend, and the layer's gradient; again is a no-op. */
export function registerStackedDenseKernels(): void {
  if (registered) return;
  for (const [kernelName, kernelFunc] of Object.entries(wasmKernels)) tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  tf.registerGradient(gradient);
  registered = true;
}

/**
 * act(x·W + b) for every member of a stack: one native call per pass on WASM, tfjs's ops elsewhere.
 * x [rows, in] (shared) or [M, rows, in]; W [M, in, out]; b [M, 1, out] → [M, rows, out].
 */
export function stackedDense(x: Tensor2D | Tensor3D, weight: Tensor3D, bias: Tensor3D, activation: StackedDenseActivation): Tensor3D {
  // The native kernel checks the shapes itself (a direct runKernel must not read past a tensor either).
  if (tf.getKernel(FORWARD, tf.getBackend())) {
    return tf.engine().runKernel<Tensor3D>(FORWARD, { x, weight, bias }, { relu: activation === 'relu' });
  }
  dimensions(x, weight, bias);
  const preActivation: Tensor3D = tf.add(tf.matMul(x, weight), bias);
  return activation === 'relu' ? tf.relu(preActivation) : preActivation;
}
