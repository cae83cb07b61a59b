import { z } from 'zod';
import { AxiomError, errorMessage } from './errors.js';
import type { Tf } from './backend.js';
import type { JsonObject, JsonValue } from './json.js';
import type { Rng } from './rng.js';
import type { Tolerance } from './compare.js';
import type { Snapshot, UnitResult } from './schemas.js';

/** One independent piece of work in a sweep: a configuration or replicate, named by a stable key. */
export interface SweepUnit<C extends JsonObject = JsonObject> {
  key: string;
  config: C;
}

export interface UnitContext<C extends JsonObject = JsonObject> extends SweepUnit<C> {
  /** This unit's seed, derived from the root seed and the unit key. */
  seed: number;
  /** A seeded stream for one purpose within the unit (`unit.rng('data')`, `unit.rng('init')`). */
  rng(...labels: Array<string | number>): Rng;
}

/** State a training loop keeps across a restart: `save` is called at a checkpoint, `restore` with what it returned. */
export interface Resumable {
  save(): Snapshot | Promise<Snapshot>;
  restore(saved: Snapshot): void | Promise<void>;
}

/** One training loop in progress inside a sweep group; from `TrainingSession.beginTraining`. */
export interface TrainingRun {
  /**
   * Call after every step: the state saved by the loop's `Resumable` and the session's records must be
   * consistent here. The host may take a checkpoint (it decides when); a stopped run checkpoints here and
   * throws. Also does what `tick()` does.
   */
  stepDone(): Promise<void>;
  /** The loop is over: later steps of the group are not part of it. */
  end(): void;
}

/**
 * A sweep group's link to the host while it runs: progress, and the checkpoints that let a stopped run
 * continue inside training. A restart re-runs the group's code from the top (data and models are made
 * again from the same seeds); `beginTraining` then puts the loop back where it was, `record` hands back the
 * records kept so far, and every random stream the group made before training is set back to where it was.
 * Streams made while a loop runs must be used up before its next step.
 */
export interface TrainingSession {
  /** Progress through this group, 0..1, with where its training is (e.g. "epoch 37/40"). */
  progress(fraction: number, detail?: string): void;
  /** Between steps: lets signals through, waits while suspended, stops the run (before training begins). */
  tick(): Promise<void>;
  /**
   * Plain data the group keeps across restarts (curves so far, per-example records): the saved value when
   * resuming, else `initial()`. Mutate it in place; it is saved by reference at each checkpoint.
   */
  record<T extends Snapshot & object>(name: string, initial: () => T): T;
  /**
   * Starts a training loop whose own state (position, weights, optimizer) `state` saves and restores. When
   * resuming inside this loop, `state.restore` runs first; returns null for a loop that had already finished
   * before the restart (the group's later loop was running): skip it.
   */
  beginTraining(state: Resumable): Promise<TrainingRun | null>;
}

export interface UnitOutput {
  metrics: JsonObject;
  curves: JsonObject;
}

export interface ExperimentContext<P> {
  params: P;
  /** The root seed; every stream is derived from it. */
  seed: number;
  deriveSeed(...labels: Array<string | number>): number;
  rng(...labels: Array<string | number>): Rng;
  tf: Tf;
  log(message: string): void;
  /** Aborts on Ctrl-C, BOINC quit/abort, or the deadline. `tick()` turns it into an exception. */
  signal: AbortSignal;
  /** Absolute deadline (ms since epoch), if the workunit has one. */
  deadline: number | undefined;
  /**
   * Call between pieces of work: yields to the event loop now and then (so signals and control messages
   * are seen), waits while the host is suspended, and throws once the run is stopped, unless a sweep group's
   * training has begun: that stop waits for the next step (`TrainingRun.stepDone`) or the group's end, where
   * a checkpoint keeps the work.
   */
  tick(): Promise<void>;
  /**
   * Runs each unit with its own derived seed. Finished units go into the checkpoint; after a
   * restart they are restored, not recomputed, so a resumed run gives the same digest.
   */
  sweep<C extends JsonObject>(units: Array<SweepUnit<C>>, run: (unit: UnitContext<C>, session: TrainingSession) => Promise<UnitOutput>): Promise<UnitResult[]>;
  /**
   * Like `sweep`, but the units `groupOf` maps to one key run together, in one call of `runGroup`
   * (e.g. same-shape networks trained as one stacked model), which returns one output per unit, in
   * order. Each unit keeps its own derived seed. A training loop that uses the session resumes inside the
   * group after a restart; finished groups are kept whole. Results come back in the order of `units`.
   */
  sweepGroups<C extends JsonObject>(
    units: Array<SweepUnit<C>>,
    groupOf: (unit: SweepUnit<C>) => string,
    runGroup: (group: Array<UnitContext<C>>, session: TrainingSession) => Promise<UnitOutput[]>,
  ): Promise<UnitResult[]>;
}

