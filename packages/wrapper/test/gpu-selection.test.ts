import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  AxiomError,
  chooseAdapter,
  digestScope,
  ExitCode,
  type GpuAdapterInfo,
  listAdapters,
  memoryHost,
  resultDigest,
  runExperiment,
} from '@axiom/runner/host';
import { compareReplicas, gpuOf, parseInitData, TEMPORARY_EXIT_FILE, ValidatorExit } from '@axiom/wrapper';
import { request } from '../../runner/test/tiny-experiment.js';
import { makeSlot, runWorkerInProcess } from './simulated-slot.js';

const CROSS_BACKEND = { absolute: 0.02, relative: 0.02 };
const FIXTURES = fileURLToPath(new URL('./fixtures/init-data/', import.meta.url));
const assignmentIn = async (fixture: string) => gpuOf(parseInitData(await readFile(join(FIXTURES, fixture), 'utf8')));

/** An adapter as Dawn describes it: the raw name its `adapter=` flag takes, and the normalised fields of GPUAdapterInfo. */
function adapter(index: number, name: string, vendor: string, driver: string, software = false): GpuAdapterInfo {
  const device = name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return { index, name, vendor, architecture: '', device, description: `${vendor}: ${driver}`, driver, software };
}

const LLVMPIPE = (index: number) => adapter(index, 'llvmpipe (LLVM 15.0.6, 256 bits)', 'mesa', 'Mesa 25.0.7 (LLVM 15.0.6)', true);

// What Dawn lists on a Linux workstation with an NVIDIA card, an Intel iGPU and Mesa's lavapipe installed.
const WORKSTATION = [
  adapter(0, 'NVIDIA GeForce RTX 3080', 'nvidia', '535.86.05'),
  adapter(1, 'Intel(R) UHD Graphics 770 (ADL-S GT1)', 'intel', 'Mesa 23.1.0'),
  LLVMPIPE(2),
];

describe('GPU selection as BOINC assigns it (init_data.xml fixtures)', () => {
  it("reads the client's assignment: type, device number (the OpenCL index when that is all), and the device's name", async () => {
    expect(await assignmentIn('nvidia-second-of-two.xml')).toEqual({ source: 'boinc', type: 'NVIDIA', device: 1, name: 'NVIDIA GeForce RTX 3080' });
    expect(await assignmentIn('amd-radeon.xml')).toEqual({ source: 'boinc', type: 'ATI', device: 0, name: 'AMD Radeon RX 6800 XT' });
    expect(await assignmentIn('intel-uhd.xml')).toEqual({ source: 'boinc', type: 'intel_gpu', device: 0, name: 'Intel(R) UHD Graphics 630' });
    expect(await assignmentIn('apple-m2.xml')).toEqual({ source: 'boinc', type: 'apple_gpu', device: 0, name: 'Apple M2' });
  });

  it('matches each vendor by vendor and name, across the notes BOINC and the graphics API add', async () => {
    const machines: Array<[string, GpuAdapterInfo[], number]> = [
      ['amd-radeon.xml', [adapter(0, 'AMD Radeon RX 6800 XT (RADV NAVI21)', 'amd', 'Mesa 24.0.5'), LLVMPIPE(1)], 0],
      ['intel-uhd.xml', [LLVMPIPE(0), adapter(1, 'Intel(R) UHD Graphics 630 (CFL GT2)', 'intel', 'Mesa 23.1.0')], 1],
      ['apple-m2.xml', [adapter(0, 'Apple M2', 'apple', 'Metal 3')], 0],
      ['nvidia-gtx-1080.xml', [adapter(0, 'Intel(R) UHD Graphics 630', 'intel', '31.0.101'), adapter(1, 'NVIDIA GeForce GTX 1080', 'nvidia', '546.33')], 1],
    ];
    for (const [fixture, adapters, expected] of machines) {
      const choice = chooseAdapter(adapters, await assignmentIn(fixture));
      expect(choice.index, fixture).toBe(expected);
      expect(choice.selection).toMatch(/^BOINC assigned \S+ device 0 ".+": matched by vendor and name$/);
    }
  });

  it('exits temporarily, naming what it found, when the assigned GPU is not among the adapters (never another GPU)', async () => {
    const cases: Array<[string, GpuAdapterInfo[], RegExp]> = [
      // Two identical cards: Dawn's Node bindings open adapters by name, so the second cannot be told from the first.
      [
        'nvidia-second-of-two.xml',
        [...WORKSTATION.slice(0, 1), adapter(1, 'NVIDIA GeForce RTX 3080', 'nvidia', '535.86.05'), LLVMPIPE(2)],
        /can open only the first of several adapters named "NVIDIA GeForce RTX 3080"/,
      ],
      // BOINC's device 1, but this host's Vulkan shows only one card of that name.
      ['nvidia-second-of-two.xml', WORKSTATION, /only 1 matching adapter exists/],
      // Another model than the client saw: never computes on a GPU it was not given.
      ['nvidia-gtx-1080.xml', WORKSTATION, /no nvidia adapter has that name/],
      // No AMD adapter (the driver is missing, say): the Intel iGPU and lavapipe are not substitutes.
      ['amd-radeon.xml', WORKSTATION, /Dawn offers no hardware amd adapter/],
    ];
    for (const [fixture, adapters, why] of cases) {
      let error: unknown;
      try {
        chooseAdapter(adapters, await assignmentIn(fixture));
      } catch (caught) {
        error = caught;
      }
      expect(error, fixture).toBeInstanceOf(AxiomError);
      expect(error).toMatchObject({ kind: 'backendUnavailable', transient: true, message: expect.stringMatching(why) });
      expect((error as Error).message).toContain('#2 llvmpipe (LLVM 15.0.6, 256 bits) (mesa, software)');
    }
  });

  it('never takes a software adapter on its own; uses one only when named with --gpu N, and says so', () => {
    expect(() => chooseAdapter([LLVMPIPE(0)], undefined)).toThrowError(/no hardware GPU adapter; a software adapter is never chosen on its own/);
    expect(() => chooseAdapter([LLVMPIPE(0)], { source: 'boinc', type: 'NVIDIA', device: 0 })).toThrowError(/Dawn offers no hardware nvidia adapter/);
    expect(chooseAdapter(WORKSTATION, { source: 'cli' })).toEqual({ index: 0, selection: 'the first hardware adapter Dawn lists (no device was named)' });
    expect(chooseAdapter(WORKSTATION, { source: 'cli', device: 2 })).toEqual({
      index: 2,
      selection: '--gpu 2 named it (a software adapter, used because it was asked for explicitly)',
    });
    expect(() => chooseAdapter(WORKSTATION, { source: 'cli', device: 3 })).toThrowError(/--gpu 3: no such adapter/);
  });
});

