import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { initBackend, type BackendRequest, type InitialisedBackend } from './backend.js';
import { AxiomError, ExitCode, errorMessage } from './errors.js';
import type { Experiment, ExperimentContext, SweepUnit, TrainingSession, UnitContext, UnitOutput } from './experiment.js';
import { describeHost, WORKER_VERSION } from './host-info.js';
import type { CheckpointStore, RunnerHost } from './host.js';
import { canonicalJson, jsonObjectSchema, sha256Hex, type JsonObject } from './json.js';
import { describeZodError, resolveParams, type ParamLayer } from './params.js';
import { deriveSeed, Rng } from './rng.js';
import {
  CHECKPOINT_FORMAT_VERSION,
  checkpointSchema,
  RESULT_SCHEMA_VERSION,
  resultSchema,
  unitResultSchema,
  type Checkpoint,
  type GroupInProgress,
  type Result,
  type RunWarning,
  type SandboxRecord,
  type ScriptProvenance,
  type UnitResult,
} from './schemas.js';
import type { ResolvedSeed } from './seed.js';
import { GroupSession } from './session.js';

export interface RunRequest {
  experiment: Experiment;
  /** Set when the experiment came from a fetched script. */
  script?: ScriptProvenance;
  preset?: string;
  paramLayers?: ParamLayer[];
  seed: ResolvedSeed;
  replicate?: number;
  /** Absolute deadline in ms since the epoch. */
  deadline?: number;
  backend: BackendRequest;
  host: RunnerHost;
  /** Warnings the host found before the run (e.g. about the workunit). */
  warnings?: RunWarning[];
  /** Set when this process is a fetched script's sandbox: recorded in the result. */
  sandbox?: SandboxRecord;
}

export interface RunOutcome {
  result: Result;
  location: string;
  exitCode: number;
}

type StopReason = 'interrupted' | 'deadline';

class RunStopped extends Error {
  constructor(readonly reason: StopReason) {
    super(reason === 'deadline' ? 'the deadline passed' : 'interrupted');
  }
}

/** How often a busy training loop lets the event loop run, so signals and control messages get through. */
const YIELD_INTERVAL_MS = 50;
/** The checkpoint period when the host names none. */
export const DEFAULT_CHECKPOINT_PERIOD_SECONDS = 60;

export function resultDigest(metrics: JsonObject, units: UnitResult[]): string {
  return sha256Hex(canonicalJson({ metrics, units }));
}

/** What a checkpoint must match to be applied to this run. */
type RunIdentity = Pick<Checkpoint, 'formatVersion' | 'experiment' | 'experimentVersion' | 'seed' | 'paramsDigest'>;

/** Everything fixed before the experiment starts. */
interface PreparedRun {
  request: RunRequest;
  params: unknown;
  paramsJson: JsonObject;
  backend: InitialisedBackend;
  identity: RunIdentity;
  /** The host's store, unless the experiment cannot checkpoint. */
  checkpoints: CheckpointStore | undefined;
  warnings: RunWarning[];
  clock: { startedAt: Date; wall: number; cpu: NodeJS.CpuUsage };
  phases: Record<string, number>;
}

/** How the experiment's part of the run ended. */
interface ExecutedRun {
  metrics: JsonObject;
  units: UnitResult[];
  unitSeconds: Record<string, number>;
  status: Result['status'];
  statusReason?: string;
  exitCode: number;
}

export async function runExperiment(request: RunRequest): Promise<RunOutcome> {
  const prepared = await resolveRun(request);
  const restored = await restoreRun(prepared);
  const executed = await executeRun(prepared, restored);
  return finishRun(prepared, restored, executed);
}

async function timed<T>(phases: Record<string, number>, name: string, body: () => Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await body();
  } finally {
    phases[name] = (phases[name] ?? 0) + (performance.now() - start) / 1000;
  }
}

/** Resolve: parameters, the result's destination, the backend, and what identifies the run. */
async function resolveRun(request: RunRequest): Promise<PreparedRun> {
  const { experiment, host } = request;
  const clock = { startedAt: new Date(), wall: performance.now(), cpu: process.cpuUsage() };
  const phases: Record<string, number> = {};
  const warnings: RunWarning[] = [...(request.warnings ?? []), ...request.seed.warnings];
  warnings.forEach((warning) => host.warn(warning));

  const { params } = resolveParams(experiment.params, experiment.presets, request.preset, request.paramLayers ?? []);
  const paramsJson = JSON.parse(JSON.stringify(params)) as JsonObject;
  await host.sink.prepare();
  const backend = await timed(phases, 'backendInit', () => initBackend(request.backend));
  backend.warnings.forEach((warning) => {
    warnings.push(warning);
    host.warn(warning);
  });
  if (experiment.checkpointing === 'none' && host.checkpoints) host.log('this experiment cannot checkpoint: a stopped run starts over');
  return {
    request,
    params,
    paramsJson,
    backend,
    identity: {
      formatVersion: CHECKPOINT_FORMAT_VERSION,
      experiment: experiment.name,
      experimentVersion: experiment.version,
      seed: request.seed.value,
      paramsDigest: sha256Hex(canonicalJson(paramsJson)),
    },
    checkpoints: experiment.checkpointing === 'none' ? undefined : host.checkpoints,
    warnings,
    clock,
    phases,
  };
}

