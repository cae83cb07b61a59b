import * as tf from '@tensorflow/tfjs-core';
import type { BatchMatMulAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';

/**
 * tfjs-backend-wasm 4.22 runs BatchMatMul and _FusedMatMul through XNNPACK only when neither operand is
 * transposed; with `transposeA`/`transposeB` it falls back to a naive scalar loop (~0.8 GFLOP/s).
 * Autodiff of every dense layer issues exactly those products (dX = dY·Wᵀ, dW = Xᵀ·dY), two thirds of
 * training FLOPs. This re-registers both kernels so a transposed operand is first materialised by the
 * WASM Transpose kernel and the product then takes the XNNPACK path. Results differ from the stock
 * kernel only by float summation order.
 */
export const WASM_TRANSPOSED_MATMUL_PATCH = 'wasm-transposed-matmul (transpose, then XNNPACK)';
const PATCHED_FOR_TFJS = '4.22.0';
const PATCHED_KERNELS = [tf.BatchMatMul, tf._FusedMatMul] as const;

interface WasmBackendLike {
  disposeData(dataId: object): boolean;
}

function transposeLastTwo(x: TensorInfo, backend: WasmBackendLike, transposeKernel: KernelFunc): TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];
  return transposeKernel({ inputs: { x }, backend: backend as never, attrs: { perm } }) as TensorInfo;
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

let restoreStock: (() => void) | undefined;

/**
 * Installs the patch on the registered WASM kernels (call after importing the backend, before
 * `setBackend('wasm')`); installing it again is a no-op. Returns a function that restores the stock
 * kernels, for side-by-side checks.
 */
export function patchWasmTransposedMatMul(): () => void {
  if (restoreStock) return restoreStock;
  if (tf.version_core !== PATCHED_FOR_TFJS) {
    // The kernel layout this relies on is version-specific: refuse rather than guess.
    throw new Error(`wasm matmul patch was written for tfjs ${PATCHED_FOR_TFJS}, found ${tf.version_core}`);
  }
  const stockConfigs: KernelConfig[] = PATCHED_KERNELS.map((name) => tf.getKernel(name, 'wasm'));
  for (const stock of stockConfigs) {
    tf.unregisterKernel(stock.kernelName, 'wasm');
    tf.registerKernel({ ...stock, kernelFunc: withMaterialisedTransposes(stock.kernelFunc) });
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
