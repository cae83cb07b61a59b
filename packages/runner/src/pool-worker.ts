import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { initBackend } from './backend.js';
import { AxiomError, errorMessage, ExitCode } from './errors.js';
import type { Experiment, ExperimentContext } from './experiment.js';
import { runSweepGroup, sweepUnitByUnit, withUnseededRandomnessForbidden, YIELD_INTERVAL_MS, type SweepGroup } from './groups.js';
import { canonicalJson, sha256Hex, type JsonObject } from './json.js';
import { resolveParams } from './params.js';
import { toPoolWorkerSchema, type FromPoolWorker, type PoolStart, type ToPoolWorker } from './pool-protocol.js';
import { deriveSeed, Rng } from './rng.js';
import { defaultScriptCacheDir, resolveExperiment } from './script.js';
import { GroupSession } from './session.js';
import { throttled } from './throttle.js';

/** Thrown through the experiment when the worker has no more groups, or was stopped: its part of the run is over. */
class WorkerEnds extends Error {
  constructor(readonly why: 'finished' | 'stopped') {
    super(why);
  }
}

const usage = () => {
  const cpu = process.cpuUsage();
  return { cpuSeconds: (cpu.user + cpu.system) / 1e6, maxRssBytes: process.resourceUsage().maxRSS * 1024 };
};

/**
 * A pool worker: started by a run (`pool.ts`) with the same experiment, parameters and seed, it runs the
 * experiment's code up to its sweep, then the groups the parent hands it, one at a time, each with a
 * session whose checkpoints and stops the parent drives. Never returns.
 */
