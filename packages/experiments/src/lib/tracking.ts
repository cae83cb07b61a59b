import { mean, median } from 'simple-statistics';

/**
 * Per-example correctness over training: the first epoch each example is classified correctly
 * (Arpit et al. 2017), and the epoch since which it has stayed correct, Wu et al. 2021's "learned
 * iteration" at epoch resolution. -1 means not (yet). Plain data, so a session can keep it across restarts.
 */
export type FitRecord = {
  firstFit: Int32Array;
  learnedSince: Int32Array;
};

export function fitRecord(examples: number): FitRecord {
  return { firstFit: new Int32Array(examples).fill(-1), learnedSince: new Int32Array(examples).fill(-1) };
}

/** Records epoch `epoch`'s predictions for every example. */
export function recordFits({ firstFit, learnedSince }: FitRecord, labels: ArrayLike<number>, epoch: number, predicted: ArrayLike<number>): void {
  for (let i = 0; i < labels.length; i++) {
    if (predicted[i] !== labels[i]) learnedSince[i] = -1;
    else {
      if (firstFit[i] === -1) firstFit[i] = epoch;
      if (learnedSince[i] === -1) learnedSince[i] = epoch;
    }
  }
}

/** Summary of per-example epochs over a subset; examples never fit count as epoch `never`. */
function summariseEpochs(epochs: Int32Array, include: (index: number) => boolean, never: number, summary: (values: number[]) => number): number | null {
  const values = Array.from(epochs)
    .filter((_, i) => include(i))
    .map((epoch) => (epoch < 0 ? never : epoch));
  return values.length === 0 ? null : summary(values);
}

export const medianEpoch = (epochs: Int32Array, include: (index: number) => boolean, never: number) => summariseEpochs(epochs, include, never, median);
export const meanEpoch = (epochs: Int32Array, include: (index: number) => boolean, never: number) => summariseEpochs(epochs, include, never, mean);
