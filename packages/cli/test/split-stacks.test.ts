import { describe, expect, it } from 'vitest';
import { type Checkpoint, memoryHost, runExperiment } from '@axiom/runner/host';
import { type Experiment, type NetworkWork } from '@axiom/runner';
import { builtinExperiments } from '@axiom/experiments';
import { defaultGoldenPath, GOLDEN_SEED, readGoldenFile } from '../src/golden.js';

/**
 * A stack the runner splits in parts (more than half the sweep's declared work) must give every member the
 * results it gets in the whole stack. Each experiment's smoke preset runs with a declaration in which its
 * stack of the most units holds nearly all the work, so the runner splits that stack through its own code
 * path (`stackParts`, `inParts`); the digest, which covers every unit's metrics and curves and the
 * experiment's metrics (`stackedGroups` names the stacks, not the parts), must stay the golden one.
 */

/** The declaration with the stack of the most networks (the first such) weighing a million times its FLOPs and no per-step cost. */
function dominatedByLargestStack(experiment: Experiment): Experiment {
  const work = experiment.work!;
  const networks = (params: unknown): NetworkWork[] => {
    const declared = work.networks(params);
    const sizes = new Map<string, number>();
    for (const { stack } of declared) sizes.set(stack, (sizes.get(stack) ?? 0) + 1);
    const largest = [...sizes].reduce((most, entry) => (entry[1] > most[1] ? entry : most))[0];
    return declared.map((network) => (network.stack === largest ? { ...network, trainPasses: network.trainPasses * 1e6 } : network));
  };
  return { ...experiment, work: { ...work, networks, secondsPerStep: 0 } };
}

/** Experiments whose smoke run has no stack the runner may split, and why. */
const KEPT_WHOLE = new Set([
  // Declared whole (`keepStacksWhole`): a stack stops once any member reaches the target loss.
  'critical-batch-size',
  // One unit in each stack at the smoke preset (one pair per width, one replicate per activation).
  'representation-alignment',
  'information-bottleneck',
  // Declared whole: their declared stacks (rounds, end points and curves) are not the sweep's groups.
  'lottery-ticket',
  'mode-connectivity',
]);

describe('stacks split in parts', () => {
  it.each([...builtinExperiments.keys()])('%s: a stack split in parts gives the golden digest', async (name) => {
    const golden = (await readGoldenFile(defaultGoldenPath())).experiments[name]!;
    const logged: string[] = [];
    const host = { ...memoryHost(), log: (message: string) => void logged.push(message) };
    const { result } = await runExperiment({
      experiment: dominatedByLargestStack(builtinExperiments.get(name)!),
      preset: 'smoke',
      seed: { value: GOLDEN_SEED, source: 'cli', warnings: [] },
      backend: { forced: 'wasm' },
      host,
    });
    expect(result.status, result.statusReason).toBe('ok');
    const split = logged.filter((message) => / trains in \d+ parts/.test(message));
    expect(split, logged.join('\n')).toHaveLength(KEPT_WHOLE.has(name) ? 0 : 1);
    expect(result.digest).toBe(golden.digest);
  });
});

describe('a checkpoint taken under another plan', () => {
  // memorization-dynamics' smoke preset: one stack of two networks, whole as declared, in two parts when dominated.
  const name = 'memorization-dynamics';
  const declared = builtinExperiments.get(name)!;
  const run = (experiment: Experiment, host: ReturnType<typeof memoryHost>) =>
    runExperiment({ experiment, preset: 'smoke', seed: { value: GOLDEN_SEED, source: 'cli', warnings: [] }, backend: { forced: 'wasm' }, host });

  it.each([
    { trained: 'whole', planned: 'in parts', before: declared, after: dominatedByLargestStack(declared), caught: 2 },
    { trained: 'in parts', planned: 'whole', before: dominatedByLargestStack(declared), after: declared, caught: 1 },
  ])(
    'caught inside training of a stack $trained, resumes that group as it was under a plan $planned, to the golden digest',
    async ({ before, after, caught }) => {
      const stored: { checkpoint?: Checkpoint } = {};
      const first = memoryHost(stored, { checkpointPeriodSeconds: 3600 });
      first.progress = (update) => update.detail === 'epoch 3/15' && first.abort.abort();
      expect((await run(before, first)).result.status).toBe('partial');
      expect(stored.checkpoint!.inProgress.map((group) => group.units.length)).toEqual([caught]);

      const logged: string[] = [];
      const resumed = await run(after, { ...memoryHost(stored), log: (message: string) => void logged.push(message) });
      expect(resumed.result.status, resumed.result.statusReason).toBe('ok');
      expect(
        logged.filter((message) => message.includes('they resume as that group')),
        logged.join('\n'),
      ).toHaveLength(1);
      expect(resumed.result.digest).toBe((await readGoldenFile(defaultGoldenPath())).experiments[name]!.digest);
    },
  );
});
