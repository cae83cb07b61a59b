import { expect } from 'vitest';
import { compareResults, initBackend, memoryHost, type Result, resultSchema, runExperiment } from '@axiom/runner/host';
import { type Experiment, type JsonObject } from '@axiom/runner';
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
  expectCompleteDeclaration(experiment, result);
  return result;
}

/**
 * A built-in experiment declares its headline metrics, findings, bench workload and work estimate, and each headline
 * metric names numbers or verdicts the run recorded (compared with an empty result, every value it
 * names shows up as a difference); a declared curve axis is a curve of numbers every unit recorded.
 */
function expectCompleteDeclaration(experiment: Experiment, result: Result): void {
  expect(experiment.headline?.length, `${experiment.name} declares its headline metrics`).toBeGreaterThan(0);
  expect(experiment.findings, `${experiment.name} declares its findings`).toBeDefined();
  expect(experiment.bench, `${experiment.name} declares its bench workload`).toBeDefined();
  expect(experiment.work, `${experiment.name} declares its work estimate`).toBeDefined();
  const axis = experiment.findings?.curveAxis;
  if (axis) {
    // A unit with no curves (e.g. double-descent's least-squares arm) has nothing to plot against the axis.
    const plotted = result.units.filter((unit) => Object.keys(unit.curves).length > 0);
    expect(plotted.length, `${experiment.name} records curves to plot against ${axis.curve}`).toBeGreaterThan(0);
    for (const unit of plotted) {
      const positions = unit.curves[axis.curve];
      const numbers = Array.isArray(positions) && positions.length > 0 && positions.every((position) => typeof position === 'number');
      expect(numbers, `${unit.key} records its curve axis, ${axis.curve}`).toBe(true);
    }
  }
  const empty = { ...result, digest: '0'.repeat(64), metrics: {} };
  for (const headline of experiment.headline ?? []) {
    const named = compareResults(result, empty, [headline]).differences.map((difference) => difference.expected);
    // null where a metric is undefined for one key (e.g. a clean-first rate without corrupted labels).
    expect(
      named.filter((value) => typeof value === 'number' || typeof value === 'boolean').length,
      `headline metric ${headline.metric} names values in the result`,
    ).toBeGreaterThan(0);
    expect(
      named.filter((value) => value !== null && typeof value !== 'number' && typeof value !== 'boolean'),
      `${headline.metric} names numbers or verdicts`,
    ).toEqual([]);
  }
}
