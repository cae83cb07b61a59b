import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's gradients and chained ops, which its Node build does not register (bundled at build time:
// scripts/bundle-tfjs-registrations.mjs).
import '@axiom/runner/tfjs-registrations';
import { AxiomError, errorMessage } from './errors.js';
import { backendNames, type BackendInfo, type BackendName, type GpuAssignment, type GpuRecord, type RunWarning } from './schemas.js';
import { ADAM_KERNEL_PATCH, registerAdamKernel } from './adam.js';
import { patchWasmGatherRows, WASM_GATHER_ROWS_PATCH } from './gather-rows.js';
import { registerCrossEntropyKernels, SIGMOID_CROSS_ENTROPY_KERNEL_PATCH, SOFTMAX_CROSS_ENTROPY_KERNEL_PATCH } from './cross-entropy.js';
import { hostDensePatch, registerStackedDenseKernels, STACKED_DENSE_KERNEL_PATCH } from './stacked-dense.js';
import { loadHostKernels } from './host-kernels.js';
import { patchWasmCopies, WASM_COPIES_PATCH } from './wasm-copies.js';
import { registerWeightedSumKernel, WEIGHTED_SUM_KERNEL_PATCH } from './weighted-sum.js';
import { patchWasmTransposedMatMul, WASM_TRANSPOSED_MATMUL_PATCH } from './wasm-matmul.js';
import { activateWasmThreads } from './wasm-threads.js';
import { locateWasmFile, WASM_BINARIES } from './wasm-files.js';
import { openWebgpuDevice } from './webgpu.js';
import { patchWebgpuMatMulBounds, WEBGPU_MATMUL_BOUNDS_PATCH } from './webgpu-matmul.js';

export type Tf = typeof tf;

export interface BackendRequest {
  /** Use exactly this backend; failing to load it is an error, not a fallback. */
  forced?: BackendName;
  /**
   * The GPU this run was given (BOINC's `gpu_type`/`gpu_device_num`, or `--gpu N`); undefined means none.
   * A run given a GPU computes on it or fails (temporarily, under BOINC): it never falls back to the CPU.
   */
  gpu?: GpuAssignment;
  /** Threads the backend may use (BOINC's `ncpus`; all cores locally). */
  threads?: number;
}

interface LoadedBackend {
  threads: number;
  simd: boolean;
  patches: string[];
  /** Why the backend runs below what was asked (e.g. fewer threads); recorded in the result. */
  warnings?: RunWarning[];
  gpu?: GpuRecord;
}

/**
 * Threads when the host names none: `AXIOM_THREADS`, else every core. (Under BOINC the host passes
 * `ncpus`.) On a machine whose cores are busy with other work, 1 is faster: the pool spin-waits.
 */
export function defaultThreadCount(env = process.env): number {
  const fromEnv = Number(env.AXIOM_THREADS);
  if (env.AXIOM_THREADS === undefined || env.AXIOM_THREADS === '') return availableParallelism();
  if (!Number.isInteger(fromEnv) || fromEnv < 1) throw new AxiomError('usage', `AXIOM_THREADS must be a positive integer, got "${env.AXIOM_THREADS}"`);
  return fromEnv;
}

/** How to bring up each backend (the thread count is settled by then). Native packages are optional dependencies, so they are imported dynamically. */
export type BackendLoader = (request: BackendRequest & { threads: number }) => Promise<LoadedBackend>;

async function activate(name: string): Promise<void> {
  // setBackend resolves false (it does not throw) when the backend's initialisation fails.
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') failed to initialise`);
}

async function loadNative(packageName: string, request: { threads: number }): Promise<LoadedBackend> {
  try {
    await import(packageName);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(code === 'ERR_MODULE_NOT_FOUND' ? `${packageName} is not installed` : errorMessage(error), { cause: error });
  }
  if (!tf.findBackendFactory('tensorflow')) {
    throw new Error(`${packageName} registered its backend with another copy of @tensorflow/tfjs-core (version mismatch)`);
  }
  await activate('tensorflow');
  return { threads: request.threads, simd: true, patches: [] };
}

