import type { Rng } from '@axiom/runner';

/** A labelled data set held as flat row-major arrays, ready to upload to the backend once. */
export interface Dataset {
  x: Float32Array;
  y: Int32Array;
  size: number;
  inputDim: number;
  classes: number;
}

/** A regression data set: real-valued targets, `outputDim` per example. */
export interface RegressionDataset {
  x: Float32Array;
  targets: Float32Array;
  size: number;
  inputDim: number;
  outputDim: number;
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
  const { inputDim, classes, clustersPerClass, separation } = options; // only these, when given a whole params object
  const centres = new Float32Array(classes * clustersPerClass * inputDim);
  for (let i = 0; i < centres.length; i++) centres[i] = rng.normal() * separation;
  return { inputDim, classes, clustersPerClass, separation, centres };
}

/**
 * Writes one point of the task into row `row` of `x`: a uniform class, one of its clusters, unit
 * Gaussian noise around the cluster centre scaled by `centreScale`; returns the label.
 */
function drawClusterPoint(rng: Rng, task: ClusterTask, x: Float32Array, row: number, centreScale: number): number {
  const { inputDim, classes, clustersPerClass, centres } = task;
  const label = rng.int(classes);
  const centre = (label * clustersPerClass + rng.int(clustersPerClass)) * inputDim;
  for (let d = 0; d < inputDim; d++) x[row * inputDim + d] = centreScale * centres[centre + d]! + rng.normal();
  return label;
}

/** Draws `size` labelled points from the task: a uniform class, one of its clusters, unit Gaussian noise. */
export function sampleClusters(rng: Rng, task: ClusterTask, size: number): Dataset {
  const x = new Float32Array(size * task.inputDim);
  const y = new Int32Array(size);
  for (let i = 0; i < size; i++) y[i] = drawClusterPoint(rng, task, x, i, 1);
  return { x, y, size, inputDim: task.inputDim, classes: task.classes };
}

/**
 * Points of graded difficulty (Bengio et al. 2009): each example gets a uniform level, and level ℓ's
 * cluster centres are pulled towards the origin by `centreScales[ℓ]`, so margins shrink and classes
 * overlap more at later levels while the noise, and so the inputs' scale, stays the same.
 */
export function sampleLeveledClusters(rng: Rng, task: ClusterTask, size: number, centreScales: readonly number[]): { data: Dataset; level: Uint8Array } {
  const x = new Float32Array(size * task.inputDim);
  const y = new Int32Array(size);
  const level = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    level[i] = rng.int(centreScales.length);
    y[i] = drawClusterPoint(rng, task, x, i, centreScales[level[i]!]!);
  }
  return { data: { x, y, size, inputDim: task.inputDim, classes: task.classes }, level };
}

/**
 * How a corrupted label is drawn: `other-class`, uniformly among the other classes, so it is always
 * wrong (Arpit et al. 2017); `any-class`, uniformly among all classes, so it keeps the true class with
 * chance 1/classes and, at fraction 1, labels are independent of the inputs (Zhang et al. 2017's random labels).
 */
export type LabelDraw = 'other-class' | 'any-class';

/**
 * Replaces the labels of a random `fraction` of examples with a class drawn as `draw` says (by default
 * a different class). Returns the noisy data set and which examples were corrupted (their label redrawn).
 */
export function corruptLabels(rng: Rng, data: Dataset, fraction: number, draw: LabelDraw = 'other-class'): { data: Dataset; corrupted: Uint8Array } {
  const corrupted = new Uint8Array(data.size);
  const y = Int32Array.from(data.y);
  const order = rng.permutation(data.size);
  const count = Math.round(fraction * data.size);
  for (let i = 0; i < count; i++) {
    const index = order[i]!;
    y[index] = draw === 'any-class' ? rng.int(data.classes) : (data.y[index]! + 1 + rng.int(data.classes - 1)) % data.classes; // other-class: never the true one
    corrupted[index] = 1;
  }
  return { data: { ...data, y }, corrupted };
}

export interface ReplicateClusterData {
  /** The training sample with its true labels. */
  clean: Dataset;
  /** The test sample, always with its true labels. */
  test: Dataset;
  /** The training sample as trained on: `clean` with `fraction` of its labels redrawn. */
  noisy: Dataset;
  /** Which training examples had their label redrawn. */
  corrupted: Uint8Array;
}

/**
 * A replicate's cluster data: the task, its clean training sample and its test sample, drawn from
 * `dataRng` in that order (so every unit of a replicate shares them), then the relabelling, from its own
 * stream, so units that differ only in `fraction` differ in their training labels and nothing else.
 */
