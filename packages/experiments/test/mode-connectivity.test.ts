import { describe, expect, it } from 'vitest';
import { barrierHeight, pathPositions } from '../src/mode-connectivity.js';
import { runSmoke } from './helpers.js';

describe('barrier height', () => {
  it('is the largest rise of the loss above the chord between its end values', () => {
    const t = pathPositions(5);
    expect(t).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(barrierHeight(t, [1, 2, 3, 2, 1])).toBe(2);
    // The chord runs from 1 to 3: at t = 0.5 it is 2, so a loss of 4 there rises 2 above it.
    expect(barrierHeight(t, [1, 1.5, 4, 2.5, 3])).toBe(2);
  });

  it('is zero when the loss never rises above the chord, negative for a valley', () => {
    const t = pathPositions(3);
    expect(barrierHeight(t, [1, 1.5, 2])).toBe(0);
    expect(barrierHeight(t, [2, 0.5, 2])).toBe(0); // the end points themselves lie on the chord
  });
});

describe('mode-connectivity', () => {
  it('finds a barrier on the straight line and a much lower one on the trained curve', async () => {
    const result = await runSmoke('mode-connectivity');
    const byWidth = result.metrics.byWidth as Record<
      string,
      { linearBarrier: number; curveBarrier: number; linearMiddleTestAccuracy: number; curveMiddleTestAccuracy: number }
    >;
    for (const [width, { linearBarrier, curveBarrier, linearMiddleTestAccuracy, curveMiddleTestAccuracy }] of Object.entries(byWidth)) {
      // Two independently trained networks: the loss halfway along the line is far above their own.
      expect(linearBarrier, `width ${width}`).toBeGreaterThan(0.4);
      // The curve's middle point was trained: its barrier is well under half the line's, and halfway
      // along it the network still classifies, where halfway along the line it does not.
      expect(curveBarrier, `width ${width}`).toBeLessThan(0.5 * linearBarrier);
      expect(curveMiddleTestAccuracy - linearMiddleTestAccuracy, `width ${width}`).toBeGreaterThan(0.1);
    }
    expect(result.metrics).toMatchObject({ curveBelowLineAtEveryWidth: true });

    // Both profiles hold every point of t; they share their end points (the two trained networks).
    const unit = result.units[0]!;
    const { t, lineTrainLoss, curveTrainLoss } = unit.curves as Record<string, number[]>;
    expect(t).toEqual(pathPositions(5));
    expect(lineTrainLoss).toHaveLength(5);
    expect(curveTrainLoss![0]).toBeCloseTo(lineTrainLoss![0]!, 5);
    expect(curveTrainLoss!.at(-1)).toBeCloseTo(lineTrainLoss!.at(-1)!, 5);
  });
});