/** Restore: the stored checkpoint, checked field by field against its schema and against this run. */
async function restoreRun({ checkpoints, identity, request: { host } }: PreparedRun): Promise<Checkpoint | undefined> {
  const raw = await checkpoints?.load();
  if (raw === undefined) return undefined;
  const parsed = checkpointSchema.safeParse(raw);
  if (!parsed.success) {
    throw new AxiomError('badCheckpoint', `checkpoint is corrupt or from another format version: ${describeZodError(parsed.error, checkpointSchema)}`);
  }
  for (const field of ['experiment', 'experimentVersion', 'seed', 'paramsDigest'] as const) {
    if (parsed.data[field] !== identity[field]) {
      throw new AxiomError('badCheckpoint', `checkpoint belongs to another run: its ${field} is ${parsed.data[field]}, this run's is ${identity[field]}`);
    }
  }
  const checkpoint = parsed.data;
  const inside = checkpoint.inProgress ? `, inside training of ${checkpoint.inProgress.units.length} more` : '';
  host.log(`resuming from checkpoint at ${(checkpoint.fractionDone * 100).toFixed(1)}%: ${checkpoint.units.length} unit(s) done${inside}`);
  return checkpoint;
}

/** Run: the experiment with its context, its sweep checkpointed at the host's period and when stopped. */
async function executeRun(prepared: PreparedRun, restored: Checkpoint | undefined): Promise<ExecutedRun> {
  const { request, checkpoints, phases } = prepared;
  const { experiment, host } = request;
  const rootSeed = request.seed.value;
  const completed: UnitResult[] = [];
  const unitSeconds: Record<string, number> = { ...restored?.unitSeconds };
  let inProgress: GroupInProgress | undefined = restored?.inProgress;
  let session: GroupSession | undefined;

  // Progress never falls, also across a restart.
  let fraction = restored?.fractionDone ?? 0;
  let unitsTotal = 0;
  const report = (done: number, unit?: string, detail?: string) => {
    fraction = unitsTotal ? Math.max(fraction, done / unitsTotal) : fraction;
    host.progress({ fraction, unitsDone: Math.floor(done), unitsTotal, unit, detail });
  };
  if (restored) host.progress({ fraction, unitsDone: restored.units.length, unitsTotal: 0 });

  // One controller for every way a run is stopped early, remembering which one came first.
  const stop = new AbortController();
  let stopReason: StopReason | undefined;
  const stopWith = (reason: StopReason) => {
    stopReason ??= reason;
    stop.abort(reason);
  };
  const onHostAbort = () => stopWith('interrupted');
  if (host.control.signal.aborted) onHostAbort();
  host.control.signal.addEventListener('abort', onHostAbort);
  const throwStop = (): never => {
    throw new RunStopped(stopReason!);
  };

  let lastYield = performance.now();
  let suspendedMs = 0;
  // A stop waits while a group holds training that a checkpoint at its next step (or its end) keeps. Time
  // the host kept the run suspended does not count against the deadline (BOINC's bounds leave it out too).
  const tick = async () => {
    if (performance.now() - lastYield >= YIELD_INTERVAL_MS) {
      await yieldToEventLoop();
      const asked = performance.now();
      await host.control.whenRunnable?.();
      lastYield = performance.now();
      suspendedMs += lastYield - asked;
    }
    if (request.deadline !== undefined && Date.now() - suspendedMs >= request.deadline) stopWith('deadline');
    if (stopReason && !session?.holdsWork) throwStop();
  };

  const periodMs = (checkpoints?.periodSeconds ?? DEFAULT_CHECKPOINT_PERIOD_SECONDS) * 1000;
  let lastCheckpoint = performance.now();
  const resumes = restored ? restored.resumes + 1 : 0;
  const saveCheckpoint = async (groupInProgress?: () => Promise<GroupInProgress>) => {
    if (!checkpoints) return;
    await timed(phases, 'checkpoint', async () => {
      const elapsed = elapsedSince(prepared, restored);
      await checkpoints.save({
        ...prepared.identity,
        units: completed,
        unitSeconds,
        fractionDone: fraction,
        wallSeconds: elapsed.wall,
        cpuSeconds: elapsed.cpu,
        resumes,
        ...(groupInProgress && { inProgress: await groupInProgress() }),
      });
    });
    lastCheckpoint = performance.now();
  };
  const checkpointDue = () => checkpoints !== undefined && performance.now() - lastCheckpoint >= periodMs;

  let sweepStarted = false;
  const sweepGroups = async <C extends JsonObject>(
    units: Array<SweepUnit<C>>,
    groupOf: (unit: SweepUnit<C>) => string,
    runGroup: (group: Array<UnitContext<C>>, session: TrainingSession) => Promise<UnitOutput[]>,
  ): Promise<UnitResult[]> => {
    if (sweepStarted) throw new Error('ctx.sweep() may be called once per run: put every unit in one sweep');
    sweepStarted = true;
    const keys = new Set(units.map((unit) => unit.key));
    if (keys.size !== units.length) throw new Error('sweep unit keys must be unique');
    unitsTotal = units.length;
    const groups = pendingGroups(units, groupOf, restored?.units ?? [], completed);
    if (inProgress && !groups.some(({ group }) => sameKeys(group, inProgress!.units))) {
      throw new AxiomError('badCheckpoint', `checkpoint's group in training (${inProgress.units.join(', ')}) is not a group of this sweep`);
    }

    for (const { key, group } of groups) {
      await tick();
      const label = group.length === 1 ? group[0]!.key : `stack ${key} · ${group.length} runs`;
      const unitsDone = completed.length;
      const resume = inProgress && sameKeys(group, inProgress.units) ? inProgress : undefined;
      inProgress = undefined;
      session = new GroupSession(
        {
          tick,
          stopped: () => stopReason !== undefined,
          throwStop,
          checkpointDue,
          saveCheckpoint,
          progress: (groupFraction, detail) => report(unitsDone + groupFraction * group.length, label, detail),
          log: (message) => host.log(message),
        },
        group.map((unit) => unit.key),
        resume,
      );
      const groupSession = session;
      report(unitsDone, label);
      const contexts = group.map((unit): UnitContext<C> => {
        const seed = deriveSeed(rootSeed, 'unit', unit.key);
        return { ...unit, seed, rng: (...labels) => groupSession.stream(seed, labels) };
      });
      const outputs = await runGroup(contexts, groupSession);
      if (outputs.length !== group.length) throw new Error(`sweep group "${label}" returned ${outputs.length} outputs for ${group.length} units`);
      // A group's units share its wall time; each is charged an equal part.
      const seconds = groupSession.seconds / group.length;
      contexts.forEach(({ key, seed, config }, index) => {
        const checked = unitResultSchema.safeParse({ key, seed, config, ...outputs[index] });
        if (!checked.success) {
          throw new Error(`unit "${key}" produced output that is not valid result JSON: ${describeZodError(checked.error, unitResultSchema)}`);
        }
        completed.push(checked.data);
        unitSeconds[key] = seconds;
      });
      session = undefined;
      report(completed.length);
      if (stopReason || checkpointDue()) await saveCheckpoint();
    }
    const position = new Map(units.map((unit, index) => [unit.key, index]));
    return completed.sort((a, b) => position.get(a.key)! - position.get(b.key)!);
  };

  const ctx: ExperimentContext<unknown> = {
    params: prepared.params,
    seed: rootSeed,
    deriveSeed: (...labels) => deriveSeed(rootSeed, ...labels),
    // Streams made inside a group are the group's: a checkpoint inside its training restores them.
    rng: (...labels) => session?.stream(rootSeed, labels) ?? new Rng(deriveSeed(rootSeed, ...labels)),
    tf: prepared.backend.tf,
    log: (message) => host.log(message),
    signal: stop.signal,
    deadline: request.deadline,
    tick,
    sweep: (units, runUnit) =>
      sweepGroups(
        units,
        (unit) => unit.key,
        async ([unit], groupSession) => [await runUnit(unit!, groupSession)],
      ),
    sweepGroups,
  };

  const ended = { units: completed, unitSeconds };
  try {
    const returned = await timed(phases, 'experiment', () => withUnseededRandomnessForbidden(() => experiment.run(ctx)));
    const checked = jsonObjectSchema.safeParse(returned);
    if (!checked.success) throw new Error(`metrics are not valid result JSON: ${describeZodError(checked.error, jsonObjectSchema, 'metrics')}`);
    return { ...ended, metrics: checked.data, status: 'ok', exitCode: ExitCode.ok };
  } catch (error) {
    if (error instanceof RunStopped) {
      const statusReason = `${error.message}: ${completed.length} unit(s) finished`;
      return {
        ...ended,
        metrics: {},
        status: 'partial',
        statusReason,
        exitCode: error.reason === 'deadline' ? ExitCode.deadlineReached : ExitCode.interrupted,
      };
    }
    if (error instanceof AxiomError) throw error;
    return { ...ended, metrics: {}, status: 'failed', statusReason: errorMessage(error), exitCode: ExitCode.experimentFailed };
  } finally {
    host.control.signal.removeEventListener('abort', onHostAbort);
  }
}

