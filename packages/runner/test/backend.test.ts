import { describe, expect, it } from 'vitest';
import { AxiomError, backendLoaders, initBackend, type BackendLoader } from '@axiom/runner';

// These run on the real backends of this machine: tfjs-node cannot install here, WASM and JS can.
describe('backend selection', () => {
  it('skips what the host lacks, says why, and lands on WASM with SIMD and the matmul patch', async () => {
    const { info, warnings } = await initBackend({});
    expect(info.name).toBe('wasm');
    expect(info.simd).toBe(true);
    expect(info.patches).toEqual([expect.stringContaining('wasm-transposed-matmul')]);
    expect(info.skipped.map((s) => s.name)).toEqual(['tfjs-node-gpu', 'tfjs-node']);
    expect(info.skipped[0]!.reason).toBe('the host reported no GPU');
    expect(info.skipped[1]!.reason).toContain('@tensorflow/tfjs-node');
    expect(warnings).toEqual([]);
  });

  it('a forced backend that cannot load is an error, not a fallback', async () => {
    const attempt = initBackend({ forced: 'tfjs-node' });
    await expect(attempt).rejects.toThrowError(AxiomError);
    await expect(initBackend({ forced: 'tfjs-node' })).rejects.toThrowError(/backend "tfjs-node" cannot be used: @tensorflow\/tfjs-node/);
  });

  it('a GPU host without tfjs-node-gpu degrades to CPU with a warning in the result', async () => {
    const { info, warnings } = await initBackend({ gpu: { type: 'NVIDIA', device: 0 } });
    expect(info.skipped[0]).toMatchObject({ name: 'tfjs-node-gpu', reason: expect.stringContaining('@tensorflow/tfjs-node-gpu') });
    expect(warnings).toEqual([{ code: 'gpu-unavailable', message: expect.stringContaining('NVIDIA GPU (device 0)') }]);
  });

  it('falls through a backend that fails to initialise to the plain JS backend', async () => {
    const failingWasm: BackendLoader = async () => {
      throw new Error('WebAssembly.instantiate(): out of memory');
    };
    const { info, tf } = await initBackend({}, { ...backendLoaders, wasm: failingWasm });
    expect(info.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(info.skipped.at(-1)).toEqual({ name: 'wasm', reason: 'WebAssembly.instantiate(): out of memory' });
  });
});
