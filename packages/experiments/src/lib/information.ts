/**
 * Binned mutual-information estimates for a deterministic layer (Shwartz-Ziv & Tishby 2017; Saxe et al.
 * 2018): each unit's activation is put into one of `bins` equal-width bins over a range, the layer's
 * state T is the tuple of its units' bins, and with X uniform over the inputs given, I(X;T) = H(T) (T is
 * a function of X) and I(T;Y) = H(T) + H(Y) − H(T,Y). In bits.
 */

/** The range a layer's activations are binned over. */
export interface BinRange {
  low: number;
  high: number;
}

/** Which of `bins` equal-width bins over `range` holds `value`; values outside go to the end bins; a range of zero width has one bin. */
export function binOf(value: number, range: BinRange, bins: number): number {
  const width = range.high - range.low;
  if (!(width > 0)) return 0;
  return Math.min(bins - 1, Math.max(0, Math.floor(((value - range.low) / width) * bins)));
}

/**
 * Dense ids 0, 1, 2, … for integer keys, in the order they are first seen: a hash table in typed arrays, sized for
 * `capacity` distinct keys. (A Map did the same at several times the cost, and this runs for every unit of every
 * layer at every evaluation.)
 */
class FirstSeenIds {
  private readonly keys: Float64Array;
  private readonly ids: Int32Array;
  /** The slot of each id given, so that `clear` empties only those. */
  private readonly slots: Int32Array;
  private readonly shift: number;
  count = 0;

  constructor(readonly capacity: number) {
    const bits = Math.max(4, Math.ceil(Math.log2(2 * capacity + 1)));
    this.keys = new Float64Array(2 ** bits);
    this.ids = new Int32Array(2 ** bits).fill(-1);
    this.slots = new Int32Array(capacity);
    this.shift = 32 - bits;
  }

  /** Forgets every key: ids start again from 0. */
  clear(): void {
    for (let id = 0; id < this.count; id++) this.ids[this.slots[id]!] = -1;
    this.count = 0;
  }

  /** The key's id, given the next one if it is new (at most `capacity` keys between clears). Keys are integers below 2^53. */
  idOf(key: number): number {
    const mask = this.ids.length - 1;
    let slot = Math.imul((key >>> 0) ^ Math.imul((key / 4294967296) >>> 0, 0x85ebca6b), 0x9e3779b1) >>> this.shift;
    for (;;) {
      const id = this.ids[slot]!;
      if (id === -1) {
        this.keys[slot] = key;
        this.ids[slot] = this.count;
        this.slots[this.count] = slot;
        return this.count++;
      }
      if (this.keys[slot] === key) return id;
      slot = (slot + 1) & mask;
    }
  }
}

/** One table for every call (each is synchronous and done with it before the next), cleared, holding at least `capacity` keys. */
let table: FirstSeenIds | undefined;
function emptyTable(capacity: number): FirstSeenIds {
  if (!table || table.capacity < capacity) table = new FirstSeenIds(capacity);
  table.clear();
  return table;
}

/** Keys stay exact integers below this. */
const EXACT_KEYS = 2 ** 53;

/** Each key's dense id, in the order rows first reach it (written into `ids`); returns how many distinct keys there are. */
function firstSeenIds(keys: Float64Array, ids: Int32Array): number {
  const table = emptyTable(keys.length);
  for (let row = 0; row < keys.length; row++) ids[row] = table.idOf(keys[row]!);
  return table.count;
}

/**
 * Each row's binned state as a dense integer (equal rows, equal states), numbered in the order rows first reach
 * them: `activations` is row-major [rows, units]. Each row's key appends one unit's bin at a time (key·bins + bin);
 * when another bin would take keys past exact integers, they are renumbered densely first, so no key grows past
 * the number of rows times the bins of the units since. (Renumbering after every unit gave the same states at
 * several times the cost: the numbering depends only on which rows are equal and on their order.)
 */
export function binnedStates(activations: ArrayLike<number>, rows: number, units: number, range: BinRange, bins: number): Int32Array {
  const keys = new Float64Array(rows);
  const states = new Int32Array(rows);
  let distinctKeys = 1;
  for (let unit = 0; unit < units; unit++) {
    if (distinctKeys * bins > EXACT_KEYS) {
      distinctKeys = firstSeenIds(keys, states);
      keys.set(states);
    }
    for (let row = 0; row < rows; row++) keys[row] = keys[row]! * bins + binOf(activations[row * units + unit]!, range, bins);
    distinctKeys *= bins;
  }
  firstSeenIds(keys, states);
  return states;
}

/** Entropy in bits of the empirical distribution of the given integer symbols (each row equally likely), summed in the order symbols first occur. */
export function entropyBits(symbols: ArrayLike<number>): number {
  const ids = emptyTable(symbols.length);
  const counts = new Int32Array(symbols.length);
  for (let i = 0; i < symbols.length; i++) counts[ids.idOf(symbols[i]!)]!++;
  return entropyOfCounts(counts, ids.count, symbols.length);
}

/** Entropy in bits of `total` rows whose symbols occur `counts[0…distinct)` times, summed in that order. */
function entropyOfCounts(counts: Int32Array, distinct: number, total: number): number {
  let entropy = 0;
  for (let id = 0; id < distinct; id++) {
    const p = counts[id]! / total;
    entropy -= p * Math.log2(p);
  }
  return entropy;
}

/** I(X;T) and I(T;Y) in bits for a layer's binned states (binnedStates') over inputs X (uniform) with labels Y (classes 0…k−1). */
export function binnedInformation(states: Int32Array, labels: ArrayLike<number>, classes: number): { inputInformation: number; labelInformation: number } {
  const joint = new Int32Array(states.length);
  for (let row = 0; row < states.length; row++) joint[row] = states[row]! * classes + labels[row]!;
  // States are dense ids in the order rows first reach them (binnedStates): counted directly, in that order.
  const counts = new Int32Array(states.length);
  let distinct = 0;
  for (const state of states) {
    if (!(state >= 0 && state <= distinct))
      throw new RangeError(
        `binnedInformation: states must be numbered 0, 1, 2, … in the order rows first reach them (as binnedStates numbers them), got ${state} after ${distinct} distinct`,
      );
    counts[state]!++;
    if (state === distinct) distinct++;
  }
  const stateEntropy = entropyOfCounts(counts, distinct, states.length);
  return { inputInformation: stateEntropy, labelInformation: stateEntropy + entropyBits(labels) - entropyBits(joint) };
}

/** The smallest and largest of the values (0, 0 for none). */
export function rangeOf(values: ArrayLike<number>): BinRange {
  let low = Infinity;
  let high = -Infinity;
  for (let i = 0; i < values.length; i++) {
    low = Math.min(low, values[i]!);
    high = Math.max(high, values[i]!);
  }
  return values.length ? { low, high } : { low: 0, high: 0 };
}
