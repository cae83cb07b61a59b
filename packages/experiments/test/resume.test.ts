import { describe, expect, it } from 'vitest';
import { type Checkpoint, memoryHost, runExperiment } from '@axiom/runner/host';
import { type Experiment } from '@axiom/runner';
import { builtinExperiments } from '@axiom/experiments';

/** Steps between stops: several stops land inside each smoke run's stacks. */
const STEPS_BETWEEN_STOPS = 25;

describe.each([...builtinExperiments.keys()])('%s stopped inside training, again and again', (name) => {
  const experiment = builtinExperiments.get(name) as Experiment;
  const request = (host: ReturnType<typeof memoryHost>) =>
    runExperiment({ experiment, preset: 'smoke', seed: { value: 7, source: 'cli', warnings: [] }, backend: { forced: 'wasm' }, host });

  it('resumes each time where it stopped and ends with the digest of an uninterrupted run', async () => {
    const uninterrupted = (await request(memoryHost())).result;
    const stored: { checkpoint?: Checkpoint } = {};
    const inTraining: Checkpoint[] = [];
    let stops = 0;
    for (;;) {
      const host = memoryHost(stored, { checkpointPeriodSeconds: 0 });
      const resumedAt = stored.checkpoint?.fractionDone ?? 0;
      const fractions: number[] = [];
      let steps = 0;
      host.progress = (update) => {
        fractions.push(update.fraction);
        if (update.detail && ++steps === STEPS_BETWEEN_STOPS) host.abort.abort();
      };
      const { result } = await request(host);
      // Progress starts where the checkpoint left it and never falls.
      expect(fractions[0]).toBeGreaterThanOrEqual(resumedAt);
      expect(fractions.every((fraction, i) => i === 0 || fraction >= fractions[i - 1]!)).toBe(true);
      if (result.status === 'ok') {
        expect(result.digest).toBe(uninterrupted.digest);
        expect(result.timings.resumes).toBe(stops);
        break;
      }
      stops++;
      expect(result.status).toBe('partial');
      if (stored.checkpoint?.inProgress.length) inTraining.push(stored.checkpoint);
    }
    expect(inTraining.length).toBeGreaterThanOrEqual(3);
    if (name === 'micro-scaling-laws') {
      // Some stops came after members had stopped early: the stack then trains only the rest.
      expect(inTraining.some((checkpoint) => (checkpoint.inProgress[0]!.training as { training: unknown }).training !== null)).toBe(true);
    }
  });
});
