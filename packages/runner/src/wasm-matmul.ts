import * as tf from '@tensorflow/tfjs-core';
import type { BatchMatMulAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { WasmBackendLike } from './native-kernels.js';

/**
 * tfjs-backend-wasm 4.22 runs BatchMatMul and _FusedMatMul through XNNPACK only when neither operand is
 * transposed; with `transposeA`/`transposeB` it falls back to a naive scalar loop (~0.8 GFLOP/s).
 * Autodiff of every dense layer issues exactly those products (dX = dY·Wᵀ, dW = Xᵀ·dY), two thirds of
 * training FLOPs. This re-registers both kernels so a transposed operand is first materialised by the
 * WASM Transpose kernel and the product then takes the XNNPACK path; a batched BatchMatMul (stacked
 * models) is run one batch at a time, for the same reason. Results differ from the stock kernel only by
 * float summation order.
 */
export const WASM_TRANSPOSED_MATMUL_PATCH = 'wasm-transposed-matmul (transpose, then XNNPACK; batched products one batch at a time)';
const PATCHED_FOR_TFJS = '4.22.0';
const PATCHED_KERNELS = [tf.BatchMatMul, tf._FusedMatMul] as const;

function transposeLastTwo(x: TensorInfo, backend: WasmBackendLike, transposeKernel: KernelFunc): TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];
  return transposeKernel({ inputs: { x }, backend: backend, attrs: { perm } }) as TensorInfo;
}

function withMaterialisedTransposes(stock: KernelFunc): KernelFunc {
  return (args) => {
    const attrs = args.attrs as unknown as BatchMatMulAttrs;
    if (!attrs.transposeA && !attrs.transposeB) return stock(args);
    const backend = args.backend as unknown as WasmBackendLike;
    const transposeKernel = tf.getKernel(tf.Transpose, 'wasm').kernelFunc;
    const inputs = args.inputs as { a: TensorInfo; b: TensorInfo };
    const a = attrs.transposeA ? transposeLastTwo(inputs.a, backend, transposeKernel) : inputs.a;
    const b = attrs.transposeB ? transposeLastTwo(inputs.b, backend, transposeKernel) : inputs.b;
    try {
      return stock({ ...args, inputs: { ...args.inputs, a, b }, attrs: { ...args.attrs, transposeA: false, transposeB: false } });
    } finally {
      if (a !== inputs.a) backend.disposeData(a.dataId);
      if (b !== inputs.b) backend.disposeData(b.dataId);
    }
  };
}

const batchesOf = (x: TensorInfo) => tf.util.sizeFromShape(x.shape.slice(0, -2));

/**
 * XNNPACK also takes only products without a batch axis: with one (stacked models' [M, B, in] ×
 * [M, in, out]), the stock kernel runs the same naive loop. This runs each batch's product through
 * XNNPACK, copying operands and results through the WASM heap; an operand of batch 1 is broadcast.
 * Expects operands that are not transposed.
 */
function withBatchesOneByOne(stock: KernelFunc): KernelFunc {
  return (args) => {
    const inputs = args.inputs as { a: TensorInfo; b: TensorInfo };
    const [batchesA, batchesB] = [batchesOf(inputs.a), batchesOf(inputs.b)];
    const batches = Math.max(batchesA, batchesB);
    if (batches === 1 || (batchesA !== batchesB && Math.min(batchesA, batchesB) !== 1)) return stock(args);
    const backend = args.backend as unknown as WasmBackendLike;
    const matrix = (x: TensorInfo, batch: number): TensorInfo => {
      const [rows, columns] = x.shape.slice(-2) as [number, number];
      const part = backend.makeOutput([1, rows, columns], x.dtype);
      const first = batchesOf(x) === 1 ? 0 : batch * rows * columns;
      backend.typedArrayFromHeap(part).set(backend.typedArrayFromHeap(x).subarray(first, first + rows * columns));
      return part;
    };
    const outerShape = tf.broadcast_util.assertAndGetBroadcastShape(inputs.a.shape.slice(0, -2), inputs.b.shape.slice(0, -2));
    const out = backend.makeOutput([...outerShape, inputs.a.shape.at(-2)!, inputs.b.shape.at(-1)!], inputs.a.dtype);
    for (let batch = 0; batch < batches; batch++) {
      const [a, b] = [matrix(inputs.a, batch), matrix(inputs.b, batch)];
      const product = stock({ ...args, inputs: { ...args.inputs, a, b } }) as TensorInfo;
      const values = backend.typedArrayFromHeap(product);
      backend.typedArrayFromHeap(out).set(values, batch * values.length);
      [a, b, product].forEach((tensor) => backend.disposeData(tensor.dataId));
    }
    return out;
  };
}

let restoreStock: (() => void) | undefined;

/**
 * Installs the patch on the registered WASM kernels (call after importing the backend, before
 * `setBackend('wasm')`); installing it again is a no-op. Returns a function that restores the stock
 * kernels, for side-by-side checks.
 */
export function patchWasmTransposedMatMul(): () => void {
  if (restoreStock) return restoreStock;
  const found: string = tf.version_core;
  if (found !== PATCHED_FOR_TFJS) {
    // The kernel layout this relies on is version-specific: refuse rather than guess.
    throw new Error(`wasm matmul patch was written for tfjs ${PATCHED_FOR_TFJS}, found ${found}`);
  }
  const stockConfigs: KernelConfig[] = PATCHED_KERNELS.map((name) => tf.getKernel(name, 'wasm'));
  for (const stock of stockConfigs) {
    // Only BatchMatMul is split by batch: dense layers never give _FusedMatMul a batch axis.
    const untransposed = stock.kernelName === tf.BatchMatMul ? withBatchesOneByOne(stock.kernelFunc) : stock.kernelFunc;
    tf.unregisterKernel(stock.kernelName, 'wasm');
    tf.registerKernel({ ...stock, kernelFunc: withMaterialisedTransposes(untransposed) });
  }
  restoreStock = () => {
    for (const stock of stockConfigs) {
      tf.unregisterKernel(stock.kernelName, 'wasm');
      tf.registerKernel(stock);
    }
    restoreStock = undefined;
  };
  return restoreStock;
}
