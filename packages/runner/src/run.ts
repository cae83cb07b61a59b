import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { GPU_BACKENDS, initBackend, type BackendRequest, type InitialisedBackend } from './backend.js';
import { AxiomError, ExitCode, errorMessage } from './errors.js';
import type { Experiment, ExperimentContext, SweepUnit } from './experiment.js';
import {
  groupId,
  groupLabel,
  groupUnits,
  keepingGroupsInTraining,
  partsOf,
  runSweepGroup,
  sweepUnitByUnit,
  withUnseededRandomnessForbidden,
  YIELD_INTERVAL_MS,
  type RunGroup,
  type SweepGroup,
} from './groups.js';
import { describeHost, WORKER_VERSION } from './host-info.js';
import type { CheckpointStore, RunnerHost, SelfLauncher } from './host.js';
import { canonicalJson, jsonObjectSchema, sha256Hex, type JsonObject } from './json.js';
import { describeZodError, resolveParams, type ParamLayer } from './params.js';
import { poolSize, runPool, type PoolGroup, type WorkerUsage } from './pool.js';
import type { PoolStart } from './pool-protocol.js';
import { deriveSeed, Rng } from './rng.js';
import {
  CHECKPOINT_FORMAT_VERSION,
  checkpointSchema,
  RESULT_SCHEMA_VERSION,
  resultSchema,
  type Checkpoint,
  type Result,
  type RunWarning,
  type SandboxRecord,
  type ScriptProvenance,
  type UnitResult,
} from './schemas.js';
import type { ResolvedSeed } from './seed.js';
import { GroupSession } from './session.js';
import { LARGEST_GROUP_SHARE, longestFirst, stackParts, stacksAsTrained } from './work.js';

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
  /**
   * Train the sweep's groups on this many worker processes side by side (the host's choice: all cores
   * locally, BOINC's ncpus), started with `launcher`; each then computes on one thread. Absent or 1: the
   * run's own process trains them, one after another.
   */
  pool?: { workers: number; launcher: SelfLauncher };
}

export interface RunOutcome {
  result: Result;
  location: string;
  exitCode: number;
  /**
   * Each pool worker's peak resident memory, when a pool trained the sweep (this process's pool, not those
   * before a restart). Not in the result: memory is the host's business, like the bench's, not the science's.
   */
  poolPeakRssBytes?: number[];
}

type StopReason = 'interrupted' | 'deadline';

class RunStopped extends Error {
  constructor(readonly reason: StopReason) {
    super(reason === 'deadline' ? 'the deadline passed' : 'interrupted');
  }
}

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
  /** The pool the sweep may use (more than one worker requested, and the experiment can run in one). */
  pool: { workers: number; launcher: SelfLauncher; reference: string } | undefined;
  /** The declaration planned work for more than one pool worker, so this process brought its backend up on one thread. */
  poolPlanned: boolean;
  /** What the pool's workers used, by worker. */
  poolUsage: Map<number, WorkerUsage>;
}

/** How the experiment's part of the run ended. */
interface ExecutedRun {
  metrics: JsonObject;
  units: UnitResult[];
  unitSeconds: Record<string, number>;
  status: Result['status'];
  statusReason?: string;
  exitCode: number;
  /** Worker processes that trained the sweep, when a pool did. */
  workers?: number;
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
  const pool = poolOf(request);
  // The pool's workers take the cores when the declaration plans more than one group: this process then only
  // hands out groups, and its WASM threads would cost ~60 MB and their start-up for nothing (emergence's run
  // process: 204 MB on two threads, 141 MB on one). A sweep of one group trains here, on the threads asked for.
  // A declaration that keeps its stacks whole may not name its sweep's groups (lottery-ticket's stacks are its
  // rounds, which one group trains), so it keeps them too.
  const work = experiment.work;
  const poolPlanned = Boolean(pool && work && !work.keepStacksWhole && poolSize(pool.workers, stacksAsTrained(work, params).length).workers > 1);
  const backend = await timed(phases, 'backendInit', () => initBackend(poolPlanned ? { ...request.backend, threads: 1 } : request.backend));
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
    pool,
    poolPlanned,
    poolUsage: new Map(),
  };
}

