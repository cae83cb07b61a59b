import type { Rng } from '@axiom/runner';

/** A labelled data set held as flat row-major arrays, ready to upload to the backend once. */
export interface Dataset {
  x: Float32Array;
  y: Int32Array;
  size: number;
  inputDim: number;
  classes: number;
}

export interface ClusterTask {
  inputDim: number;
  classes: number;
  /** Gaussian blobs per class: more than one makes the boundary nonlinear. */
  clustersPerClass: number;
  /** Standard deviation of the cluster centres; points have unit noise, so this sets the overlap. */
  separation: number;
  centres: Float32Array;
}

/** A classification task of Gaussian clusters; the centres are drawn once so train and test share the task. */
export function clusterTask(rng: Rng, options: Omit<ClusterTask, 'centres'>): ClusterTask {
  const centres = new Float32Array(options.classes * options.clustersPerClass * options.inputDim);
  for (let i = 0; i < centres.length; i++) centres[i] = rng.normal() * options.separation;
  return { ...options, centres };
}

/** Draws `size` labelled points from the task: a uniform class, one of its clusters, unit Gaussian noise. */
export function sampleClusters(rng: Rng, task: ClusterTask, size: number): Dataset {
  const { inputDim, classes, clustersPerClass, centres } = task;
  const x = new Float32Array(size * inputDim);
  const y = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    const label = rng.int(classes);
    const centre = (label * clustersPerClass + rng.int(clustersPerClass)) * inputDim;
    for (let d = 0; d < inputDim; d++) x[i * inputDim + d] = centres[centre + d]! + rng.normal();
    y[i] = label;
  }
  return { x, y, size, inputDim, classes };
}

/**
 * Replaces the labels of a random `fraction` of examples with a different class, drawn uniformly
 * (Arpit et al. 2017). Returns the noisy data set and which examples were corrupted.
 */
export function corruptLabels(rng: Rng, data: Dataset, fraction: number): { data: Dataset; corrupted: Uint8Array } {
  const corrupted = new Uint8Array(data.size);
  const y = Int32Array.from(data.y);
  const order = rng.permutation(data.size);
  const count = Math.round(fraction * data.size);
  for (let i = 0; i < count; i++) {
    const index = order[i]!;
    const offset = 1 + rng.int(data.classes - 1); // never the true class
    y[index] = (data.y[index]! + offset) % data.classes;
    corrupted[index] = 1;
  }
  return { data: { ...data, y }, corrupted };
}