export function replicateClusterData(
  dataRng: Rng,
  options: Omit<ClusterTask, 'centres'> & { trainSize: number; testSize: number },
  relabel: { rng: Rng; fraction: number; draw?: LabelDraw },
): ReplicateClusterData {
  const task = clusterTask(dataRng, options);
  const clean = sampleClusters(dataRng, task, options.trainSize);
  const test = sampleClusters(dataRng, task, options.testSize);
  const { data: noisy, corrupted } = corruptLabels(relabel.rng, clean, relabel.fraction, relabel.draw);
  return { clean, test, noisy, corrupted };
}

/** A fixed random one-hidden-layer ReLU network whose output a student learns to imitate (a teacher–student task). */
export interface TeacherTask {
  inputDim: number;
  hidden: number;
  /** hidden × inputDim, row-major. */
  inputWeights: Float64Array;
  readout: Float64Array;
}

/** E[relu(z)] and Var[relu(z)] for z ~ N(0, 1): used to centre and scale the teacher's output. */
const RELU_MEAN = 1 / Math.sqrt(2 * Math.PI);
const RELU_VARIANCE = 0.5 - 1 / (2 * Math.PI);

/**
 * Draws the teacher. Inputs are N(0, I), so each pre-activation is N(0, 1); the readout is scaled so
 * the (centred) output has unit variance: the test MSE of always predicting 0 is about 1.
 */
export function teacherTask(rng: Rng, options: { inputDim: number; hidden: number }): TeacherTask {
  const { inputDim, hidden } = options;
  const inputWeights = Float64Array.from({ length: hidden * inputDim }, () => rng.normal() / Math.sqrt(inputDim));
  const readout = Float64Array.from({ length: hidden }, () => rng.normal() / Math.sqrt(hidden * RELU_VARIANCE));
  return { inputDim, hidden, inputWeights, readout };
}

/** The teacher's (centred) output for row `row` of inputs `x` (row-major, `teacher.inputDim` columns). */
export function teacherOutput(teacher: TeacherTask, x: Float32Array, row: number): number {
  const { inputDim, hidden, inputWeights, readout } = teacher;
  let output = 0;
  for (let j = 0; j < hidden; j++) {
    let preActivation = 0;
    for (let d = 0; d < inputDim; d++) preActivation += inputWeights[j * inputDim + d]! * x[row * inputDim + d]!;
    output += readout[j]! * (Math.max(preActivation, 0) - RELU_MEAN);
  }
  return output;
}

/** Draws `size` inputs x ~ N(0, I) and labels them with the teacher's output plus N(0, noise²) observation noise. */
export function sampleTeacher(rng: Rng, teacher: TeacherTask, size: number, noise = 0): RegressionDataset {
  const { inputDim } = teacher;
  const x = new Float32Array(size * inputDim);
  const targets = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    for (let d = 0; d < inputDim; d++) x[i * inputDim + d] = rng.normal();
    targets[i] = teacherOutput(teacher, x, i) + (noise > 0 ? noise * rng.normal() : 0);
  }
  return { x, targets, size, inputDim, outputDim: 1 };
}

/**
 * An answer of several independent binary parts read from one input (Schaeffer et al. 2023): `size`
 * inputs x ~ N(0, I), each with one 0/1 target per teacher, 1 where that teacher's output is positive.
 */
export function sampleTeacherSigns(rng: Rng, teachers: readonly TeacherTask[], size: number): RegressionDataset {
  const inputDim = teachers[0]!.inputDim;
  if (teachers.some((teacher) => teacher.inputDim !== inputDim)) throw new RangeError('sampleTeacherSigns: teachers must read inputs of one width');
  const x = new Float32Array(size * inputDim);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  const targets = new Float32Array(size * teachers.length);
  for (let i = 0; i < size; i++) teachers.forEach((teacher, part) => (targets[i * teachers.length + part] = teacherOutput(teacher, x, i) > 0 ? 1 : 0));
  return { x, targets, size, inputDim, outputDim: teachers.length };
}

/**
 * Every one of the 2^bits binary input patterns (±1 per bit; pattern r has bit d = bit d of r), labelled
 * by a random teacher network (teacherTask) thresholded at its median output, so the two classes are
 * equal: the 12-bit task of Shwartz-Ziv & Tishby 2017 (4096 patterns), with a teacher's rule for theirs.
 */
