import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Experiment, type HeadlineMetric, type JsonValue } from '@axiom/runner';
import { headlinePaths, memoryHost, type Result, resultDigest, runExperiment, valueAt, writeJsonAtomic } from '@axiom/runner/host';
import { builtinExperiments } from '@axiom/experiments';
import { compareReplicas, ValidatorExit } from '@axiom/wrapper';
import { crossBackendTolerance } from '../src/reproduce-command.js';
import { scratch } from './helpers.js';

/** The smoke preset on one backend, one thread, seed 1: an honest replica. */
async function replica(experiment: Experiment, backend: 'wasm' | 'cpu'): Promise<Result> {
  const outcome = await runExperiment({
    experiment,
    preset: 'smoke',
    seed: { value: 1, source: 'cli', warnings: [] },
    backend: { forced: backend },
    host: memoryHost(),
  });
  return outcome.result;
}

/**
 * The first value a headline metric names, moved half again past its tolerance from `reference` (a verdict:
 * flipped), with the digest recomputed as a dishonest host would; undefined if the metric names no value.
 */
function movedPastTolerance(reference: Result, replicaResult: Result, headline: HeadlineMetric): { moved: Result; path: string[] } | undefined {
  for (const path of headlinePaths(headline.metric, reference.metrics)) {
    const expected = valueAt(reference.metrics, path);
    if (typeof expected !== 'number' && typeof expected !== 'boolean') continue;
    const moved = structuredClone(replicaResult);
    const parent = valueAt(moved.metrics, path.slice(0, -1)) as Record<string, JsonValue>;
    const bound = headline.tolerance.absolute + headline.tolerance.relative * Math.abs(Number(expected));
    parent[path.at(-1)!] = typeof expected === 'boolean' ? !expected : expected + Math.max(1.5 * bound, 1e-9 * Math.max(1, Math.abs(expected)));
    moved.digest = resultDigest(moved.metrics, moved.units);
    return { moved, path };
  }
  return undefined;
}

// Every built-in experiment: honest WASM and plain-JS replicas of its smoke preset validate against each
// other within its declared tolerances, and a headline value moved just past its tolerance does not.
describe.each([...builtinExperiments.values()].map((experiment) => [experiment.name, experiment] as const))('%s across backends', (name, experiment) => {
  const files = { wasm: '', cpu: '' };
  let wasm: Result;
  let cpu: Result;

  beforeAll(async () => {
    const dir = await scratch();
    [wasm, cpu] = [await replica(experiment, 'wasm'), await replica(experiment, 'cpu')];
    files.wasm = join(dir, 'wasm.json');
    files.cpu = join(dir, 'cpu.json');
    await Promise.all([writeJsonAtomic(files.wasm, wasm), writeJsonAtomic(files.cpu, cpu)]);
  }, 600_000);

  it('honest replicas from WASM and the plain JS backend validate against each other, within the declared tolerances', async () => {
    expect([wasm.backend.name, cpu.backend.name]).toEqual(['wasm', 'cpu']);
    const verdict = await compareReplicas(files.wasm, files.cpu, (experimentName) => crossBackendTolerance(builtinExperiments.get(experimentName)));
    expect(verdict.reason).toContain('agree within tolerance (wasm vs cpu');
    expect(verdict.exitCode).toBe(ValidatorExit.valid);
  });

  it.each((experiment.headline ?? []).map((headline) => [headline.metric, headline] as const))(
    'a replica whose %s is moved just past its tolerance is rejected, naming it',
    async (_, headline) => {
      const planted = movedPastTolerance(wasm, cpu, headline);
      expect(planted, `${name}: ${headline.metric} names a number or verdict`).toBeDefined();
      const file = join(await scratch(), 'moved.json');
      await writeJsonAtomic(file, planted!.moved);
      const verdict = await compareReplicas(files.wasm, file, (experimentName) => crossBackendTolerance(builtinExperiments.get(experimentName)));
      expect(verdict.exitCode).toBe(ValidatorExit.invalid);
      expect(verdict.reason).toContain(['metrics', ...planted!.path].join('.'));
      expect(verdict.reason).not.toContain('altered');
    },
  );
});
