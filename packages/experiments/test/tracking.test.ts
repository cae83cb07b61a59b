import { describe, expect, it } from 'vitest';
import { fitRecord, meanEpoch, medianEpoch, recordFits } from '@axiom/experiments';

describe('per-example correctness tracking', () => {
  it('records the first epoch each example is fit and the epoch since which it has stayed fit', () => {
    const labels = [0, 1, 2, 3];
    const tracker = fitRecord(labels.length);
    recordFits(tracker, labels, 1, [0, 0, 0, 0]); // example 0 right
    recordFits(tracker, labels, 2, [0, 1, 0, 0]); // 0, 1 right
    recordFits(tracker, labels, 3, [1, 1, 2, 0]); // 0 forgotten; 1, 2 right
    expect(Array.from(tracker.firstFit)).toEqual([1, 2, 3, -1]);
    expect(Array.from(tracker.learnedSince)).toEqual([-1, 2, 3, -1]);
    recordFits(tracker, labels, 4, [0, 1, 2, 0]);
    expect(Array.from(tracker.learnedSince)).toEqual([4, 2, 3, -1]);
  });

  it('summarises epochs over a subset, counting never-fit examples as `never`', () => {
    const epochs = Int32Array.from([1, 3, -1, 2]);
    expect(medianEpoch(epochs, () => true, 10)).toBe(2.5);
    expect(meanEpoch(epochs, (i) => i !== 3, 10)).toBeCloseTo(14 / 3, 12);
    expect(meanEpoch(epochs, () => false, 10)).toBeNull();
  });
});
