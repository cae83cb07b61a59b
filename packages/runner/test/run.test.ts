import { describe, expect, it } from 'vitest';
import { defineExperiment, type Experiment } from '@axiom/runner';
import { type Checkpoint, ExitCode, memoryHost, resultSchema, runExperiment } from '@axiom/runner/host';
import { request, tiny } from './tiny-experiment.js';

describe('runExperiment', () => {
  it('writes a schema-valid result recording seed, params, backend, host and timings', async () => {
    const host = memoryHost();
    const outcome = await runExperiment(request(host));
    expect(outcome.exitCode).toBe(ExitCode.ok);
    expect(resultSchema.parse(host.results[0])).toEqual(outcome.result);
    expect(outcome.result).toMatchObject({
      status: 'ok',
      seed: { value: 11, source: 'cli' },
      params: { units: 3, steps: 5 },
      backend: { name: 'wasm' },
      experiment: { name: 'tiny', version: '1' },
    });
    expect(outcome.result.units.map((u) => u.key)).toEqual(['u0', 'u1', 'u2']);
    expect(new Set(outcome.result.units.map((u) => u.seed)).size).toBe(3);
    expect(Object.keys(outcome.result.timings.phases)).toEqual(expect.arrayContaining(['backendInit', 'experiment']));
    expect(host.stored.checkpoint).toBeUndefined(); // cleared once the result is complete
  });

  it('resumes from a checkpoint, skipping finished units, with the same digest', async () => {
    const full = (await runExperiment(request(memoryHost()))).result;
    const stored: { checkpoint?: Checkpoint } = {};
    const first = memoryHost(stored);
    let units = 0;
    first.progress = (update) => {
      if (update.unitsDone > units) {
        units = update.unitsDone;
        if (units === 2) first.abort.abort();
      }
    };
    const interrupted = await runExperiment(request(first));
    expect(interrupted.exitCode).toBe(ExitCode.interrupted);
    expect(interrupted.result.status).toBe('partial');
    expect(stored.checkpoint?.units.map((u) => u.key)).toEqual(['u0', 'u1']);

    const resumedHost = memoryHost(stored);
    const started: string[] = [];
    resumedHost.progress = (update) => update.unit && !started.includes(update.unit) && started.push(update.unit);
    const resumed = await runExperiment(request(resumedHost));
    expect(started).toEqual(['u2']);
    expect(resumed.result.status).toBe('ok');
    expect(resumed.result.digest).toBe(full.digest);
  });

  it('refuses a checkpoint from another seed or a corrupt one', async () => {
    const stored: { checkpoint?: Checkpoint } = {};
    const host = memoryHost(stored);
    host.progress = (update) => update.unitsDone === 1 && host.abort.abort();
    await runExperiment(request(host));
    await expect(runExperiment(request(memoryHost(stored), { seed: { value: 12, source: 'cli', warnings: [] } }))).rejects.toThrowError(
      /checkpoint belongs to another run: its seed is 11, this run's is 12/,
    );
    const corrupt = { checkpoint: { ...stored.checkpoint!, units: 'garbage' } as unknown as Checkpoint };
    await expect(runExperiment(request(memoryHost(corrupt)))).rejects.toMatchObject({ kind: 'badCheckpoint' });
  });

  it('does not count time suspended by the host against the deadline', async () => {
    // The host's clock moves only when this test moves it: by ten times the run's whole budget, once the
    // runner has asked the host whether the run may go on. Inside that suspension the jump does not
    // count; the same jump outside one (the control) ends the run at the deadline.
    const budgetMs = 1000;
    const runWithJump = async (during: 'suspension' | 'run') => {
      let nowMs = 0;
      let asked = 0;
      const jump = () => void (nowMs += 10 * budgetMs);
      const host = memoryHost();
      host.control = { ...host.control, now: () => nowMs, whenRunnable: async () => void (asked++ === 0 && during === 'suspension' && jump()) };
      const ticksUntilAsked = defineExperiment({
        ...tiny,
        name: 'ticks-until-asked',
        async run(ctx) {
          // The runner asks between ticks once YIELD_INTERVAL_MS has passed: far fewer ticks than this bound.
          for (let ticks = 0; asked === 0; ticks++) {
            if (ticks === 10_000_000) throw new Error('the runner never asked the host whether the run may go on');
            await ctx.tick();
          }
          if (during === 'run') jump();
          await ctx.tick(); // the deadline is checked at every tick
          return { asked };
        },
      });
      return (await runExperiment(request(host, { experiment: ticksUntilAsked as unknown as Experiment, deadline: budgetMs }))).result;
    };
    expect((await runWithJump('suspension')).status).toBe('ok');
    expect(await runWithJump('run')).toMatchObject({ status: 'partial', statusReason: expect.stringContaining('deadline') });
  });

  it('ends with a partial result at the deadline', async () => {
    const outcome = await runExperiment(request(memoryHost(), { deadline: Date.now() - 1 }));
    expect(outcome.exitCode).toBe(ExitCode.deadlineReached);
    expect(outcome.result).toMatchObject({ status: 'partial', statusReason: expect.stringContaining('deadline') });
  });

  it('fails loudly when an experiment uses unseeded randomness', async () => {
    const sloppy = defineExperiment({ ...tiny, name: 'sloppy', run: async () => ({ value: Math.random() }) });
    const outcome = await runExperiment(request(memoryHost(), { experiment: sloppy as unknown as Experiment }));
    expect(outcome.exitCode).toBe(ExitCode.experimentFailed);
    expect(outcome.result.statusReason).toMatch(/unseeded randomness: Math\.random\(\)/);
    const unseededTf = defineExperiment({ ...tiny, name: 'unseeded-tf', run: async (ctx) => ({ value: ctx.tf.randomNormal([2]).dataSync()[0]! }) });
    const tfOutcome = await runExperiment(request(memoryHost(), { experiment: unseededTf as unknown as Experiment }));
    expect(tfOutcome.result.statusReason).toMatch(/unseeded randomness/);
    expect(Math.random()).toBeLessThan(1); // restored afterwards
  });

  it('records a failed result when the experiment produces a non-finite metric', async () => {
    const broken = defineExperiment({ ...tiny, name: 'broken', run: async () => ({ loss: Number.NaN }) });
    const outcome = await runExperiment(request(memoryHost(), { experiment: broken as unknown as Experiment }));
    expect(outcome.result).toMatchObject({ status: 'failed', statusReason: expect.stringContaining('metrics.loss') });
  });
});

