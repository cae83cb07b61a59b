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

/** The kernels, instantiated on the backend's own memory (once per memory). */
const instances = new WeakMap<WebAssembly.Memory, NativeKernels>();

function kernelsOf(backend: WasmBackendLike): NativeKernels {
  const memory = backend.wasm.wasmMemory ?? backend.wasm.asm.memory;
  if (!memory) throw new Error('the WASM backend exposes no memory for our native kernels');
  let kernels = instances.get(memory);
  if (!kernels) {
    const shared = memory.buffer instanceof SharedArrayBuffer;
    const module = new WebAssembly.Module(Buffer.from(shared ? KERNELS_WASM_SHARED_MEMORY : KERNELS_WASM, 'base64'));
    kernels = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as NativeKernels;
    instances.set(memory, kernels);
  }
  return kernels;
}

/**
 * One native call on tensors where they lie: makes the outputs (of `dtype`) and `scratch` floats of working
 * memory in the backend's heap, calls `run` with the byte address of each input, then each output, then the scratch.
 */
export function callNative(
  backend: WasmBackendLike,
  inputs: readonly TensorInfo[],
  outputs: number[][],
  scratch: number,
  run: (kernels: NativeKernels, addresses: number[]) => void,
  dtype: TensorInfo['dtype'] = 'float32',
): TensorInfo[] {
  const kernels = kernelsOf(backend);
  const made = outputs.map((shape) => backend.makeOutput(shape, dtype));
  const scratchAddress = scratch > 0 ? backend.wasm._malloc(scratch * 4) : 0;
  try {
    run(kernels, [...[...inputs, ...made].map((tensor) => backend.getMemoryOffset(tensor.dataId)), scratchAddress]);
  } finally {
    if (scratchAddress) backend.wasm._free(scratchAddress);
  }
  return made;
}