export function bitPatternTask(rng: Rng, options: { bits: number; teacherHidden: number }): Dataset {
  const { bits, teacherHidden } = options;
  const size = 2 ** bits;
  const x = new Float32Array(size * bits);
  for (let row = 0; row < size; row++) for (let d = 0; d < bits; d++) x[row * bits + d] = (row >> d) & 1 ? 1 : -1;
  const teacher = teacherTask(rng, { inputDim: bits, hidden: teacherHidden });
  const outputs = Float64Array.from({ length: size }, (_, row) => teacherOutput(teacher, x, row));
  const median = Float64Array.from(outputs).sort()[size / 2]!;
  const y = Int32Array.from(outputs, (output) => (output >= median ? 1 : 0));
  return { x, y, size, inputDim: bits, classes: 2 };
}

export interface CompetingFeaturesOptions {
  /** Input columns per feature (the same for both, so their first-layer gradient norms compare). */
  featureDims: number;
  /** Distance of each class's mean from the boundary along the strong feature, in units of its noise. */
  strongMargin: number;
  /** The same for the weak feature: smaller, so it alone classifies worse. */
  weakMargin: number;
  /** Extra columns of pure N(0, 1) noise. */
  noiseDims: number;
}

/** Which input columns carry which feature. */
export interface FeatureColumns {
  strong: number[];
  weak: number[];
  noise: number[];
}

export function featureColumns(options: CompetingFeaturesOptions): FeatureColumns {
  const range = (start: number, count: number) => Array.from({ length: count }, (_, i) => start + i);
  return {
    strong: range(0, options.featureDims),
    weak: range(options.featureDims, options.featureDims),
    noise: range(2 * options.featureDims, options.noiseDims),
  };
}

/**
 * Binary labels carried by two features at once (Pezeshki et al. 2021; Shah et al. 2020): with s = ±1
 * the class sign, the strong feature's columns are s·strongMargin/√k + N(0, 1) and the weak feature's
 * s·weakMargin/√k + N(0, 1) (k = featureDims, so the margin along the feature's direction is as given);
 * then noise columns. Both features predict the label alone; the strong one almost perfectly.
 */
export function sampleCompetingFeatures(rng: Rng, options: CompetingFeaturesOptions, size: number): Dataset {
  const { strong, weak, noise } = featureColumns(options);
  const inputDim = strong.length + weak.length + noise.length;
  const perColumn = (margin: number) => margin / Math.sqrt(options.featureDims);
  const x = new Float32Array(size * inputDim);
  const y = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    y[i] = rng.int(2);
    const sign = 2 * y[i]! - 1;
    for (const column of strong) x[i * inputDim + column] = sign * perColumn(options.strongMargin) + rng.normal();
    for (const column of weak) x[i * inputDim + column] = sign * perColumn(options.weakMargin) + rng.normal();
    for (const column of noise) x[i * inputDim + column] = rng.normal();
  }
  return { x, y, size, inputDim, classes: 2 };
}

/** A copy of the data with the given columns permuted jointly across examples: the feature keeps its distribution but no longer predicts the label. */
export function shuffleColumns(rng: Rng, data: Dataset, columns: readonly number[]): Dataset {
  const order = rng.permutation(data.size);
  const x = Float32Array.from(data.x);
  for (let i = 0; i < data.size; i++) {
    for (const column of columns) x[i * data.inputDim + column] = data.x[order[i]! * data.inputDim + column]!;
  }
  return { ...data, x };
}

/**
 * Modular addition (Power et al. 2022): every pair (a, b) of residues mod `modulus`, as the concatenated
 * one-hot codes of a and b (2·modulus inputs), labelled (a + b) mod modulus. Row a·modulus + b holds (a, b).
 */
export function modularAddition(modulus: number): Dataset {
  const size = modulus * modulus;
  const inputDim = 2 * modulus;
  const x = new Float32Array(size * inputDim);
  const y = new Int32Array(size);
  for (let a = 0; a < modulus; a++) {
    for (let b = 0; b < modulus; b++) {
      const row = a * modulus + b;
      x[row * inputDim + a] = 1;
      x[row * inputDim + modulus + b] = 1;
      y[row] = (a + b) % modulus;
    }
  }
  return { x, y, size, inputDim, classes: modulus };
}

/** The rows `rows` of a data set, in that order (e.g. a random split into training and held-out examples). */
export function selectRows(data: Dataset, rows: ArrayLike<number>): Dataset {
  const x = new Float32Array(rows.length * data.inputDim);
  const y = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    x.set(data.x.subarray(rows[i]! * data.inputDim, (rows[i]! + 1) * data.inputDim), i * data.inputDim);
    y[i] = data.y[rows[i]!]!;
  }
  return { ...data, x, y, size: rows.length };
}
