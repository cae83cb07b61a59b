import { createHash } from 'node:crypto';
import seedrandom from 'seedrandom';

/**
 * Derived seeds: uint32 = first 4 bytes (big-endian) of SHA-256("axiom-seed-v1" NUL root NUL label1 NUL label2 …).
 * Hashing (not `root + i`) keeps sibling seeds independent, and the labels make every derived stream
 * nameable and reproducible from the root seed alone.
 */
export function deriveSeed(root: number, ...labels: ReadonlyArray<string | number>): number {
  const hash = createHash('sha256')
    .update(['axiom-seed-v1', String(root), ...labels.map(String)].join('\0'))
    .digest();
  return hash.readUInt32BE(0);
}

/** Where a stream is: Alea's registers, how many numbers it has drawn, and the spare normal deviate it holds. */
export interface RngState {
  alea: seedrandom.State.Alea;
  draws: number;
  spareNormal: number | null;
}

/** The only source of randomness experiments use: a seeded `seedrandom` (Alea) stream. */
export class Rng {
  private prng: seedrandom.StatefulPRNG<seedrandom.State.Alea>;
  private spareNormal: number | undefined;
  /** Numbers drawn so far: a stream only moves forward, so a restored state must be at least this far along. */
  private draws = 0;

  constructor(readonly seed: number) {
    this.prng = seedrandom.alea(String(seed), { state: true });
  }

  /** Uniform in [0, 1) with 53 bits of precision. */
  next(): number {
    this.draws++;
    return this.prng.double();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A fresh uint32, e.g. the `seed` argument of a tfjs random op. */
  uint32(): number {
    this.draws++;
    return this.prng.int32() >>> 0;
  }

  /** How many numbers the stream has drawn. */
  get drawn(): number {
    return this.draws;
  }

  /** Everything needed to continue this stream exactly where it is. */
  state(): RngState {
    return { alea: this.prng.state(), draws: this.draws, spareNormal: this.spareNormal ?? null };
  }

  /** Moves the stream forward to `state`, taken from this same stream later in an identical run. */
  restore(state: RngState): void {
    if (state.draws < this.draws) throw new RangeError(`a random stream cannot move back: it has drawn ${this.draws} numbers, the saved state ${state.draws}`);
    this.prng = seedrandom.alea('', { state: state.alea });
    this.draws = state.draws;
    this.spareNormal = state.spareNormal ?? undefined;
  }

  /** Standard normal (Box–Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const value = this.spareNormal;
      this.spareNormal = undefined;
      return value;
    }
    const u = 1 - this.next(); // (0, 1]: log(u) stays finite
    const radius = Math.sqrt(-2 * Math.log(u));
    const angle = 2 * Math.PI * this.next();
    this.spareNormal = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }

  /** Fisher–Yates, in place, on an array or typed array. */
  shuffle<T, A extends { length: number; [index: number]: T }>(items: A): A {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const swap = items[i]!;
      items[i] = items[j]!;
      items[j] = swap;
    }
    return items;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    return this.shuffle(Int32Array.from({ length: n }, (_, i) => i));
  }
}
