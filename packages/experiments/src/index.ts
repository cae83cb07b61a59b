import type { Experiment } from '@axiom/runner';
import cellularAutomata from './cellular-automata.js';
import criticalBatchSize from './critical-batch-size.js';
import curriculumLearning from './curriculum-learning.js';
import doubleDescent from './double-descent.js';
import emergence from './emergence.js';
import featureCompetition from './feature-competition.js';
import grokking from './grokking.js';
import informationBottleneck from './information-bottleneck.js';
import lotteryTicket from './lottery-ticket.js';
import memorizationDynamics from './memorization-dynamics.js';
import microScalingLaws from './micro-scaling-laws.js';
import modeConnectivity from './mode-connectivity.js';
import optimizerComparison from './optimizer-comparison.js';
import randomFeatures from './random-features.js';
import randomLabelMemorization from './random-label-memorization.js';
import representationAlignment from './representation-alignment.js';
import weightInit from './weight-init.js';

export { linearCka } from './lib/cka.js';
export {
  bitPatternTask,
  clusterTask,
  corruptLabels,
  featureColumns,
  replicateClusterData,
  sampleClusters,
  sampleCompetingFeatures,
  sampleLeveledClusters,
  sampleTeacher,
  sampleTeacherSigns,
  shuffleColumns,
  teacherOutput,
  teacherTask,
  type ClusterTask,
  type CompetingFeaturesOptions,
  type Dataset,
  type FeatureColumns,
  type LabelDraw,
  type RegressionDataset,
  type ReplicateClusterData,
  type TeacherTask,
} from './lib/data.js';
export { MOMENTUM, optimizerKinds, RMSPROP_ALPHA, RMSPROP_EPSILON, type OptimizerKind } from './lib/optimizer.js';
export { binnedInformation, binnedStates, binOf, entropyBits, rangeOf, type BinRange } from './lib/information.js';
export { createMlp, initialWeights, layerSizes, parameterCount, type Activation, type Mlp, type MlpShape } from './lib/mlp.js';
export { sessionPart } from './lib/session.js';
export { summarize, tCritical95, type Summary } from './lib/statistics.js';
export { fitPowerLaw, fitPowerLawWithOffset, type PowerLawFit } from './lib/power-law.js';
export { firstLayerGradientNorms, layerSignals, type LayerSignal } from './lib/probes.js';
export {
  estimateMemberNoiseScales,
  estimateNoiseScale,
  meanBatchGradientSquaredNorms,
  type BatchGradientNorms,
  type NoiseScaleEstimate,
  type NoiseScaleOptions,
} from './lib/noise-scale.js';
export {
  copyStackedMembers,
  createStackedMlp,
  evaluateStackedLoss,
  memberLosses,
  perMember,
  predictStackedClasses,
  trainStacked,
  trainedVariables,
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

/** The experiments built into the worker, by name: the first five, then the second wave. */
export const builtinExperiments: ReadonlyMap<string, Experiment> = new Map(
  [
    curriculumLearning,
    memorizationDynamics,
    microScalingLaws,
    featureCompetition,
    representationAlignment,
    grokking,
    doubleDescent,
    criticalBatchSize,
    optimizerComparison,
    weightInit,
    randomLabelMemorization,
    lotteryTicket,
    modeConnectivity,
    informationBottleneck,
    randomFeatures,
    cellularAutomata,
    emergence,
  ].map((experiment) => [experiment.name, experiment as unknown as Experiment]),
);
