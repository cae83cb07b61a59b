import { describe, expect, it } from 'vitest';
import { compareResults, memoryHost, runExperiment } from '@axiom/runner/host';
import { type Experiment } from '@axiom/runner';
import { builtinExperiments } from '@axiom/experiments';

describe('declared cross-backend tolerances', () => {
  it('WASM and the plain JS backend agree on the headline metrics within them (memorization-dynamics, smoke)', async () => {
    const experiment = builtinExperiments.get('memorization-dynamics') as Experiment;
    const run = async (backend: 'wasm' | 'cpu') =>
      (await runExperiment({ experiment, preset: 'smoke', seed: { value: 1, source: 'cli', warnings: [] }, backend: { forced: backend }, host: memoryHost() }))
        .result;
    const [wasm, cpu] = [await run('wasm'), await run('cpu')];
    expect([wasm.backend.name, cpu.backend.name]).toEqual(['wasm', 'cpu']);
    const comparison = compareResults(wasm, cpu, experiment.headline!);
    expect(comparison.differences).toEqual([]);
    expect(comparison.withinTolerance).toBe(true);
  });
});
