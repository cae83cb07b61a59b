import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { initBackend, type BackendRequest } from './backend.js';
import { AxiomError, ExitCode, errorMessage } from './errors.js';
import type { Experiment, ExperimentContext, SweepUnit, UnitContext, UnitOutput } from './experiment.js';
import { describeHost, WORKER_VERSION } from './host-info.js';
import type { RunnerHost } from './host.js';
import { canonicalJson, jsonObjectSchema, sha256Hex, type JsonObject } from './json.js';
import { resolveParams, describeZodError, type ParamLayer } from './params.js';
import { deriveSeed, Rng } from './rng.js';
import {
  CHECKPOINT_FORMAT_VERSION,
  checkpointSchema,
  RESULT_SCHEMA_VERSION,
  resultSchema,
  unitResultSchema,
  type Checkpoint,
  type Result,
  type RunWarning,
  type SandboxRecord,
  type ScriptProvenance,
  type UnitResult,
} from './schemas.js';
import type { ResolvedSeed } from './seed.js';

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

export function resultDigest(metrics: JsonObject, units: UnitResult[]): string {
  return sha256Hex(canonicalJson({ metrics, units }));
}

/** Experiments must draw every random number from seeded streams; this makes any other use fail loudly. */
async function withUnseededRandomnessForbidden<T>(body: () => Promise<T>): Promise<T> {
  const original = Math.random;
  Math.random = () => {
    throw new Error('unseeded randomness: Math.random() was called during an experiment (use ctx.rng(), or pass a seed to tfjs random ops; tfjs treats seed 0 as no seed)');
  };
  try {
    return await body();
  } finally {
    Math.random = original;
  }
}

const unitsDigestOf = (units: UnitResult[]) => sha256Hex(canonicalJson(units));

function restoreCheckpoint(raw: unknown, expected: Omit<Checkpoint, 'units' | 'unitsDigest' | 'unitSeconds'>): Checkpoint | undefined {
  if (raw === undefined) return undefined;
  const parsed = checkpointSchema.safeParse(raw);
  if (!parsed.success) {
    throw new AxiomError('badCheckpoint', `checkpoint is corrupt or from another format version: ${describeZodError(parsed.error, checkpointSchema)}`);
  }
  for (const field of ['experiment', 'experimentVersion', 'seed', 'paramsDigest'] as const) {
    if (parsed.data[field] !== expected[field]) {
      throw new AxiomError('badCheckpoint', `checkpoint belongs to another run: its ${field} is ${parsed.data[field]}, this run's is ${expected[field]}`);
    }
  }
  if (unitsDigestOf(parsed.data.units) !== parsed.data.unitsDigest) {
    throw new AxiomError('badCheckpoint', 'checkpoint is corrupt: its unit results do not match its unitsDigest');
  }
  return parsed.data;
}