/** The pool a run asked for, if it can have one; says why not when it cannot. */
function poolOf({ pool, experiment, script, backend, host }: RunRequest): PreparedRun['pool'] {
  if (!pool || pool.workers <= 1) return undefined;
  if (backend.gpu || (backend.forced && GPU_BACKENDS.includes(backend.forced))) {
    host.log(`a GPU run computes in one process: one worker, not ${pool.workers}`);
    return undefined;
  }
  // A worker finds the experiment as the host did: a built-in by name, a local file by its URL (fetched scripts never get here: see runResolved).
  return { ...pool, reference: script?.url ?? experiment.name };
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
  const inTraining = checkpoint.inProgress.reduce((sum, group) => sum + group.units.length, 0);
  const inside = inTraining ? `, inside training of ${inTraining} more` : '';
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
  // Every group caught inside its training, by its units: what the checkpoint keeps of it until it finishes.
  const inFlight = new Map((restored?.inProgress ?? []).map((state) => [groupId(state.units), state]));
  let session: GroupSession | undefined;
  let workers: number | undefined;

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

  let suspendedMs = 0;
  // Time the host kept the run suspended does not count against the deadline (BOINC's bounds leave it out too).
  // Both are read on the deadline's clock, so all of a suspension is left out, a machine's sleep during it included.
  const now = () => host.control.now?.() ?? Date.now();
  const whenRunnable = async () => {
    const asked = now();
    await host.control.whenRunnable?.();
    suspendedMs += now() - asked;
  };
  const checkDeadline = () => {
    if (request.deadline !== undefined && now() - suspendedMs >= request.deadline) stopWith('deadline');
  };
  let lastYield = performance.now();
  // A stop waits while a group holds training that a checkpoint at its next step (or its end) keeps.
  const tick = async () => {
    if (performance.now() - lastYield >= YIELD_INTERVAL_MS) {
      await yieldToEventLoop();
      await whenRunnable();
      lastYield = performance.now();
    }
    checkDeadline();
    if (stopReason && !session?.holdsWork) throwStop();
  };

  const periodMs = (checkpoints?.periodSeconds ?? DEFAULT_CHECKPOINT_PERIOD_SECONDS) * 1000;
  let lastCheckpoint = performance.now();
  const resumes = restored ? restored.resumes + 1 : 0;
  /** Writes a checkpoint of every finished unit and every group in flight, after `update` (which may read a group's state). */
  const saveCheckpoint = async (update?: () => Promise<void>) => {
    if (!checkpoints) return;
    await timed(phases, 'checkpoint', async () => {
      await update?.();
      const elapsed = elapsedSince(prepared, restored);
      await checkpoints.save({
        ...prepared.identity,
        units: completed,
        unitSeconds,
        fractionDone: fraction,
        wallSeconds: elapsed.wall,
        cpuSeconds: elapsed.cpu,
        resumes,
        inProgress: [...inFlight.values()],
      });
    });
    lastCheckpoint = performance.now();
  };
  const checkpointDue = () => checkpoints !== undefined && performance.now() - lastCheckpoint >= periodMs;
  const finishGroup = ({ group }: SweepGroup, results: UnitResult[], seconds: number) => {
    inFlight.delete(groupId(group.map((unit) => unit.key)));
    completed.push(...results);
    // A group's units share its wall time; each is charged an equal part.
    for (const { key } of results) unitSeconds[key] = seconds / group.length;
    report(completed.length);
  };

  /** The groups one after another, in this process. */
  const trainHere = async <C extends JsonObject>(groups: Array<SweepGroup<C>>, runGroup: RunGroup<C>) => {
    for (const sweepGroup of groups) {
      await tick();
      const label = groupLabel(sweepGroup);
      const unitsDone = completed.length;
      const id = groupId(sweepGroup.group.map((unit) => unit.key));
      session = new GroupSession(
        {
          tick,
          stopped: () => stopReason !== undefined,
          throwStop,
          checkpointDue,
          saveCheckpoint: (snapshot) => saveCheckpoint(async () => void inFlight.set(id, await snapshot())),
          progress: (groupFraction, detail) => report(unitsDone + groupFraction * sweepGroup.group.length, label, detail),
          log: (message) => host.log(message),
        },
        sweepGroup.group.map((unit) => unit.key),
        inFlight.get(id),
      );
      report(unitsDone, label);
      const results = await runSweepGroup(rootSeed, sweepGroup, session, runGroup);
      finishGroup(sweepGroup, results, session.seconds);
      session = undefined;
      if (stopReason || checkpointDue()) await saveCheckpoint();
    }
  };

  /** The groups side by side on the pool's workers; a stopped pool stops the run once its checkpoint is written. */
  const trainOnPool = async (groups: PoolGroup[], pool: NonNullable<PreparedRun['pool']>) => {
    const start: PoolStart = {
      type: 'start',
      reference: pool.reference,
      version: experiment.version,
      preset: request.preset,
      paramLayers: request.paramLayers ?? [],
      paramsDigest: prepared.identity.paramsDigest,
      seed: rootSeed,
      deadline: request.deadline,
      // The backend this process brought up, which the result records: the workers compute on it too.
      backend: prepared.backend.info.name,
    };
    const ended = await runPool({
      launcher: pool.launcher,
      workers: pool.workers,
      start,
      groups,
      stopped: () => {
        checkDeadline();
        return stopReason !== undefined;
      },
      whenRunnable,
      checkpointDue,
      keep: (state) => void inFlight.set(groupId(state.units), state),
      save: () => saveCheckpoint(),
      groupDone: finishGroup,
      progress: (unitsInFlight, unit, detail) => report(completed.length + unitsInFlight, unit, detail),
      usage: (worker, usage) => void prepared.poolUsage.set(worker, usage),
      log: (message) => host.log(message),
      childStarted: host.childStarted?.bind(host),
    });
    if (ended === 'stopped') throwStop();
  };

  let sweepStarted = false;
  const sweepGroups = async <C extends JsonObject>(
    units: Array<SweepUnit<C>>,
    groupOf: (unit: SweepUnit<C>) => string,
    runGroup: RunGroup<C>,
  ): Promise<UnitResult[]> => {
    if (sweepStarted) throw new Error('ctx.sweep() may be called once per run: put every unit in one sweep');
    sweepStarted = true;
    const keys = new Set(units.map((unit) => unit.key));
    if (keys.size !== units.length) throw new Error('sweep unit keys must be unique');
    unitsTotal = units.length;
    const whole = groupUnits(units, groupOf);
    const plan = experiment.work && stackParts(experiment.work, prepared.params);
    for (const sweepGroup of whole) {
      const parts = partsOf(plan, sweepGroup);
      if (parts > 1)
        host.log(
          `stack ${sweepGroup.key} trains in ${parts} parts: its declared work is more than ${LARGEST_GROUP_SHARE * 100}% of the sweep's, so workers can share it`,
        );
    }
    const { groups: planned, kept } = keepingGroupsInTraining(
      whole,
      plan,
      [...inFlight.values()].map((state) => state.units),
      // Without a declaration no plan splits, so a group the run does not have is not a plan's change.
      { membersIndependent: Boolean(experiment.work && !experiment.work.keepStacksWhole) },
    );
    for (const { key, group } of kept) {
      host.log(
        `${key}: the checkpoint caught these ${group.length} unit(s) in training, in a group this run does not plan; they resume as that group, the rest of the stack as planned`,
      );
    }
    const groups = pendingGroups(planned, restored?.units ?? [], completed);
    const pending = new Set(groups.map(({ group }) => groupId(group.map((unit) => unit.key))));
    for (const state of inFlight.values()) {
      if (!pending.has(groupId(state.units))) {
        throw new AxiomError('badCheckpoint', `checkpoint's group in training (${state.units.join(', ')}) has units it also counts as finished`);
      }
    }

    const sizing = prepared.pool && groups.length > 0 ? poolSize(prepared.pool.workers, groups.length) : undefined;
    if (sizing?.why) host.log(`${sizing.workers} worker(s): ${sizing.why}`);
    if (prepared.pool && sizing && sizing.workers > 1) {
      workers = sizing.workers;
      // Groups caught inside training go first: they were in flight when the run stopped. Then the longest.
      const ordered = longestFirst(groups, plan).map((sweepGroup) => ({
        ...sweepGroup,
        resume: inFlight.get(groupId(sweepGroup.group.map((unit) => unit.key))),
      }));
      const handedOut = [...ordered.filter((group) => group.resume), ...ordered.filter((group) => !group.resume)];
      const reasons = [
        handedOut.some((sweepGroup, index) => sweepGroup.key !== ordered[index]!.key) && 'resumed first',
        ordered.some((sweepGroup, index) => sweepGroup.key !== groups[index]!.key) && 'longest first, by the declared work',
      ].filter(Boolean);
      if (reasons.length > 0) {
        const keys = handedOut.map((sweepGroup) => sweepGroup.key);
        host.log(`groups handed out ${reasons.join(', then ')}: ${keys.slice(0, 8).join(', ')}${keys.length > 8 ? ', …' : ''}`);
      }
      await trainOnPool(handedOut, prepared.pool);
    } else {
      if (prepared.poolPlanned && groups.length > 0) {
        host.log(`${groups.length} group(s) left for ${sizing?.workers ?? 1} worker: they train in this process, on the one thread it took for a pool`);
      }
      await trainHere(groups, runGroup);
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
    sweep: sweepUnitByUnit(sweepGroups),
    sweepGroups,
  };

  const ended = () => ({ units: completed, unitSeconds, workers });
  try {
    const returned = await timed(phases, 'experiment', () => withUnseededRandomnessForbidden(() => experiment.run(ctx)));
    const checked = jsonObjectSchema.safeParse(returned);
    if (!checked.success) throw new Error(`metrics are not valid result JSON: ${describeZodError(checked.error, jsonObjectSchema, 'metrics')}`);
    return { ...ended(), metrics: checked.data, status: 'ok', exitCode: ExitCode.ok };
  } catch (error) {
    if (error instanceof RunStopped) {
      const statusReason = `${error.message}: ${completed.length} unit(s) finished`;
      return {
        ...ended(),
        metrics: {},
        status: 'partial',
        statusReason,
        exitCode: error.reason === 'deadline' ? ExitCode.deadlineReached : ExitCode.interrupted,
      };
    }
    if (error instanceof AxiomError) throw error;
    return { ...ended(), metrics: {}, status: 'failed', statusReason: errorMessage(error), exitCode: ExitCode.experimentFailed };
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
    // A pool's workers each compute on one thread (the digest does not depend on the thread count).
    backend: executed.workers ? { ...backend.info, threads: 1 } : backend.info,
    host: describeHost(),
    timings: {
      startedAt: clock.startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      wallSeconds: elapsed.wall,
      cpuSeconds: elapsed.cpu,
      phases: prepared.phases,
      units: executed.unitSeconds,
      ...(restored && { resumes: restored.resumes + 1 }),
      ...(executed.workers !== undefined && { workers: executed.workers }),
    },
    warnings: prepared.warnings,
    ...(request.sandbox && { sandbox: request.sandbox }),
    worker: { version: WORKER_VERSION },
  } satisfies Result);
  const location = await host.sink.write(result);
  if (status === 'ok') await prepared.checkpoints?.clear();
  const poolPeakRssBytes = [...prepared.poolUsage].sort(([a], [b]) => a - b).map(([, usage]) => usage.maxRssBytes);
  return { result, location, exitCode: executed.exitCode, ...(poolPeakRssBytes.length > 0 && { poolPeakRssBytes }) };
}

