import { expect } from 'vitest';
import { initBackend, memoryHost, resultSchema, runExperiment, type Experiment, type JsonObject, type Result } from '@axiom/runner';
import { builtinExperiments } from '@axiom/experiments';

export const TEST_SEED = 2024;

/**
 * Runs a built-in experiment's smoke preset (with `params` on top) on WASM with a fixed seed, and
 * checks what every run must satisfy: no tensor leaks, a valid `ok` result recording seed, params and backend.
 */
export async function runSmoke(name: string, params: JsonObject = {}): Promise<Result> {
  const experiment = builtinExperiments.get(name) as Experiment;
  const { tf } = await initBackend({ forced: 'wasm' });
  const tensorsBefore = tf.memory().numTensors;
  const { result } = await runExperiment({
    experiment,
    preset: 'smoke',
    paramLayers: [{ origin: 'test', values: params }],
    seed: { value: TEST_SEED, source: 'cli', warnings: [] },
    backend: { forced: 'wasm' },
    host: memoryHost(),
  });
  expect(tf.memory().numTensors).toBe(tensorsBefore); // no tensor leaks across a whole run
  expect(resultSchema.safeParse(result).success).toBe(true);
  expect(result.status).toBe('ok');
  expect(result).toMatchObject({ seed: { value: TEST_SEED }, preset: 'smoke', backend: { name: 'wasm' } });
  expect(result.params).toMatchObject({ ...experiment.presets.smoke, ...params });
  return result;
}
