import type { TensorInfo } from '@tensorflow/tfjs-core';
import { KERNELS_WASM, KERNELS_WASM_SHARED_MEMORY } from './native-kernels-wasm.js';

/**
 * Our own kernels for the WASM backend (native/kernels.c, compiled by scripts/build-kernels.mjs), run in the
 * backend's own memory: the module imports it, so tensors are read and written where they lie.
 */
export interface NativeKernels {
  dense_forward(...args: number[]): void;
  dense_backprop_input(...args: number[]): void;
  dense_backprop_filter(...args: number[]): void;
  dense_bias_grad(...args: number[]): void;
  gather_rows(...args: number[]): number;
  adam_update(...args: number[]): void;
  softmax_cross_entropy(...args: number[]): void;
  cross_entropy_backprop(...args: number[]): void;
  weighted_sum(...args: number[]): void;
  sigmoid_cross_entropy(...args: number[]): void;
}

/** The parts of tfjs-backend-wasm's backend a kernel uses. */
export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: TensorInfo['dtype']): TensorInfo;
  disposeData(dataId: object): boolean;
  /** One more reference to a tensor's data (disposeData drops one; the last frees it). */
  incRef(dataId: object): void;
  /** A view of the tensor's data in the backend's heap; stale once that heap grows, so take it just before use. */
  typedArrayFromHeap(tensor: TensorInfo): Float32Array | Int32Array | Uint8Array;
  /** A tensor's byte address in the backend's memory. */
  getMemoryOffset(dataId: object): number;
  wasm: {
    _malloc(bytes: number): number;
    _free(address: number): void;
    /** The instance's exports: the memory of the single-threaded builds. */
    asm: { memory?: WebAssembly.Memory };
    /** The memory of the threaded build (shared). */
    wasmMemory?: WebAssembly.Memory;
  };
}

/**
 * musl's tables for expf and logf (exp2f_data.c, logf_data.c), as tfjs-backend-wasm's module has them and as
 * native/kernels.c reads them (struct math_tables), as the bits of doubles: 2^(i/32) less i << 47 for
 * i < 32, then 16 pairs 1/c, log c. The module may keep no data in the memory it imports (its data segments
 * would be written over the backend's), so they live in a block of the backend's heap.
 */
// prettier-ignore
export const MATH_TABLES = [
  '3ff0000000000000', '3fefd9b0d3158574', '3fefb5586cf9890f', '3fef9301d0125b51', '3fef72b83c7d517b', '3fef54873168b9aa',
  '3fef387a6e756238', '3fef1e9df51fdee1', '3fef06fe0a31b715', '3feef1a7373aa9cb', '3feedea64c123422', '3feece086061892d',
  '3feebfdad5362a27', '3feeb42b569d4f82', '3feeab07dd485429', '3feea47eb03a5585', '3feea09e667f3bcd', '3fee9f75e8ec5f74',
  '3feea11473eb0187', '3feea589994cce13', '3feeace5422aa0db', '3feeb737b0cdc5e5', '3feec49182a3f090', '3feed503b23e255d',
  '3feee89f995ad3ad', '3feeff76f2fb5e47', '3fef199bdd85529c', '3fef3720dcef9069', '3fef5818dcfba487', '3fef7c97337b9b5f',
  '3fefa4afa2a490da', '3fefd0765b6e4540',
  '3ff661ec79f8f3be', 'bfd57bf7808caade', '3ff571ed4aaf883d', 'bfd2bef0a7c06ddb', '3ff49539f0f010b0', 'bfd01eae7f513a67',
  '3ff3c995b0b80385', 'bfcb31d8a68224e9', '3ff30d190c8864a5', 'bfc6574f0ac07758', '3ff25e227b0b8ea0', 'bfc1aa2bc79c8100',
  '3ff1bb4a4a1a343f', 'bfba4e76ce8c0e5e', '3ff12358f08ae5ba', 'bfb1973c5a611ccc', '3ff0953f419900a7', 'bfa252f438e10c1e',
  '3ff0000000000000', '0000000000000000', '3fee608cfd9a47ac', '3faaa5aa5df25984', '3feca4b31f026aa0', '3fbc5e53aa362eb4',
  '3feb2036576afce6', '3fc526e57720db08', '3fe9c2d163a1aa2d', '3fcbc2860d224770', '3fe886e6037841ed', '3fd1058bc8a07ee1',
  '3fe767dcf5534862', '3fd4043057b6ee09',
].map((bits) => BigInt(`0x${bits}`));

/** The kernels, instantiated on the backend's own memory, and the address of the math tables there (once per memory). */
interface Instance {
  kernels: NativeKernels;
  mathTables: number;
}
const instances = new WeakMap<WebAssembly.Memory, Instance>();

/** The WASM backend's memory: where every tensor lies. */
export function wasmMemoryOf(backend: WasmBackendLike): WebAssembly.Memory {
  const memory = backend.wasm.wasmMemory ?? backend.wasm.asm.memory;
  if (!memory) throw new Error('the WASM backend exposes no memory for our native kernels');
  return memory;
}

function instanceOf(backend: WasmBackendLike): Instance {
  const memory = wasmMemoryOf(backend);
  let instance = instances.get(memory);
  if (!instance) {
    const shared = memory.buffer instanceof SharedArrayBuffer;
    const module = new WebAssembly.Module(Buffer.from(shared ? KERNELS_WASM_SHARED_MEMORY : KERNELS_WASM, 'base64'));
    const kernels = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as NativeKernels;
    // Kept for as long as the memory: the backend's heap is freed with it.
    const mathTables = backend.wasm._malloc(MATH_TABLES.length * 8);
    new BigUint64Array(memory.buffer, mathTables, MATH_TABLES.length).set(MATH_TABLES);
    instance = { kernels, mathTables };
    instances.set(memory, instance);
  }
  return instance;
}

/**
 * One native call on tensors where they lie: makes the outputs (of `dtype`) and `scratch` floats of working
 * memory in the backend's heap, calls `run` with the byte address of each input, then each output, then the
 * scratch, and the address of the math tables.
 */
export function callNative(
  backend: WasmBackendLike,
  inputs: readonly TensorInfo[],
  outputs: number[][],
  scratch: number,
  run: (kernels: NativeKernels, addresses: number[], mathTables: number) => void,
  dtype: TensorInfo['dtype'] = 'float32',
): TensorInfo[] {
  const { kernels, mathTables } = instanceOf(backend);
  const made = outputs.map((shape) => backend.makeOutput(shape, dtype));
  const scratchAddress = scratch > 0 ? backend.wasm._malloc(scratch * 4) : 0;
  try {
    run(kernels, [...[...inputs, ...made].map((tensor) => backend.getMemoryOffset(tensor.dataId)), scratchAddress], mathTables);
  } finally {
    if (scratchAddress) backend.wasm._free(scratchAddress);
  }
  return made;
}
