import { describe, expect, it } from 'vitest';
import { Rng } from '@axiom/runner';
import {
  clusterTask,
  corruptLabels,
  featureColumns,
  replicateClusterData,
  sampleClusters,
  sampleCompetingFeatures,
  sampleLeveledClusters,
  sampleTeacher,
  shuffleColumns,
  teacherTask,
} from '@axiom/experiments';

describe('seeded data generators', () => {
  const task = (seed: number) => clusterTask(new Rng(seed), { inputDim: 4, classes: 3, clustersPerClass: 2, separation: 2 });

  it('are a pure function of the seed', () => {
    expect(sampleClusters(new Rng(1), task(9), 50)).toEqual(sampleClusters(new Rng(1), task(9), 50));
    expect(sampleClusters(new Rng(2), task(9), 50).x).not.toEqual(sampleClusters(new Rng(1), task(9), 50).x);
  });

  it('draw every class, with points near their class centres', () => {
    const data = sampleClusters(new Rng(3), task(4), 600);
    const counts = [0, 0, 0];
    data.y.forEach((label) => counts[label]!++);
    for (const count of counts) expect(count).toBeGreaterThan(150);
    expect(data.x).toHaveLength(600 * 4);
  });

  it('corrupt exactly the requested fraction, always to a different class', () => {
    const clean = sampleClusters(new Rng(5), task(6), 1000);
    const { data, corrupted } = corruptLabels(new Rng(7), clean, 0.3);
    expect(corrupted.reduce((a, b) => a + b, 0)).toBe(300);
    data.y.forEach((label, i) => expect(label !== clean.y[i]).toBe(corrupted[i] === 1));
    expect(data.x).toBe(clean.x); // inputs are shared, only labels change
  });

  it('can redraw labels from every class (random labels): a redrawn label keeps its class with chance 1/classes', () => {
    const clean = sampleClusters(new Rng(6), task(5), 3000);
    const { data, corrupted } = corruptLabels(new Rng(7), clean, 1, 'any-class');
    expect(corrupted.every((flag) => flag === 1)).toBe(true);
    const kept = data.y.filter((label, i) => label === clean.y[i]).length / data.size;
    expect(kept).toBeGreaterThan(0.28);
    expect(kept).toBeLessThan(0.39);
    const counts = [0, 0, 0];
    data.y.forEach((label) => counts[label]!++);
    for (const count of counts) expect(count).toBeGreaterThan(900);
  });
});

describe("a replicate's cluster data", () => {
  const options = { inputDim: 4, classes: 3, clustersPerClass: 2, separation: 2, trainSize: 200, testSize: 100 };

  it('draws the task, the clean sample and the test sample from the data stream in that order, then relabels from its own', () => {
    const { clean, test, noisy, corrupted } = replicateClusterData(new Rng(1), options, { rng: new Rng(2), fraction: 0.5, draw: 'any-class' });
    const dataRng = new Rng(1);
    const task = clusterTask(dataRng, options);
    expect(clean).toEqual(sampleClusters(dataRng, task, options.trainSize));
    expect(test).toEqual(sampleClusters(dataRng, task, options.testSize));
    expect({ data: noisy, corrupted }).toEqual(corruptLabels(new Rng(2), clean, 0.5, 'any-class'));
  });

  it('differs between fractions in the training labels only', () => {
    const none = replicateClusterData(new Rng(3), options, { rng: new Rng(4), fraction: 0 });
    const some = replicateClusterData(new Rng(3), options, { rng: new Rng(4), fraction: 0.4 });
    expect(none.noisy).toEqual(none.clean);
    expect(some.clean).toEqual(none.clean);
    expect(some.test).toEqual(none.test);
    some.noisy.y.forEach((label, i) => expect(label !== some.clean.y[i]).toBe(some.corrupted[i] === 1)); // other-class by default
  });
});

