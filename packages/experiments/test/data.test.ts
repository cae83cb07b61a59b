import { describe, expect, it } from 'vitest';
import { Rng } from '@axiom/runner';
import { clusterTask, corruptLabels, sampleClusters } from '@axiom/experiments';

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
});
