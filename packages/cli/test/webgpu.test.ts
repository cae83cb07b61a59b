import { describe, expect, it } from 'vitest';
import {
  type BackendRequest,
  type Checkpoint,
  compareResults,
  describeComparison,
  initBackend,
  listAdapters,
  memoryHost,
  type Result,
  resultSchema,
  runExperiment,
} from '@axiom/runner/host';
import { type Experiment } from '@axiom/runner';
import { builtinExperiments } from '@axiom/experiments';
import { defaultGoldenPath, GOLDEN_SEED, readGoldenFile } from '../src/golden.js';
import { CROSS_BACKEND_TOLERANCE } from '../src/reproduce-command.js';

// Every built-in experiment's smoke preset on the webgpu backend, on this host's software adapter (lavapipe,
// installed by .ci/install-lavapipe), against WASM: the golden digest where WebGPU rounds the same, else the
// experiment's headline metrics within the tolerances it declares. Lavapipe is for correctness: about 200 ms a step.
const LAVAPIPE_MISSING = 'no software WebGPU adapter: install mesa-vulkan-drivers from bookworm-backports (.ci/install-lavapipe)';

async function softwareAdapterIndex(): Promise<number> {
  const software = (await listAdapters()).find((listed) => listed.info.software);
  if (!software) throw new Error(LAVAPIPE_MISSING);
  return software.info.index;
}

async function smokeOn(experiment: Experiment, backend: BackendRequest): Promise<Result> {
  const { tf } = await initBackend(backend);
  const tensorsBefore = tf.memory().numTensors;
  const { result } = await runExperiment({
    experiment,
    preset: 'smoke',
    seed: { value: GOLDEN_SEED, source: 'cli', warnings: [] },
    backend,
    host: memoryHost(),
  });
  expect(tf.memory().numTensors, `${experiment.name} leaks tensors on ${backend.forced}`).toBe(tensorsBefore);
  expect(resultSchema.safeParse(result).success).toBe(true);
  expect(result.status).toBe('ok');
  return result;
}

describe('every built-in experiment on WebGPU (lavapipe) agrees with WASM', async () => {
  const golden = await readGoldenFile(defaultGoldenPath());
  for (const experiment of builtinExperiments.values()) {
    it(`${experiment.name}: smoke preset, no tensor leaks, the adapter recorded`, { timeout: 900_000 }, async () => {
      const gpu = await softwareAdapterIndex();
      const webgpu = await smokeOn(experiment, { forced: 'webgpu', gpu: { source: 'cli', device: gpu } });
      expect(webgpu.backend).toMatchObject({
        name: 'webgpu',
        gpu: { adapter: { index: gpu, software: true }, selection: `--gpu ${gpu} named it (a software adapter, used because it was asked for explicitly)` },
      });
      if (webgpu.digest === golden.experiments[experiment.name]?.digest) return;
      const wasm = await smokeOn(experiment, { forced: 'wasm' });
      expect(wasm.digest, 'the WASM run reproduces the golden digest').toBe(golden.experiments[experiment.name]?.digest);
      const comparison = compareResults(wasm, webgpu, experiment.headline ?? CROSS_BACKEND_TOLERANCE);
      expect(comparison.withinTolerance, describeComparison(comparison)).toBe(true);
    });
  }
});

describe('checkpoints on WebGPU (lavapipe)', () => {
  it('memorization-dynamics stopped inside its stack resumes there to the golden digest', { timeout: 900_000 }, async () => {
    const experiment = builtinExperiments.get('memorization-dynamics') as Experiment;
    const backend: BackendRequest = { forced: 'webgpu', gpu: { source: 'cli', device: await softwareAdapterIndex() } };
    const request = (host: ReturnType<typeof memoryHost>) =>
      runExperiment({ experiment, preset: 'smoke', seed: { value: GOLDEN_SEED, source: 'cli', warnings: [] }, backend, host });
    const stored: { checkpoint?: Checkpoint } = {};
    const first = memoryHost(stored);
    let steps = 0;
    first.progress = (update) => update.detail !== undefined && ++steps === 60 && first.abort.abort();
    expect((await request(first)).result.status).toBe('partial');
    // The stop's checkpoint holds the weights and Adam's state read back from the GPU.
    expect(stored.checkpoint?.inProgress[0]?.training).toMatchObject({ epoch: expect.any(Number), batch: expect.any(Number) });
    const resumed = (await request(memoryHost(stored))).result;
    expect(resumed.timings.resumes).toBe(1);
    expect(resumed.digest).toBe((await readGoldenFile(defaultGoldenPath())).experiments['memorization-dynamics']!.digest);
  });
});
