/**
 * `@axiom/runner`, for experiment authors: define an experiment (its parameters are a zod schema),
 * random streams derived from the run's seed, and the types the shared training pieces use. This is
 * all a fetched script sees. Hosts use `@axiom/runner/host`.
 */
export { ADAM_BETA1, ADAM_BETA2, adamStep, type AdamStep, type AdamStepInputs } from './adam.js';
export { type Tf } from './backend.js';
export { type Tolerance } from './compare.js';
export {
  type BenchWorkload,
  type ControlledFinding,
  type CurveAxis,
  defineExperiment,
  type Experiment,
  type ExperimentContext,
  type Findings,
  type HeadlineMetric,
  type KeyedFinding,
  type NetworkWork,
  type Resumable,
  type ScalarFinding,
  type ScalingSweep,
  type SweepUnit,
  type TrainingRun,
  type TrainingSession,
  type UnitContext,
  type UnitOutput,
  type WorkEstimate,
} from './experiment.js';
export { type JsonObject, type JsonValue } from './json.js';
export { deriveSeed, Rng } from './rng.js';
export { type Snapshot, snapshotSchema, type UnitResult } from './schemas.js';
export { standaloneSession } from './session.js';
export { stackedSigmoidCrossEntropy, stackedSoftmaxCrossEntropy } from './cross-entropy.js';
export { stackedDense, type StackedDenseActivation } from './stacked-dense.js';
export { stackedWeightedSum } from './weighted-sum.js';