/**
 * A headline metric: a path into the run's `metrics` (`*` stands for every key of a table, as in
 * `byLevel.*.testAccuracy`) and how closely two backends must agree on it. Across backends floats round
 * differently and trajectories drift, so each experiment measures its own tolerances.
 */
export interface HeadlineMetric {
  metric: string;
  tolerance: Tolerance;
}

/** A headline table keyed by a swept value: `metrics[table][key][field]`, e.g. `byLevel["0.4"].cleanFirstRate`. */
export interface KeyedFinding {
  table: string;
  keyLabel: string;
  /** Field name → label. */
  fields: Record<string, string>;
  axis: 'linear' | 'log' | 'nominal';
  title: string;
}

/** Headline scalars read together, e.g. a scaling exponent and the R² of its fit. */
export interface ScalarFinding {
  label: string;
  fields: Record<string, string>;
}

/** Units of one sweep: their `loss` metric against a size, for a power-law fit on log–log axes. */
export interface ScalingSweep {
  sweep: string;
  label: string;
  size(unit: UnitResult): JsonValue | undefined;
}

/**
 * A finding beside its control, both measured in the same run (e.g. with and without weight decay):
 * `axiom analyze` and the report show each across seeds and their difference, paired by seed, each with
 * its 95% confidence interval.
 */
export interface ControlledFinding {
  /** The finding in words, e.g. "validation accuracy reaches 99% long after training accuracy does". */
  claim: string;
  /** Path of the metric that carries it, e.g. `withWeightDecay.delayEpochs`. */
  measure: string;
  /** Path of the same measure under the control, e.g. `withoutWeightDecay.delayEpochs`. */
  control: string;
  /** The control in words, e.g. "without weight decay". */
  controlLabel: string;
}

/**
 * The x axis of the units' curves when their points are not epochs: the unit curve that holds each
 * point's position (the same for every seed of a configuration), and the axis title.
 */
export interface CurveAxis {
  /** The unit curve of positions, e.g. `t`: one per point of the other curves. */
  curve: string;
  /** The axis title, e.g. "t along the path (0 to 1)". */
  label: string;
}

/**
 * What the headline finding is, in terms of the metrics the experiment records, with its controls:
 * `axiom analyze` turns it into a line or two, the report into plots.
 */
export interface Findings {
  controls?: ControlledFinding[];
  /**
   * Verdicts (true/false metrics) as the sentence each states when true, e.g. `riseMostlyPresentAtInit`:
   * "the rise with width is mostly present at initialisation"; analyze says in how many seeds it holds.
   */
  verdicts?: Record<string, string>;
  keyed?: KeyedFinding;
  scalars?: ScalarFinding[];
  scaling?: { loss: string; sweeps: ScalingSweep[] };
  /** Where the units' curves are plotted against something other than the epoch (1, 2, …). */
  curveAxis?: CurveAxis;
}

/** What `npm run bench` times for the experiment, beside its plain PyTorch version. */
export interface BenchWorkload {
  /** Parameter overrides under which the sweep's first configuration trains alone (e.g. stacking off): the bench times it on its own. */
  alone: JsonObject;
  /** Whether packages/cli/src/bench/pytorch_experiments.py has the same sweep in plain PyTorch (false: its columns stay blank). */
  pytorch: boolean;
}

/** One network a run trains, for the work estimate: layer widths (input first) and how many examples pass through it. */
export interface NetworkWork {
  layers: number[];
  /** Examples it is trained on, counting each epoch. */
  trainPasses: number;
  /** Examples it is evaluated on, counting each evaluation. */
  evalPasses: number;
  /** Training steps it takes (batches, counting each epoch; for a run that may stop early, its budget). */
  steps: number;
  /**
   * The stack it trains in (the key the experiment groups its sweep by): networks of one stack take their steps
   * together, so a stack pays tfjs's per-step overhead once for all of them. With `stacking` off, each its own.
   */
  stack: string;
}