/** Finish: the result, written by the host's sink; a complete run's checkpoint is no longer needed. */
async function finishRun(prepared: PreparedRun, restored: Checkpoint | undefined, executed: ExecutedRun): Promise<RunOutcome> {
  const { request, backend, clock } = prepared;
  const { experiment, host } = request;
  const { metrics, units, status, statusReason } = executed;
  const elapsed = elapsedSince(prepared, restored);
  const result = resultSchema.parse({
    schemaVersion: RESULT_SCHEMA_VERSION,
    resultId: randomUUID(),
    experiment: { name: experiment.name, version: experiment.version, ...(request.script && { script: request.script }) },
    ...(request.replicate !== undefined && { workunit: { replicate: request.replicate } }),
    seed: {
      value: request.seed.value,
      source: request.seed.source,
      ...(request.seed.fallbackReason !== undefined && { fallbackReason: request.seed.fallbackReason }),
    },
    preset: request.preset ?? null,
    params: prepared.paramsJson,
    status,
    ...(statusReason !== undefined && { statusReason }),
    metrics,
    units,
    digest: resultDigest(metrics, units),
    backend: backend.info,
    host: describeHost(),
    timings: {
      startedAt: clock.startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      wallSeconds: elapsed.wall,
      cpuSeconds: elapsed.cpu,
      phases: prepared.phases,
      units: executed.unitSeconds,
      ...(restored && { resumes: restored.resumes + 1 }),
    },
    warnings: prepared.warnings,
    ...(request.sandbox && { sandbox: request.sandbox }),
    worker: { version: WORKER_VERSION },
  } satisfies Result);
  const location = await host.sink.write(result);
  if (status === 'ok') await prepared.checkpoints?.clear();
  return { result, location, exitCode: executed.exitCode };
}