export async function servePoolWorker(builtins: ReadonlyMap<string, Experiment>): Promise<never> {
  const parent = process;
  if (!parent.send) throw new AxiomError('usage', 'this command is started by the worker itself, as a worker of its pool');
  const post = (message: FromPoolWorker) => parent.send!(message);
  const postLast = (message: FromPoolWorker) => new Promise<void>((resolve) => parent.send!(message, undefined, {}, () => resolve()));
  // The parent decides when to stop (Ctrl-C reaches the whole process group) and the worker dies with it.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => {});
  process.on('disconnect', () => process.exit(ExitCode.interrupted));

  const state = { stop: false, checkpoint: false, suspended: false };
  let resumed: (() => void) | undefined;
  const assignments: Array<Extract<ToPoolWorker, { type: 'group' | 'finish' }>> = [];
  let assigned: (() => void) | undefined;
  const start = await new Promise<PoolStart>((resolve) => {
    parent.on('message', (raw: unknown) => {
      const message = toPoolWorkerSchema.parse(raw);
      switch (message.type) {
        case 'start':
          return resolve(message);
        case 'group':
        case 'finish':
          assignments.push(message);
          return assigned?.();
        case 'checkpoint':
          state.checkpoint = true;
          return;
        case 'stop':
          state.stop = true;
          return resumed?.();
        case 'suspend':
          state.suspended = true;
          return;
        case 'resume':
          state.suspended = false;
          return resumed?.();
      }
    });
    post({ type: 'ready', ...usage() });
  });

  try {
    const resolved = await resolveExperiment(start.reference, builtins, { cacheDir: defaultScriptCacheDir() });
    if (resolved.kind !== 'in-process') throw new AxiomError('usage', `a pool worker runs built-in experiments and local files only, not ${start.reference}`);
    const { experiment } = resolved;
    if (experiment.version !== start.version) {
      throw new Error(`the pool worker loaded ${experiment.name} ${experiment.version}, the run is of version ${start.version}`);
    }
    const { params } = resolveParams(experiment.params, experiment.presets, start.preset, start.paramLayers);
    if (sha256Hex(canonicalJson(JSON.parse(JSON.stringify(params)) as JsonObject)) !== start.paramsDigest) {
      throw new Error('the pool worker resolved other parameters than the run');
    }
    // One thread each: the pool's workers already use every core it was given.
    const backend = await initBackend({ forced: start.backend, threads: 1 });
    const rootSeed = start.seed;
    const stopped = new AbortController();
    let session: GroupSession | undefined;

    let lastYield = performance.now();
    const tick = async () => {
      if (performance.now() - lastYield >= YIELD_INTERVAL_MS) {
        await yieldToEventLoop();
        while (state.suspended && !state.stop) await new Promise<void>((resolve) => (resumed = resolve));
        lastYield = performance.now();
      }
      // Before its training began a group has nothing to save: a checkpoint keeps what the parent holds of it.
      if (!session?.holdsWork && state.checkpoint) {
        state.checkpoint = false;
        post({ type: 'state', state: null, ...usage() });
      }
      if (state.stop && !session?.holdsWork) {
        stopped.abort();
        throw new WorkerEnds('stopped');
      }
    };
    const nextAssignment = async () => {
      while (assignments.length === 0) await new Promise<void>((resolve) => (assigned = resolve));
      return assignments.shift()!;
    };
    const progress = throttled((fraction: number, detail?: string) => post({ type: 'progress', fraction, detail }));

    // The group is the run's: the units it names, whatever grouping (parts, a resumed checkpoint's) made it.
    const sweepGroups: ExperimentContext<unknown>['sweepGroups'] = async (units, _groupOf, runGroup) => {
      const unitsByKey = new Map(units.map((unit) => [unit.key, unit]));
      for (;;) {
        await tick();
        post({ type: 'ready', ...usage() });
        const assignment = await nextAssignment();
        if (assignment.type === 'finish') throw new WorkerEnds('finished');
        const group = assignment.units.map((key) => unitsByKey.get(key));
        if (group.includes(undefined)) throw new Error(`the pool worker's sweep has no unit of group "${assignment.key}" (${assignment.units.join(', ')})`);
        const sweepGroup: SweepGroup<(typeof units)[number]['config']> = { key: assignment.key, group: group as typeof units };
        session = new GroupSession(
          {
            tick,
            stopped: () => state.stop,
            throwStop: () => {
              throw new WorkerEnds('stopped');
            },
            checkpointDue: () => state.checkpoint,
            saveCheckpoint: async (snapshot) => {
              state.checkpoint = false;
              post({ type: 'state', state: await snapshot(), ...usage() });
            },
            progress,
            log: (message) => post({ type: 'log', message }),
          },
          assignment.units,
          assignment.resume,
        );
        const results = await runSweepGroup(rootSeed, sweepGroup, session, runGroup);
        // A finished group answers any checkpoint asked for meanwhile: its units are the checkpoint's now.
        state.checkpoint = false;
        post({ type: 'done', results, seconds: session.seconds, ...usage() });
        session = undefined;
      }
    };
    const ctx: ExperimentContext<unknown> = {
      params,
      seed: rootSeed,
      deriveSeed: (...labels) => deriveSeed(rootSeed, ...labels),
      rng: (...labels) => session?.stream(rootSeed, labels) ?? new Rng(deriveSeed(rootSeed, ...labels)),
      tf: backend.tf,
      log: (message) => post({ type: 'log', message }),
      signal: stopped.signal,
      deadline: start.deadline,
      tick,
      sweep: sweepUnitByUnit(sweepGroups),
      sweepGroups,
    };
    await withUnseededRandomnessForbidden(() => experiment.run(ctx));
    throw new Error('the experiment ended without running its sweep in the pool worker');
  } catch (error) {
    if (!(error instanceof WorkerEnds)) {
      await postLast({ type: 'failed', message: errorMessage(error), ...(error instanceof AxiomError && { kind: error.kind }) });
    } else if (error.why === 'stopped') await postLast({ type: 'stopped', ...usage() });
  }
  // pthread workers and handles must not keep this process alive.
  process.exit(ExitCode.ok);
}
