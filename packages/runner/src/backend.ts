import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's Node build registers no gradients and its ESM build does not load in Node; the union
// package's Node build registers them all (and is what tfjs-node builds on anyway).
import '@tensorflow/tfjs';
import { AxiomError, errorMessage } from './errors.js';
import { backendNames, type BackendInfo, type BackendName, type RunWarning } from './schemas.js';
import { patchWasmTransposedMatMul, WASM_TRANSPOSED_MATMUL_PATCH } from './wasm-matmul.js';
import { activateWasmThreads } from './wasm-threads.js';
import { locateWasmFile, WASM_BINARIES } from './wasm-files.js';

export type Tf = typeof tf;

export interface BackendRequest {
  /** Use exactly this backend; failing to load it is an error, not a fallback. */
  forced?: BackendName;
  /** What the host knows about a GPU (BOINC's `gpu_type`/`gpu_device_num`); undefined means none. */
  gpu?: { type: string; device: number };
  /** Threads the backend may use (BOINC's `ncpus`; all cores locally). */
  threads?: number;
}

interface LoadedBackend {
  threads: number;
  simd: boolean;
  patches: string[];
  /** Why the backend runs below what was asked (e.g. fewer threads); recorded in the result. */
  warnings?: RunWarning[];
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
    throw new Error(code === 'ERR_MODULE_NOT_FOUND' ? `${packageName} is not installed` : errorMessage(error));
  }
  if (!tf.findBackendFactory('tensorflow')) {
    throw new Error(`${packageName} registered its backend with another copy of @tensorflow/tfjs-core (version mismatch)`);
  }
  await activate('tensorflow');
  return { threads: request.threads, simd: true, patches: [] };
}

export const backendLoaders: Record<BackendName, BackendLoader> = {
  'tfjs-node-gpu': (request) => loadNative('@tensorflow/tfjs-node-gpu', request),
  'tfjs-node': (request) => loadNative('@tensorflow/tfjs-node', request),
  wasm: async (request) => {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // A BOINC app version ships the binaries under versioned names beside the bundle; tfjs asks for them by their own.
    const binaries = WASM_BINARIES.map((name) => [name, locateWasmFile(name)] as const);
    if (binaries.every(([, path]) => path !== undefined)) wasm.setWasmPaths(Object.fromEntries(binaries) as Record<string, string>);
    patchWasmTransposedMatMul();
    const threading = await activateWasmThreads(wasm, request.threads, () => activate('wasm'));
    return {
      threads: threading.threads,
      simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT') as boolean,
      patches: [WASM_TRANSPOSED_MATMUL_PATCH, ...threading.patches],
      warnings: threading.warnings,
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

/**
 * Brings up the best backend the host has: tfjs-node-gpu (only when the host reports a GPU),
 * tfjs-node, WASM, then plain JS. Records why each better one was skipped.
 */
export async function initBackend(given: BackendRequest, loaders = backendLoaders): Promise<InitialisedBackend> {
  const request = { ...given, threads: given.threads ?? defaultThreadCount() };
  const skipped: BackendInfo['skipped'] = [];
  const warnings: RunWarning[] = [];
  const candidates = request.forced ? [request.forced] : backendNames;
  for (const name of candidates) {
    if (!request.forced && name === 'tfjs-node-gpu' && !request.gpu) {
      skipped.push({ name, reason: 'the host reported no GPU' });
      continue;
    }
    try {
      const { warnings: loadWarnings = [], ...loaded } = await loaders[name](request);
      warnings.push(...loadWarnings);
      if (request.gpu && name !== 'tfjs-node-gpu') {
        warnings.push({
          code: 'gpu-unavailable',
          message: `the host reported a ${request.gpu.type} GPU (device ${request.gpu.device}) but ${skipped[0]?.reason ?? 'it could not be used'}; running on ${name} (CPU)`,
        });
      }
      return { tf, info: { name, tfjsVersion: tf.version_core, ...loaded, skipped }, warnings };
    } catch (error) {
      if (request.forced) {
        throw new AxiomError('backendUnavailable', `backend "${name}" cannot be used: ${errorMessage(error)}`, { cause: error });
      }
      skipped.push({ name, reason: errorMessage(error) });
    }
  }
  throw new AxiomError('backendUnavailable', `no backend could be loaded: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}
