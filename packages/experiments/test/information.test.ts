import { describe, expect, it } from 'vitest';
import { binnedInformation, binnedStates, binOf, entropyBits, rangeOf } from '../src/lib/information.js';

describe('binned information', () => {
  it('puts values into equal-width bins over a range, values outside into the end bins', () => {
    const range = { low: -1, high: 1 };
    expect([-1, -0.51, -0.49, 0, 0.99, 1, 5, -5].map((value) => binOf(value, range, 4))).toEqual([0, 0, 1, 2, 3, 3, 3, 0]);
    expect(binOf(3, { low: 2, high: 2 }, 10)).toBe(0); // a range of zero width has one bin
  });

  it('numbers rows by their tuple of bins: equal tuples, equal states', () => {
    // Rows of 2 units; rows 0 and 2 fall in the same bins, row 1 differs in its second unit.
    const states = binnedStates([0.1, 0.1, 0.1, 0.9, 0.15, 0.12], 3, 2, { low: 0, high: 1 }, 2);
    expect(states[0]).toBe(states[2]);
    expect(states[1]).not.toBe(states[0]);
  });

  it('numbers states as renumbering after every unit would, also when keys must be renumbered on the way', () => {
    // The reference: after each unit, rows renumbered densely by (state so far, bin), in the order rows first reach them.
    const renumberedEachUnit = (values: Float64Array, rows: number, units: number, bins: number) => {
      let states = new Array<number>(rows).fill(0);
      for (let unit = 0; unit < units; unit++) {
        const ids = new Map<string, number>();
        states = states.map((state, row) => {
          const key = `${state}/${binOf(values[row * units + unit]!, { low: 0, high: 1 }, bins)}`;
          if (!ids.has(key)) ids.set(key, ids.size);
          return ids.get(key)!;
        });
      }
      return states;
    };
    let seed = 7;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (const [rows, units, bins] of [
      [500, 10, 10000], // renumbered several times on the way
      [300, 6, 3], // never
      [64, 12, 2],
    ] as const) {
      // Coarse values, so that rows share states.
      const values = Float64Array.from({ length: rows * units }, () => Math.floor(next() * 4) / 4);
      expect(Array.from(binnedStates(values, rows, units, { low: 0, high: 1 }, bins))).toEqual(renumberedEachUnit(values, rows, units, bins));
    }
  });

  it('measures entropy in bits', () => {
    expect(entropyBits([0, 1, 2, 3])).toBe(2);
    expect(entropyBits([5, 5, 5])).toBe(0);
    expect(entropyBits([0, 0, 1, 1])).toBe(1);
  });

  it('gives I(X;T) = H(T) and I(T;Y) = H(Y) − H(Y|T)', () => {
    const labels = [0, 0, 1, 1, 0, 1, 0, 1];
    const bits = (states: number[]) => {
      const { inputInformation, labelInformation } = binnedInformation(Int32Array.from(states), labels, 2);
      return [inputInformation, labelInformation].map((value) => Math.round(value * 1e12) / 1e12 + 0); // + 0: no −0
    };
    // Every row its own state: T identifies X, and so Y.
    expect(bits([0, 1, 2, 3, 4, 5, 6, 7])).toEqual([3, 1]);
    // One state: no information.
    expect(bits([0, 0, 0, 0, 0, 0, 0, 0])).toEqual([0, 0]);
    // Two states that are the label: one bit of each.
    expect(bits(labels)).toEqual([1, 1]);
    // Two states independent of the label: one bit about X, none about Y.
    expect(bits([0, 1, 0, 1, 0, 0, 1, 1])).toEqual([1, 0]);
    // States not numbered as binnedStates numbers them.
    expect(() => bits([1, 0, 0, 0, 0, 0, 0, 0])).toThrow(/in the order rows first reach them/);
  });

  it('finds the range of values', () => {
    expect(rangeOf([0.5, -2, 3])).toEqual({ low: -2, high: 3 });
    expect(rangeOf([])).toEqual({ low: 0, high: 0 });
  });
});