/** Wall and CPU seconds of the run so far, including those of the processes before a restart. */
function elapsedSince({ clock }: PreparedRun, restored: Checkpoint | undefined): { wall: number; cpu: number } {
  const cpu = process.cpuUsage(clock.cpu);
  return {
    wall: (restored?.wallSeconds ?? 0) + (performance.now() - clock.wall) / 1000,
    cpu: (restored?.cpuSeconds ?? 0) + (cpu.user + cpu.system) / 1e6,
  };
}

const sameKeys = (group: ReadonlyArray<SweepUnit>, keys: readonly string[]) => group.length === keys.length && group.every((unit, i) => unit.key === keys[i]);

/**
 * The groups still to run, in order of each group's first unit; units the checkpoint finished go straight
 * to `completed` (after checking their configuration is this run's).
 */
function pendingGroups<C extends JsonObject>(
  units: Array<SweepUnit<C>>,
  groupOf: (unit: SweepUnit<C>) => string,
  finished: readonly UnitResult[],
  completed: UnitResult[],
): Array<{ key: string; group: Array<SweepUnit<C>> }> {
  const prior = new Map(finished.map((unit) => [unit.key, unit]));
  const groups = new Map<string, Array<SweepUnit<C>>>();
  for (const unit of units) {
    const saved = prior.get(unit.key);
    if (saved && canonicalJson(saved.config) !== canonicalJson(unit.config)) {
      throw new AxiomError('badCheckpoint', `checkpoint unit "${unit.key}" has a different configuration than this run's`);
    }
    if (saved) {
      completed.push(saved);
      continue;
    }
    const key = groupOf(unit);
    const group = groups.get(key);
    if (group) group.push(unit);
    else groups.set(key, [unit]);
  }
  return [...groups].map(([key, group]) => ({ key, group }));
}

/** Experiments must draw every random number from seeded streams; this makes any other use fail loudly. */
async function withUnseededRandomnessForbidden<T>(body: () => Promise<T>): Promise<T> {
  const original = Math.random;
  Math.random = () => {
    throw new Error(
      'unseeded randomness: Math.random() was called during an experiment (use ctx.rng(), or pass a seed to tfjs random ops; tfjs treats seed 0 as no seed)',
    );
  };
  try {
    return await body();
  } finally {
    Math.random = original;
  }
}
