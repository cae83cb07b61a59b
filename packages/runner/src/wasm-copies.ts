import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, SliceAttrs, TensorInfo } from '@tensorflow/tfjs-core';
import type { WasmBackendLike } from './native-kernels.js';

/**
 * tfjs-backend-wasm 4.22 copies data where it need not, on every training step:
 * - Identity copies its input, and the tape clones (Identity) every tensor a gradient keeps: each stacked
 *   layer's inputs, weights and outputs, every step. Tensors are immutable, so it shares the data instead,
 *   counting references, as Reshape here and Identity on the other backends do.
 * - Slice first copies its whole input out of the heap (readSync), then the slice from that copy: a batch
 *   of rows of an evaluation set, or a step's indices, copied the whole set or order each time. It copies
 *   only the slice, from the heap, in as few runs as its layout allows (one per member for a batch of rows
 *   of per-member data, where tfjs copies row by row).
 * Results are the same bytes either way.
 */
export const WASM_COPIES_PATCH = 'wasm-copies (Identity shares its input, Slice copies only the slice)';

const sharedIdentity: KernelFunc = ({ inputs, backend }) => {
  const { x } = inputs as { x: TensorInfo };
  (backend as unknown as WasmBackendLike).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

function sliceFromHeap(stock: KernelFunc): KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    if (x.dtype === 'string') return stock(args);
    const attrs = args.attrs as unknown as SliceAttrs;
    const backend = args.backend as unknown as WasmBackendLike;
    const [begin, size] = tf.slice_util.parseSliceParams(x, attrs.begin, attrs.size) as [number[], number[]];
    const out = backend.makeOutput(size, x.dtype);
    // Views taken after makeOutput, which may grow (and so detach) the heap.
    const from = backend.typedArrayFromHeap(x);
    const to = backend.typedArrayFromHeap(out);
    // Runs of the axes the slice takes whole and the one before them, each in one piece, in order.
    const rank = size.length;
    const strides = [...tf.util.computeStrides(x.shape), 1];
    let first = Math.max(rank - 1, 0);
    let run = rank === 0 ? 1 : size[first]!;
    while (first > 0 && size[first] === x.shape[first]) run *= size[--first]!;
    const position = new Array<number>(first).fill(0);
    for (let written = 0; written < to.length; written += run) {
      const start = position.reduce(
        (offset, index, axis) => offset + (begin[axis]! + index) * strides[axis]!,
        rank === 0 ? 0 : begin[first]! * strides[first]!,
      );
      to.set(from.subarray(start, start + run), written);
      for (let axis = first - 1; axis >= 0 && ++position[axis]! === size[axis]; axis--) position[axis] = 0;
    }
    return out;
  };
}

let patched = false;

/** Installs both on the registered WASM kernels (after importing the backend); again is a no-op. */
export function patchWasmCopies(): void {
  if (patched) return;
  const stock: Record<string, KernelConfig> = { identity: tf.getKernel(tf.Identity, 'wasm'), slice: tf.getKernel(tf.Slice, 'wasm') };
  for (const config of Object.values(stock)) tf.unregisterKernel(config.kernelName, 'wasm');
  tf.registerKernel({ ...stock.identity!, kernelFunc: sharedIdentity });
  tf.registerKernel({ ...stock.slice!, kernelFunc: sliceFromHeap(stock.slice!.kernelFunc) });
  patched = true;
}