// The real Dawn on this host: lavapipe here and on CI (.ci/install-lavapipe), no hardware GPU.
describe('GPU selection on this host', () => {
  it('lists the software adapter, recorded as such', async () => {
    const adapters = await listAdapters();
    expect(adapters.length, 'Dawn found no adapter: install mesa-vulkan-drivers from bookworm-backports (.ci/install-lavapipe)').toBeGreaterThan(0);
    expect(adapters.map((listed) => listed.info)).toContainEqual(
      expect.objectContaining({ vendor: 'mesa', software: true, name: expect.stringContaining('llvmpipe') }),
    );
  });

  it('a BOINC GPU task whose GPU is not here exits temporarily with the reason, and computes nothing', async () => {
    const slot = await makeSlot({ experiment: 'memorization-dynamics', seed: 7, preset: 'smoke' });
    const initData = await readFile(join(FIXTURES, 'nvidia-gtx-1080.xml'), 'utf8');
    await writeFile(
      join(slot.slotDir, 'init_data.xml'),
      initData.replace('<wu_name>', `<project_dir>${slot.projectDir}</project_dir>\n<client_pid>${process.pid}</client_pid>\n<wu_name>`),
    );
    const lines: string[] = [];
    const code = await runWorkerInProcess(slot.slotDir, lines);
    // Exit 0 with boinc_temporary_exit is BOINC's temporary exit (boinc_temporary_exit() in api/boinc_api.cpp).
    expect(code).toBe(ExitCode.ok);
    expect(lines.join('\n')).toMatch(
      /temporary failure, the client will retry in \d+ s: .*assigned NVIDIA GPU 0 \(NVIDIA GeForce GTX 1080\) but Dawn offers no hardware nvidia adapter/,
    );
    expect(await readFile(join(slot.slotDir, TEMPORARY_EXIT_FILE), 'utf8')).toMatch(/^\d+\n.*never falls back to the CPU/);
    await expect(readFile(slot.resultPath)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('validation: digests are per backend and adapter', () => {
  it('equal digests on one adapter and driver; another adapter is compared within the tolerance', async () => {
    const { result } = await runExperiment(request(memoryHost()));
    const dir = await mkdtemp(join(tmpdir(), 'axiom-gpu-replicas-'));
    const onAdapter = async (file: string, adapterOf: Partial<GpuAdapterInfo>, nudge: number) => {
      const gpu = { adapter: { ...adapter(0, 'NVIDIA GeForce RTX 3080', 'nvidia', '535.86.05'), ...adapterOf }, limits: {}, selection: 'test' };
      const metrics = { ...result.metrics, total: (result.metrics.total as number) + nudge };
      const replica = { ...result, metrics, digest: resultDigest(metrics, result.units), backend: { ...result.backend, name: 'webgpu' as const, gpu } };
      await writeFile(join(dir, file), JSON.stringify(replica));
      return join(dir, file);
    };
    const first = await onAdapter('a.json', {}, 0);
    const rounding = 1e-6; // what another GPU's float rounding does to a value
    const sameAdapter = await onAdapter('b.json', {}, rounding);
    const otherAdapter = await onAdapter(
      'c.json',
      { name: 'AMD Radeon RX 6800 XT (RADV NAVI21)', vendor: 'amd', device: 'amd-radeon-rx-6800-xt-radv-navi21-', driver: 'Mesa 24.0.5' },
      rounding,
    );
    const newerDriver = await onAdapter('d.json', { driver: '550.54.14' }, rounding);
    expect(await compareReplicas(first, sameAdapter, () => CROSS_BACKEND)).toMatchObject({
      exitCode: ValidatorExit.invalid,
      reason: expect.stringContaining('digests differ on the same backend (webgpu on nvidia nvidia-geforce-rtx-3080 (535.86.05))'),
    });
    expect(await compareReplicas(first, otherAdapter, () => CROSS_BACKEND)).toMatchObject({
      exitCode: ValidatorExit.valid,
      reason: expect.stringContaining('agree within tolerance (webgpu on nvidia nvidia-geforce-rtx-3080 (535.86.05) vs webgpu on amd'),
    });
    expect(await compareReplicas(first, newerDriver, () => CROSS_BACKEND)).toMatchObject({ exitCode: ValidatorExit.valid });
    expect(digestScope(result.backend)).toBe('wasm');
  });
});