/**
 * A script with its own training loop, on the session's small API: a record for its curve, and its loop
 * state (position and a running value drawn from a stream) through beginTraining.
 */
const ownLoop = defineExperiment({
  ...tiny,
  name: 'own-loop',
  async run(ctx) {
    const results = await ctx.sweep([{ key: 'only', config: {} }], async (unit, session) => {
      const rng = unit.rng('noise');
      const curve = session.record('curve', () => [] as number[]);
      let step = 0;
      let value = 0;
      const training = await session.beginTraining({
        save: () => ({ step, value }),
        restore: (saved) => ({ step, value } = saved as { step: number; value: number }),
      });
      try {
        for (; step < 200;) {
          value += rng.normal();
          step++;
          if (step % 10 === 0) curve.push(value);
          session.progress(step / 200, `step ${step}/200`);
          await training!.stepDone();
        }
      } finally {
        training!.end();
      }
      return { metrics: { value }, curves: { curve } };
    });
    return { value: results[0]!.metrics.value! };
  },
});

describe('checkpoints inside training', () => {
  const run = (experiment: Experiment, host: ReturnType<typeof memoryHost>) => runExperiment(request(host, { experiment }));

  it('a script with its own loop resumes inside it, through the session API, to the same digest', async () => {
    const full = (await run(ownLoop as unknown as Experiment, memoryHost())).result;
    const stored: { checkpoint?: Checkpoint } = {};
    for (const stopAt of [37, 121]) {
      const host = memoryHost(stored, { checkpointPeriodSeconds: 3600 }); // only the stop checkpoints
      host.progress = (update) => update.detail === `step ${stopAt}/200` && host.abort.abort();
      expect((await run(ownLoop as unknown as Experiment, host)).result.status).toBe('partial');
      expect(stored.checkpoint?.inProgress[0]?.training).toEqual({ step: stopAt, value: expect.any(Number) });
    }
    const resumed = await run(ownLoop as unknown as Experiment, memoryHost(stored));
    expect(resumed.result.digest).toBe(full.digest);
    expect(resumed.result.timings.resumes).toBe(2);
  });

  it('an experiment that says it cannot checkpoint is given no checkpoint store: a stop keeps nothing', async () => {
    const cannot = defineExperiment({ ...ownLoop, name: 'cannot-checkpoint', checkpointing: 'none' });
    const stored: { checkpoint?: Checkpoint } = {};
    const host = memoryHost(stored, { checkpointPeriodSeconds: 0 });
    const logged: string[] = [];
    host.log = (message) => logged.push(message);
    host.progress = (update) => update.detail === 'step 50/200' && host.abort.abort();
    expect((await run(cannot as unknown as Experiment, host)).result.status).toBe('partial');
    expect(stored.checkpoint).toBeUndefined();
    expect(logged).toContain('this experiment cannot checkpoint: a stopped run starts over');
  });

  it('a random stream made during training and drawn across steps fails the run at its checkpoint, instead of resuming wrong', async () => {
    const carried = defineExperiment({
      ...tiny,
      name: 'carried-stream',
      async run(ctx) {
        await ctx.sweep([{ key: 'only', config: {} }], async (unit, session) => {
          let value = 0;
          const training = await session.beginTraining({ save: () => value, restore: (saved) => (value = saved as number) });
          const late = unit.rng('made-too-late');
          for (let step = 0; step < 50; step++) {
            value += late.next();
            await training!.stepDone();
          }
          training!.end();
          return { metrics: { value }, curves: {} };
        });
        return {};
      },
    });
    const outcome = await run(carried as unknown as Experiment, memoryHost({}, { checkpointPeriodSeconds: 0 }));
    expect(outcome.result.status).toBe('failed');
    expect(outcome.result.statusReason).toMatch(/random stream "made-too-late" was made during training and used across steps/);
  });
});
