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
 * Each row's binned state as a dense integer (equal rows, equal states): `activations` is row-major
 * [rows, units]. States are numbered unit by unit, so no code grows past the number of rows.
 */
export function binnedStates(activations: ArrayLike<number>, rows: number, units: number, range: BinRange, bins: number): Int32Array {
  const states = new Int32Array(rows);
  for (let unit = 0; unit < units; unit++) {
    const next = new Map<number, number>();
    for (let row = 0; row < rows; row++) {
      const key = states[row]! * bins + binOf(activations[row * units + unit]!, range, bins);
      let state = next.get(key);
      if (state === undefined) next.set(key, (state = next.size));
      states[row] = state;
    }
  }
  return states;
}

/** Entropy in bits of the empirical distribution of the given symbols (each row equally likely). */
export function entropyBits(symbols: ArrayLike<number>): number {
  const counts = new Map<number, number>();
  for (let i = 0; i < symbols.length; i++) counts.set(symbols[i]!, (counts.get(symbols[i]!) ?? 0) + 1);
  let entropy = 0;
  for (const count of counts.values()) {
    const p = count / symbols.length;
    entropy -= p * Math.log2(p);
  }
  return entropy;
}

/** I(X;T) and I(T;Y) in bits for a layer's binned states over inputs X (uniform) with labels Y (classes 0…k−1). */
export function binnedInformation(states: Int32Array, labels: ArrayLike<number>, classes: number): { inputInformation: number; labelInformation: number } {
  const joint = Int32Array.from(states, (state, row) => state * classes + labels[row]!);
  const stateEntropy = entropyBits(states);
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
