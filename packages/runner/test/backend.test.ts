import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { AxiomError, backendLoaders, initBackend, listAdapters } from '@axiom/runner/host';
import { backendInfoSchema } from '../src/schemas.js';
import { type BackendLoader, defaultThreadCount } from '../src/backend.js';
import { MAX_WASM_THREADS } from '../src/wasm-threads.js';

/**
 * The real loaders, but the native backends (optional packages) load as they do when npm did not install
 * them, whether or not it did: the outcome must not depend on what happens to be installed.
 */
const notInstalled =
  (packageName: string): BackendLoader =>
  async () => {
    throw new Error(`${packageName} is not installed`);
  };
const withoutNative = { ...backendLoaders, 'tfjs-node': notInstalled('@tensorflow/tfjs-node'), 'tfjs-node-gpu': notInstalled('@tensorflow/tfjs-node-gpu') };

// These run on the real WASM and plain JS backends of this machine.
describe('tfjs-core with what @tensorflow/tfjs adds to it', () => {
  it('has every gradient and the chained ops, as scripts written against @tensorflow/tfjs expect', async () => {
    const { tf } = await initBackend({ forced: 'cpu' });
    const x = tf.tensor1d([1, -2, 3]);
    expect(x.abs().toFloat().square().sum().dataSync()[0]).toBe(14);
    // Gradients tfjs-core's Node build does not register: tanh, gather, the softmax cross-entropy's pieces.
    const loss = (w: typeof x) => tf.losses.softmaxCrossEntropy(tf.tensor2d([[0, 1, 0]]), tf.tanh(tf.gather(w, [0, 1, 2])).reshape([1, 3]));
    const gradient = tf.grad(loss)(x).dataSync();
    const step = 1e-3;
    const numeric = [0, 1, 2].map((i) => {
      const moved = (delta: number) => loss(tf.tensor1d([1, -2, 3].map((value, j) => (j === i ? value + delta : value)))).dataSync()[0]!;
      return (moved(step) - moved(-step)) / (2 * step);
    });
    numeric.forEach((value, i) => expect(gradient[i]).toBeCloseTo(value, 3));
  });
});

describe('backend selection', () => {
  it('skips what the host lacks, says why, and lands on WASM with SIMD, the matmul, gather and copy patches, the stacked dense (in the host kernels), cross-entropy, Adam and weighted-sum kernels and a thread per core', async () => {
    const { info, warnings } = await initBackend({ threads: defaultThreadCount({}) }, withoutNative);
    expect(info.name).toBe('wasm');
    expect(info.simd).toBe(true);
    const threaded = availableParallelism() > 1;
    expect(info.threads).toBe(Math.min(availableParallelism(), MAX_WASM_THREADS));
    expect(info.patches).toEqual([
      expect.stringContaining('wasm-transposed-matmul'),
      expect.stringContaining('wasm-gather-rows'),
      expect.stringContaining('wasm-copies'),
      expect.stringContaining('axiom-stacked-dense'),
      expect.stringContaining('axiom-host-dense'),
      expect.stringContaining('axiom-softmax-cross-entropy'),
      expect.stringContaining('axiom-sigmoid-cross-entropy'),
      expect.stringContaining('axiom-adam'),
      expect.stringContaining('axiom-weighted-sum'),
      ...(threaded ? [expect.stringContaining('wasm-node-threads')] : []),
    ]);
    expect(info.skipped.map((s) => s.name)).toEqual(['webgpu', 'tfjs-node-gpu', 'tfjs-node']);
    expect(info.skipped[0]!.reason).toBe('the host reported no GPU');
    expect(info.skipped[1]!.reason).toBe('the host reported no GPU');
    expect(info.skipped[2]!.reason).toContain('@tensorflow/tfjs-node');
    expect(warnings).toEqual([]);
  });

  it('a forced backend that cannot load is an error, not a fallback', async () => {
    const attempt = initBackend({ forced: 'tfjs-node' }, withoutNative);
    await expect(attempt).rejects.toThrowError(AxiomError);
    await expect(initBackend({ forced: 'tfjs-node' }, withoutNative)).rejects.toThrowError(/backend "tfjs-node" cannot be used: @tensorflow\/tfjs-node/);
  });

  // Real Dawn on this host's adapters (lavapipe here and on CI): no NVIDIA adapter, and tfjs-node-gpu is not installed.
  it('a BOINC GPU task whose GPU no GPU backend can use fails temporarily, never computing on the CPU', async () => {
    const attempt = initBackend({ gpu: { source: 'boinc', type: 'NVIDIA', device: 0, name: 'NVIDIA GeForce RTX 3080' } });
    await expect(attempt).rejects.toMatchObject({ kind: 'backendUnavailable', transient: true });
    await expect(attempt).rejects.toThrowError(
      /never falls back to the CPU: webgpu: the BOINC client assigned NVIDIA GPU 0 \(NVIDIA GeForce RTX 3080\) but Dawn offers no hardware nvidia adapter.*; tfjs-node-gpu: @tensorflow\/tfjs-node-gpu is not installed/,
    );
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

// Real Dawn on this host's adapters: lavapipe here and on CI (.ci/install-lavapipe), no hardware GPU.
describe('the webgpu backend', () => {
  const softwareAdapter = async () => {
    const software = (await listAdapters()).find((listed) => listed.info.software);
    if (!software) throw new Error('no software WebGPU adapter: install mesa-vulkan-drivers from bookworm-backports (.ci/install-lavapipe)');
    return software.info;
  };

  it('refuses a software adapter nobody asked for, listing what there is', async () => {
    const adapter = await softwareAdapter();
    await expect(initBackend({ forced: 'webgpu' })).rejects.toThrowError(
      new RegExp(
        `backend "webgpu" cannot be used: no hardware GPU adapter; a software adapter is never chosen on its own .*#${adapter.index} ${adapter.name.replace(/[()]/g, '\\$&')} \\(mesa, software\\)`,
      ),
    );
  });

  it('runs on the software adapter when it is named, and records the adapter, its driver, the limits used and why', async () => {
    const adapter = await softwareAdapter();
    const { tf, info, warnings } = await initBackend({ forced: 'webgpu', gpu: { source: 'cli', device: adapter.index } });
    expect(backendInfoSchema.parse(info)).toEqual(info);
    expect(info).toMatchObject({
      name: 'webgpu',
      skipped: [],
      gpu: { adapter, selection: `--gpu ${adapter.index} named it (a software adapter, used because it was asked for explicitly)` },
    });
    expect(info.gpu!.adapter.driver).toMatch(/^Mesa \d+\./);
    expect(Object.keys(info.gpu!.limits).sort()).toEqual([
      'maxBufferSize',
      'maxComputeInvocationsPerWorkgroup',
      'maxComputeWorkgroupSizeX',
      'maxComputeWorkgroupStorageSize',
      'maxComputeWorkgroupsPerDimension',
      'maxStorageBufferBindingSize',
    ]);
    expect(warnings).toEqual([]);
    expect(tf.getBackend()).toBe('webgpu');
    const before = tf.memory().numTensors;
    const product = tf.tidy(() =>
      tf.matMul(
        tf.tensor2d([
          [1, 2],
          [3, 4],
        ]),
        tf.tensor2d([[5], [6]]),
      ),
    );
    expect(Array.from(await product.data())).toEqual([17, 39]);
    product.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
