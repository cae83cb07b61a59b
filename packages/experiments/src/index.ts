import type { Experiment } from '@axiom/runner';
import curriculumLearning from './curriculum-learning.js';
import featureCompetition from './feature-competition.js';
import grokking from './grokking.js';
import microScalingLaws from './micro-scaling-laws.js';
import representationAlignment from './representation-alignment.js';
import memorizationDynamics from './memorization-dynamics.js';
import optimizerComparison from './optimizer-comparison.js';

export { linearCka } from './lib/cka.js';
export {
  clusterTask,
  corruptLabels,
  featureColumns,
  sampleClusters,
  sampleCompetingFeatures,
  sampleLeveledClusters,
  sampleTeacher,
  shuffleColumns,
  teacherTask,
  type ClusterTask,
  type CompetingFeaturesOptions,
  type Dataset,
  type FeatureColumns,
  type RegressionDataset,
  type TeacherTask,
} from './lib/data.js';
export { createMlp, initialWeights, layerSizes, parameterCount, type Mlp, type MlpShape } from './lib/mlp.js';
export { MOMENTUM, optimizerKinds, RMSPROP_ALPHA, RMSPROP_EPSILON, type OptimizerKind } from './lib/optimizer.js';
export { summarize, tCritical95, type Summary } from './lib/statistics.js';
export { fitPowerLaw, fitPowerLawWithOffset, type PowerLawFit } from './lib/power-law.js';
export { firstLayerGradientNorms } from './lib/probes.js';
export {
  createStackedMlp,
  evaluateStackedLoss,
  memberLosses,
  perMember,
  predictStackedClasses,
  trainStacked,
  uploadStackedDataset,
  type StackedData,
  type StackedDataset,
  type StackedMember,
  type StackedMlp,
  type StackedTrainOptions,
} from './lib/stacked.js';
export {
  finiteOrNull,
  gridUnits,
  meanOfArrays,
  meanOfNumbers,
  metricsWhere,
  stackedBenchWorkload,
  stackedSweep,
  stackingParam,
  type Stacking,
} from './lib/sweep.js';
export { FEW_PREDICTIONS_FLIP, SAME_VERDICT } from './lib/tolerances.js';
export { fitRecord, meanEpoch, medianEpoch, recordFits, type FitRecord } from './lib/tracking.js';
export {
  accuracy,
  batchLoss,
  evaluateLoss,
  permutationStream,
  predictClasses,
  runEpochs,
  sliceRows,
  trainClassifier,
  uploadDataset,
  uploadRegressionDataset,
  type DeviceDataset,
  type LossKind,
  type TrainingSet,
  type TrainingLoopOptions,
  type EpochLoop,
  type TrainOptions,
  type VisitOrder,
} from './lib/train.js';

/** The experiments built into the worker, by name. */
export const builtinExperiments: ReadonlyMap<string, Experiment> = new Map(
  [curriculumLearning, memorizationDynamics, microScalingLaws, featureCompetition, representationAlignment, optimizerComparison, grokking].map((experiment) => [
    experiment.name,
    experiment as unknown as Experiment,
  ]),
);
