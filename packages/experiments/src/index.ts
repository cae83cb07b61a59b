import type { Experiment } from '@axiom/runner';
import memorizationDynamics from './memorization-dynamics.js';

export { clusterTask, corruptLabels, sampleClusters, type ClusterTask, type Dataset } from './lib/data.js';
export { createMlp, type Mlp, type MlpShape } from './lib/mlp.js';
export { accuracy, predictClasses, trainClassifier, uploadDataset, type DeviceDataset, type TrainOptions } from './lib/train.js';

/** The experiments built into the worker, by name. */
export const builtinExperiments: ReadonlyMap<string, Experiment> = new Map(
  [memorizationDynamics].map((experiment) => [experiment.name, experiment as unknown as Experiment]),
);
