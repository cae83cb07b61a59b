import * as tf from '@tensorflow/tfjs-core';
import type { GatherV2Attrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { callNative, type WasmBackendLike } from './native-kernels.js';

/**
 * tfjs-backend-wasm 4.22's GatherV2 computes every element's address from strides, one element at a time:
 * gathering a training batch's rows (every step of every stacked loop) cost as much as a dense layer's
 * forward pass. A gather of whole rows (axis 0, no batch dimensions, 4-byte elements) is a row copy: this
 * runs it as one (native/kernels.c), with the same result and the same error for an index out of range;
 * any other gather goes to the stock kernel.
 */
export const WASM_GATHER_ROWS_PATCH = 'wasm-gather-rows (a gather of whole rows copies rows)';

function withRowCopies(stock: KernelFunc): KernelFunc {
  return (args) => {
    const { x, indices } = args.inputs as { x: TensorInfo; indices: TensorInfo };
    const { axis, batchDims } = args.attrs as unknown as GatherV2Attrs;
    const rowsAxis = tf.util.parseAxisParam(axis, x.shape)[0] === 0 && batchDims === 0;
    if (!rowsAxis || !['float32', 'int32'].includes(x.dtype) || indices.dtype !== 'int32') return stock(args);
    const backend = args.backend as unknown as WasmBackendLike;
    const [rows, ...rowShape] = x.shape as [number, ...number[]];
    const width = tf.util.sizeFromShape(rowShape);
    const count = tf.util.sizeFromShape(indices.shape);
    let outside = -1;
    const [out] = callNative(
      backend,
      [x, indices],
      [[...indices.shape, ...rowShape]],
      0,
      (kernels, [xAt, indicesAt, outAt]) => {
        outside = kernels.gather_rows(xAt!, rows, width, indicesAt!, count, outAt!);
      },
      x.dtype,
    );
    if (outside >= 0) {
      const index = backend.typedArrayFromHeap(indices)[outside]!;
      backend.disposeData(out!.dataId);
      throw new Error(`GatherV2: the index value ${index} is not in [0, ${rows - 1}]`);
    }
    return out!;
  };
}

let stockGather: KernelConfig | undefined;

/** Installs the row gather on the registered WASM GatherV2 (after importing the backend); again is a no-op. */
export function patchWasmGatherRows(): void {
  if (stockGather) return;
  stockGather = tf.getKernel(tf.GatherV2, 'wasm');
  tf.unregisterKernel(tf.GatherV2, 'wasm');
  tf.registerKernel({ ...stockGather, kernelFunc: withRowCopies(stockGather.kernelFunc) });
}