/** Wall and CPU seconds of the run so far, including those of its pool's workers and of the processes before a restart. */
function elapsedSince({ clock, poolUsage }: PreparedRun, restored: Checkpoint | undefined): { wall: number; cpu: number } {
  const cpu = process.cpuUsage(clock.cpu);
  const workers = [...poolUsage.values()].reduce((sum, usage) => sum + usage.cpuSeconds, 0);
  return {
    wall: (restored?.wallSeconds ?? 0) + (performance.now() - clock.wall) / 1000,
    cpu: (restored?.cpuSeconds ?? 0) + (cpu.user + cpu.system) / 1e6 + workers,
  };
}

/**
 * The groups still to run, in the sweep's order; units the checkpoint finished go straight to `completed`
 * (after checking their configuration is this run's).
 */
function pendingGroups<C extends JsonObject>(groups: Array<SweepGroup<C>>, finished: readonly UnitResult[], completed: UnitResult[]): Array<SweepGroup<C>> {
  const prior = new Map(finished.map((unit) => [unit.key, unit]));
  const isPending = (unit: SweepUnit<C>) => {
    const saved = prior.get(unit.key);
    if (saved && canonicalJson(saved.config) !== canonicalJson(unit.config)) {
      throw new AxiomError('badCheckpoint', `checkpoint unit "${unit.key}" has a different configuration than this run's`);
    }
    if (saved) completed.push(saved);
    return !saved;
  };
  return groups.map(({ key, group }) => ({ key, group: group.filter(isPending) })).filter(({ group }) => group.length > 0);
}
