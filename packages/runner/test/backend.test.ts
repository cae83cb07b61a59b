import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { AxiomError, backendLoaders, initBackend } from '@axiom/runner/host';
import { type BackendLoader, defaultThreadCount } from '../src/backend.js';
import { MAX_WASM_THREADS } from '../src/wasm-threads.js';

/**
 * The real loaders, but the native backends (optional packages) load as they do when npm did not install
 * them, whether or not it did: the outcome must not depend on what happens to be installed.
 */
const notInstalled = (packageName: string): BackendLoader => async () => {
  throw new Error(`${packageName} is not installed`);
};
const withoutNative = { ...backendLoaders, 'tfjs-node': notInstalled('@tensorflow/tfjs-node'), 'tfjs-node-gpu': notInstalled('@tensorflow/tfjs-node-gpu') };

// These run on the real WASM and plain JS backends of this machine.
describe('backend selection', () => {
  it('skips what the host lacks, says why, and lands on WASM with SIMD, the matmul patch and a thread per core', async () => {
    const { info, warnings } = await initBackend({ threads: defaultThreadCount({}) }, withoutNative);
    expect(info.name).toBe('wasm');
    expect(info.simd).toBe(true);
    const threaded = availableParallelism() > 1;
    expect(info.threads).toBe(Math.min(availableParallelism(), MAX_WASM_THREADS));
    expect(info.patches).toEqual([expect.stringContaining('wasm-transposed-matmul'), ...(threaded ? [expect.stringContaining('wasm-node-threads')] : [])]);
    expect(info.skipped.map((s) => s.name)).toEqual(['tfjs-node-gpu', 'tfjs-node']);
    expect(info.skipped[0]!.reason).toBe('the host reported no GPU');
    expect(info.skipped[1]!.reason).toContain('@tensorflow/tfjs-node');
    expect(warnings).toEqual([]);
  });

  it('a forced backend that cannot load is an error, not a fallback', async () => {
    const attempt = initBackend({ forced: 'tfjs-node' }, withoutNative);
    await expect(attempt).rejects.toThrowError(AxiomError);
    await expect(initBackend({ forced: 'tfjs-node' }, withoutNative)).rejects.toThrowError(/backend "tfjs-node" cannot be used: @tensorflow\/tfjs-node/);
  });

  it('a GPU host without tfjs-node-gpu degrades to CPU with a warning in the result', async () => {
    const { info, warnings } = await initBackend({ gpu: { type: 'NVIDIA', device: 0 } }, withoutNative);
    expect(info.skipped[0]).toMatchObject({ name: 'tfjs-node-gpu', reason: expect.stringContaining('@tensorflow/tfjs-node-gpu') });
    expect(warnings).toEqual([{ code: 'gpu-unavailable', message: expect.stringContaining('NVIDIA GPU (device 0)') }]);
  });

  it('the default thread count: AXIOM_THREADS, else every core; a bad value is a usage error naming it', () => {
    expect(defaultThreadCount({})).toBe(availableParallelism());
    expect(defaultThreadCount({ AXIOM_THREADS: '3' })).toBe(3);
    expect(() => defaultThreadCount({ AXIOM_THREADS: 'many' })).toThrowError(/AXIOM_THREADS must be a positive integer, got "many"/);
  });

  it("records a loader's warnings, such as WASM running on fewer threads than asked", async () => {
    const warning = { code: 'wasm-threads-unavailable', message: 'running the single-threaded WASM build' };
    const fewerThreads: BackendLoader = async () => ({ threads: 1, simd: true, patches: [], warnings: [warning] });
    const { info, warnings } = await initBackend({ threads: 4 }, { ...withoutNative, wasm: fewerThreads });
    expect([info.name, info.threads, warnings]).toEqual(['wasm', 1, [warning]]);
  });

  it('falls through a backend that fails to initialise to the plain JS backend', async () => {
    const failingWasm: BackendLoader = async () => {
      throw new Error('WebAssembly.instantiate(): out of memory');
    };
    const { info, tf } = await initBackend({}, { ...withoutNative, wasm: failingWasm });
    expect(info.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(info.skipped.at(-1)).toEqual({ name: 'wasm', reason: 'WebAssembly.instantiate(): out of memory' });
  });
});