export const backendLoaders: Record<BackendName, BackendLoader> = {
  webgpu: async (request) => {
    const { device, info, record } = await openWebgpuDevice(request.gpu);
    const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
    // The package registers its own factory on import when navigator.gpu exists; this one uses the chosen device.
    if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
    tf.registerBackend('webgpu', () => {
      const backend = new WebGPUBackend(device, info);
      patchWebgpuMatMulBounds(backend);
      return backend;
    });
    await activate('webgpu');
    return { threads: 1, simd: false, patches: [WEBGPU_MATMUL_BOUNDS_PATCH], gpu: record };
  },
  'tfjs-node-gpu': (request) => loadNative('@tensorflow/tfjs-node-gpu', request),
  'tfjs-node': (request) => loadNative('@tensorflow/tfjs-node', request),
  wasm: async (request) => {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // A BOINC app version ships the binaries under versioned names beside the bundle; tfjs asks for them by their own.
    const binaries = WASM_BINARIES.map((name) => [name, locateWasmFile(name)] as const);
    if (binaries.every(([, path]) => path !== undefined)) wasm.setWasmPaths(Object.fromEntries(binaries));
    patchWasmTransposedMatMul();
    patchWasmGatherRows();
    patchWasmCopies();
    registerStackedDenseKernels();
    registerCrossEntropyKernels();
    registerAdamKernel();
    registerWeightedSumKernel();
    const threading = await activateWasmThreads(wasm, request.threads, () => activate('wasm'));
    const host = loadHostKernels();
    return {
      threads: threading.threads,
      simd: (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean,
      patches: [
        WASM_TRANSPOSED_MATMUL_PATCH,
        WASM_GATHER_ROWS_PATCH,
        WASM_COPIES_PATCH,
        STACKED_DENSE_KERNEL_PATCH,
        ...(host.loaded ? [hostDensePatch(host.kernels)] : []),
        SOFTMAX_CROSS_ENTROPY_KERNEL_PATCH,
        SIGMOID_CROSS_ENTROPY_KERNEL_PATCH,
        ADAM_KERNEL_PATCH,
        WEIGHTED_SUM_KERNEL_PATCH,
        ...threading.patches,
      ],
      warnings: [...threading.warnings, ...(!host.loaded && host.warning ? [host.warning] : [])],
    };
  },
  cpu: async () => {
    await import('@tensorflow/tfjs-backend-cpu');
    await activate('cpu');
    return { threads: 1, simd: false, patches: [] };
  },
};

export interface InitialisedBackend {
  tf: Tf;
  info: BackendInfo;
  warnings: RunWarning[];
}

/** Backends that compute on a GPU: a run given a GPU uses one of them or none. */
export const GPU_BACKENDS: readonly BackendName[] = ['webgpu', 'tfjs-node-gpu'];

/**
 * Brings up the best backend the host has: for a run given a GPU, WebGPU on that GPU (tfjs-node-gpu when
 * it is an NVIDIA one and WebGPU fails); otherwise tfjs-node, WASM, then plain JS. Records why each better
 * one was skipped. A run given a GPU that no GPU backend can use fails: it never computes on the CPU instead.
 */
export async function initBackend(given: BackendRequest, loaders = backendLoaders): Promise<InitialisedBackend> {
  const request = { ...given, threads: given.threads ?? defaultThreadCount() };
  const skipped: BackendInfo['skipped'] = [];
  const warnings: RunWarning[] = [];
  const gpu = request.gpu;
  const candidates = request.forced ? [request.forced] : gpu ? backendNames.filter((name) => GPU_BACKENDS.includes(name)) : backendNames;
  let transient = false;
  for (const name of candidates) {
    if (!request.forced && GPU_BACKENDS.includes(name) && !gpu) {
      skipped.push({ name, reason: 'the host reported no GPU' });
      continue;
    }
    if (!request.forced && name === 'tfjs-node-gpu' && gpu?.type !== 'NVIDIA') {
      skipped.push({ name, reason: 'it drives NVIDIA GPUs only' });
      continue;
    }
    try {
      const { warnings: loadWarnings = [], ...loaded } = await loaders[name](request);
      warnings.push(...loadWarnings);
      return { tf, info: { name, tfjsVersion: tf.version_core, ...loaded, skipped }, warnings };
    } catch (error) {
      if (request.forced) {
        throw new AxiomError('backendUnavailable', `backend "${name}" cannot be used: ${errorMessage(error)}`, {
          cause: error,
          transient: error instanceof AxiomError && error.transient,
        });
      }
      transient ||= error instanceof AxiomError && error.transient;
      skipped.push({ name, reason: errorMessage(error) });
    }
  }
  const reasons = skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  if (gpu) {
    // A GPU task that cannot get its GPU exits (temporarily under BOINC: the client retries) rather than computing on the CPU.
    throw new AxiomError('backendUnavailable', `the GPU this run was given cannot be used, and a GPU run never falls back to the CPU: ${reasons}`, {
      transient: transient || gpu.source === 'boinc',
    });
  }
  throw new AxiomError('backendUnavailable', `no backend could be loaded: ${reasons}`);
}