export async function runExperiment(request: RunRequest): Promise<RunOutcome> {
  const { experiment, host } = request;
  const startedAt = new Date();
  const wallStart = performance.now();
  const cpuStart = process.cpuUsage();
  const phases: Record<string, number> = {};
  const timePhase = async <T>(name: string, body: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await body();
    } finally {
      phases[name] = (phases[name] ?? 0) + (performance.now() - start) / 1000;
    }
  };

  const warnings: RunWarning[] = [...(request.warnings ?? []), ...request.seed.warnings];
  const warn = (warning: RunWarning) => {
    warnings.push(warning);
    host.warn(warning);
  };
  request.warnings?.forEach((warning) => host.warn(warning));
  request.seed.warnings.forEach((warning) => host.warn(warning));

  const { params } = resolveParams(experiment.params, experiment.presets, request.preset, request.paramLayers ?? []);
  const paramsJson = JSON.parse(JSON.stringify(params)) as JsonObject;
  await host.sink.prepare();

  const backend = await timePhase('backendInit', () => initBackend(request.backend));
  backend.warnings.forEach(warn);

  const rootSeed = request.seed.value;
  const identity = {
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    experiment: experiment.name,
    experimentVersion: experiment.version,
    seed: rootSeed,
    paramsDigest: sha256Hex(canonicalJson(paramsJson)),
  } as const;
  const restored = restoreCheckpoint(await host.checkpoints?.load(), identity);
  if (restored) host.log(`resuming from checkpoint: ${restored.units.length} unit(s) already done`);
  const completed: UnitResult[] = [];
  const unitSeconds: Record<string, number> = { ...restored?.unitSeconds };

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

  let lastYield = performance.now();
  const tick = async () => {
    if (performance.now() - lastYield >= YIELD_INTERVAL_MS) {
      await yieldToEventLoop();
      await host.control.whenRunnable?.();
      lastYield = performance.now();
    }
    if (request.deadline !== undefined && Date.now() >= request.deadline) stopWith('deadline');
    if (stopReason) throw new RunStopped(stopReason);
  };

  let sweepStarted = false;
  const sweepGroups = async <C extends JsonObject>(
    units: Array<SweepUnit<C>>,
    groupOf: (unit: SweepUnit<C>) => string,
    runGroup: (group: Array<UnitContext<C>>) => Promise<UnitOutput[]>,
  ): Promise<UnitResult[]> => {
    if (sweepStarted) throw new Error('ctx.sweep() may be called once per run: put every unit in one sweep');
    sweepStarted = true;
    const keys = new Set(units.map((unit) => unit.key));
    if (keys.size !== units.length) throw new Error('sweep unit keys must be unique');
    const prior = new Map(restored?.units.map((unit) => [unit.key, unit]));
    let unitsDone = 0;
    const report = (fraction: number, unit?: string) =>
      host.progress({ fraction: (unitsDone + fraction) / units.length, unitsDone, unitsTotal: units.length, unit });

    // Restored units are not recomputed; the rest are grouped, in order of each group's first unit.
    const groups = new Map<string, Array<SweepUnit<C>>>();
    for (const unit of units) {
      const saved = prior.get(unit.key);
      if (saved && canonicalJson(saved.config) !== canonicalJson(unit.config)) {
        throw new AxiomError('badCheckpoint', `checkpoint unit "${unit.key}" has a different configuration than this run's`);
      }
      if (saved) {
        completed.push(saved);
        unitsDone++;
        continue;
      }
      const key = groupOf(unit);
      const group = groups.get(key);
      if (group) group.push(unit);
      else groups.set(key, [unit]);
    }

    for (const group of groups.values()) {
      await tick();
      const started = performance.now();
      const label = group.length === 1 ? group[0]!.key : `${group[0]!.key} +${group.length - 1}`;
      report(0, label);
      const progress = (fraction: number) => report(Math.min(Math.max(fraction, 0), 1) * group.length, label);
      const contexts = group.map((unit): UnitContext<C> => {
        const seed = deriveSeed(rootSeed, 'unit', unit.key);
        return { ...unit, seed, rng: (...labels) => new Rng(deriveSeed(seed, ...labels)), progress };
      });
      const outputs = await runGroup(contexts);
      if (outputs.length !== group.length) throw new Error(`sweep group "${label}" returned ${outputs.length} outputs for ${group.length} units`);
      // A group's units share its wall time; each is charged an equal part.
      const seconds = (performance.now() - started) / 1000 / group.length;
      contexts.forEach(({ key, seed, config }, index) => {
        const checked = unitResultSchema.safeParse({ key, seed, config, ...outputs[index] });
        if (!checked.success) {
          throw new Error(`unit "${key}" produced output that is not valid result JSON: ${describeZodError(checked.error, unitResultSchema)}`);
        }
        completed.push(checked.data);
        unitSeconds[key] = seconds;
      });
      unitsDone += group.length;
      await timePhase('checkpoint', async () => host.checkpoints?.save({ ...identity, units: completed, unitsDigest: unitsDigestOf(completed), unitSeconds }));
      report(0);
    }
    const position = new Map(units.map((unit, index) => [unit.key, index]));
    return completed.sort((a, b) => position.get(a.key)! - position.get(b.key)!);
  };
  const sweep = <C extends JsonObject>(units: Array<SweepUnit<C>>, runUnit: (unit: UnitContext<C>) => Promise<UnitOutput>) =>
    sweepGroups(units, (unit) => unit.key, async ([unit]) => [await runUnit(unit!)]);

  const ctx: ExperimentContext<unknown> = {
    params,
    seed: rootSeed,
    deriveSeed: (...labels) => deriveSeed(rootSeed, ...labels),
    rng: (...labels) => new Rng(deriveSeed(rootSeed, ...labels)),
    tf: backend.tf,
    log: (message) => host.log(message),
    signal: stop.signal,
    deadline: request.deadline,
    tick,
    sweep,
    sweepGroups,
  };

  let metrics: JsonObject = {};
  let status: Result['status'] = 'ok';
  let statusReason: string | undefined;
  let exitCode: number = ExitCode.ok;
  try {
    const returned = await timePhase('experiment', () => withUnseededRandomnessForbidden(() => experiment.run(ctx)));
    const checked = jsonObjectSchema.safeParse(returned);
    if (!checked.success) throw new Error(`metrics are not valid result JSON: ${describeZodError(checked.error, jsonObjectSchema, 'metrics')}`);
    metrics = checked.data;
  } catch (error) {
    if (error instanceof RunStopped) {
      status = 'partial';
      statusReason = `${error.message}: ${completed.length} unit(s) finished`;
      exitCode = error.reason === 'deadline' ? ExitCode.deadlineReached : ExitCode.interrupted;
    } else if (error instanceof AxiomError) {
      throw error;
    } else {
      status = 'failed';
      statusReason = errorMessage(error);
      exitCode = ExitCode.experimentFailed;
    }
  } finally {
    host.control.signal.removeEventListener('abort', onHostAbort);
  }

  const cpu = process.cpuUsage(cpuStart);
  const result = resultSchema.parse({
    schemaVersion: RESULT_SCHEMA_VERSION,
    resultId: randomUUID(),
    experiment: { name: experiment.name, version: experiment.version, ...(request.script && { script: request.script }) },
    ...(request.replicate !== undefined && { workunit: { replicate: request.replicate } }),
    seed: {
      value: rootSeed,
      source: request.seed.source,
      ...(request.seed.fallbackReason !== undefined && { fallbackReason: request.seed.fallbackReason }),
    },
    preset: request.preset ?? null,
    params: paramsJson,
    status,
    ...(statusReason !== undefined && { statusReason }),
    metrics,
    units: completed,
    digest: resultDigest(metrics, completed),
    backend: backend.info,
    host: describeHost(),
    timings: {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      wallSeconds: (performance.now() - wallStart) / 1000,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      phases,
      units: unitSeconds,
    },
    warnings,
    ...(request.sandbox && { sandbox: request.sandbox }),
    worker: { version: WORKER_VERSION },
  } satisfies Result);
  const location = await host.sink.write(result);
  if (status === 'ok') await host.checkpoints?.clear();
  return { result, location, exitCode };
}