/**
 * How much a run computes, for hosts that must say so in advance (BOINC's time estimates, deadlines and
 * limits): the networks it trains with these parameters, and the two rates it reached on one reference core,
 * both measured: the model FLOPs per second once the per-step overhead is set apart, and that overhead. Small
 * networks spend most of their time on the overhead, large ones on the FLOPs, so one rate cannot serve both:
 * the two are fitted to the smoke preset and the default sweep (re-measure when the experiment's training changes).
 */
export interface WorkEstimate<P> {
  networks(params: P): NetworkWork[];
  flopsPerSecond: number;
  secondsPerStep: number;
  /**
   * True when a stack's members depend on one another (e.g. the stack stops once any member reaches a target), or
   * when the declared stacks are not the sweep's groups (lottery-ticket's are its rounds): the runner then never
   * splits a stack in parts, which it otherwise does to a stack of more than half the work, never resumes part of
   * one alone from a checkpoint, and does not plan a pool from the declared stacks.
   */
  keepStacksWhole?: boolean;
}

export interface Experiment<S extends z.ZodType = z.ZodType> {
  name: string;
  version: string;
  /** One line for `axiom list`. */
  description: string;
  /** Strict zod object whose defaults are the real sweep. */
  params: S;
  /** Named parameter sets; every experiment has `smoke`, which finishes in seconds. */
  presets: { smoke: JsonObject } & Record<string, JsonObject>;
  /**
   * `none`: the experiment keeps state the runner cannot save (its own loop without `beginTraining`, or
   * state across units), so a stopped run must start over: hosts then take and claim no checkpoints.
   */
  checkpointing?: 'none';
  /** The metrics that carry the finding, with cross-backend tolerances; without them, two backends must agree on every value within a default. */
  headline?: HeadlineMetric[];
  findings?: Findings;
  bench?: BenchWorkload;
  work?: WorkEstimate<z.infer<S>>;
  /** Runs the sweep and returns the headline metrics computed from its units. */
  run(ctx: ExperimentContext<z.infer<S>>): Promise<JsonObject>;
}

const NAME = /^[a-z][a-z0-9-]*$/;

/** Declares an experiment; checks at load time that its name is valid and its presets fit its schema. */
export function defineExperiment<S extends z.ZodType>(experiment: Experiment<S>): Experiment<S> {
  if (!NAME.test(experiment.name)) throw new TypeError(`experiment name "${experiment.name}" must be kebab-case`);
  for (const [preset, values] of Object.entries(experiment.presets)) {
    const parsed = experiment.params.safeParse(values);
    if (!parsed.success) throw new TypeError(`${experiment.name}: preset "${preset}" does not fit the params schema: ${parsed.error.message}`);
  }
  for (const { metric, tolerance } of experiment.headline ?? []) {
    if (!/^[^.*]+(\.([^.*]+|\*))*$/.test(metric))
      throw new TypeError(`${experiment.name}: headline metric "${metric}" must be a dotted path, with * for a table's keys`);
    if (!(tolerance.absolute >= 0 && tolerance.relative >= 0)) throw new TypeError(`${experiment.name}: headline metric "${metric}" needs a tolerance ≥ 0`);
  }
  return experiment;
}

/** Checks that a module's default export is an experiment (for local files and fetched scripts). */
export function experimentFromModule(module: unknown, origin: string): Experiment {
  const candidate = (module as { default?: unknown } | null)?.default;
  const problems: string[] = [];
  if (typeof candidate !== 'object' || candidate === null) {
    throw new AxiomError('unknownExperiment', `${origin}: the module has no default export (export default defineExperiment({...}))`);
  }
  const fields = candidate as Partial<Record<keyof Experiment, unknown>>;
  if (typeof fields.name !== 'string' || !NAME.test(fields.name)) problems.push('"name" must be a kebab-case string');
  if (typeof fields.version !== 'string') problems.push('"version" must be a string');
  if (typeof fields.description !== 'string') problems.push('"description" must be a string');
  if (!(fields.params instanceof z.ZodType)) problems.push('"params" must be a zod schema from the same zod the worker uses');
  if (typeof (fields.presets as { smoke?: unknown } | undefined)?.smoke !== 'object') problems.push('"presets.smoke" is missing');
  if (typeof fields.run !== 'function') problems.push('"run" must be a function');
  if (problems.length) throw new AxiomError('unknownExperiment', `${origin}: not an experiment: ${problems.join('; ')}`);
  try {
    return defineExperiment(candidate as Experiment);
  } catch (error) {
    throw new AxiomError('unknownExperiment', `${origin}: ${errorMessage(error)}`);
  }
}
