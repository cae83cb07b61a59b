import { mean, median } from 'simple-statistics';

/**
 * Per-example correctness over training: the first epoch each example is classified correctly
 * (Arpit et al. 2017), and the epoch since which it has stayed correct, Wu et al. 2021's "learned
 * iteration" at epoch resolution. -1 means not (yet).
 */
export class ExampleTracker {
  readonly firstFit: Int32Array;
  readonly learnedSince: Int32Array;

  constructor(readonly labels: ArrayLike<number>) {
    this.firstFit = new Int32Array(labels.length).fill(-1);
    this.learnedSince = new Int32Array(labels.length).fill(-1);
  }

  /** Records epoch `epoch`'s predictions for every example. */
  update(epoch: number, predicted: ArrayLike<number>): void {
    for (let i = 0; i < this.labels.length; i++) {
      if (predicted[i] !== this.labels[i]) this.learnedSince[i] = -1;
      else {
        if (this.firstFit[i] === -1) this.firstFit[i] = epoch;
        if (this.learnedSince[i] === -1) this.learnedSince[i] = epoch;
      }
    }
  }
}

/** Summary of per-example epochs over a subset; examples never fit count as epoch `never`. */
function summariseEpochs(epochs: Int32Array, include: (index: number) => boolean, never: number, summary: (values: number[]) => number): number | null {
  const values = Array.from(epochs).filter((_, i) => include(i)).map((epoch) => (epoch < 0 ? never : epoch));
  return values.length === 0 ? null : summary(values);
}

export const medianEpoch = (epochs: Int32Array, include: (index: number) => boolean, never: number) => summariseEpochs(epochs, include, never, median);
export const meanEpoch = (epochs: Int32Array, include: (index: number) => boolean, never: number) => summariseEpochs(epochs, include, never, mean);