describe('graded-difficulty clusters', () => {
  it('give every example a level whose cluster centres are pulled towards the origin, with unit noise', () => {
    const task = clusterTask(new Rng(8), { inputDim: 6, classes: 2, clustersPerClass: 1, separation: 2 });
    const scales = [1, 0.6, 0.2];
    const { data, level } = sampleLeveledClusters(new Rng(9), task, 3000, scales);
    expect(sampleLeveledClusters(new Rng(9), task, 3000, scales).data).toEqual(data);
    // Root mean square distance of a level's points from its class centres scaled by `scale`.
    const rms = (l: number, scale: number) => {
      let total = 0;
      let count = 0;
      for (let i = 0; i < data.size; i++) {
        if (level[i] !== l) continue;
        count++;
        for (let d = 0; d < 6; d++) total += (data.x[i * 6 + d]! - scale * task.centres[data.y[i]! * 6 + d]!) ** 2;
      }
      expect(count).toBeGreaterThan(800);
      return Math.sqrt(total / (count * 6));
    };
    scales.forEach((scale, l) => expect(rms(l, scale)).toBeCloseTo(1, 1));
    expect(rms(2, 1)).toBeGreaterThan(rms(1, 1) + 0.3); // harder levels sit further from the full-margin centres
  });
});

describe('random teacher', () => {
  it('labels N(0, I) inputs with an output of about unit variance, plus the requested noise', () => {
    const teacher = teacherTask(new Rng(10), { inputDim: 8, hidden: 64 });
    const variance = (values: Float32Array) => values.reduce((sum, v) => sum + v * v, 0) / values.length;
    const clean = sampleTeacher(new Rng(11), teacher, 4000);
    const noisy = sampleTeacher(new Rng(11), teacher, 4000, 0.5);
    expect(clean).toEqual(sampleTeacher(new Rng(11), teacher, 4000));
    expect(variance(clean.targets)).toBeGreaterThan(0.6);
    expect(variance(clean.targets)).toBeLessThan(1.5);
    // Smaller sets from the same stream are prefixes of larger ones (nested training sets for a data sweep).
    const prefix = sampleTeacher(new Rng(11), teacher, 100, 0.5);
    expect(prefix.x).toEqual(noisy.x.subarray(0, 100 * 8));
    expect(prefix.targets).toEqual(noisy.targets.subarray(0, 100));
    expect(variance(noisy.targets) - variance(clean.targets)).toBeGreaterThan(0.1);
  });
});

describe('competing features', () => {
  const options = { featureDims: 2, strongMargin: 3, weakMargin: 1, noiseDims: 3 };

  it('carry the label in the strong and the weak columns, with the margins asked for', () => {
    const data = sampleCompetingFeatures(new Rng(12), options, 4000);
    const columns = featureColumns(options);
    expect(columns).toEqual({ strong: [0, 1], weak: [2, 3], noise: [4, 5, 6] });
    expect(data.inputDim).toBe(7);
    // Mean of sign·(sum of a feature's columns)/√k: the margin along the feature's direction.
    const margin = (cols: number[]) =>
      Array.from({ length: data.size }, (_, i) => (2 * data.y[i]! - 1) * cols.reduce((sum, c) => sum + data.x[i * 7 + c]!, 0)).reduce((a, b) => a + b, 0) /
      (data.size * Math.sqrt(cols.length));
    expect(margin(columns.strong)).toBeCloseTo(3, 1);
    expect(margin(columns.weak)).toBeCloseTo(1, 1);
    expect(Math.abs(margin(columns.noise))).toBeLessThan(0.1);
  });

  it('are destroyed by shuffling their columns jointly across examples, leaving the rest', () => {
    const data = sampleCompetingFeatures(new Rng(13), options, 50);
    const shuffled = shuffleColumns(new Rng(14), data, [0, 1]);
    const row = (x: Float32Array, i: number, cols: number[]) => cols.map((c) => x[i * 7 + c]);
    const strongRows = (x: Float32Array) => Array.from({ length: 50 }, (_, i) => row(x, i, [0, 1]).join());
    expect(strongRows(shuffled.x).sort()).toEqual(strongRows(data.x).sort()); // the same pairs, moved together
    expect(strongRows(shuffled.x)).not.toEqual(strongRows(data.x));
    for (let i = 0; i < 50; i++) expect(row(shuffled.x, i, [2, 3, 4, 5, 6])).toEqual(row(data.x, i, [2, 3, 4, 5, 6]));
    expect(shuffled.y).toBe(data.y);
  });
});
