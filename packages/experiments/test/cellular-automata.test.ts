import { describe, expect, it } from 'vitest';
import { applyRule, kStepTable } from '../src/cellular-automata.js';
import { runSmoke } from './helpers.js';

describe('elementary rules', () => {
  it('map each cell and its neighbours to bit 4l + 2c + r of the Wolfram code', () => {
    // Rule 90: the XOR of the two neighbours; rule 30: l XOR (c OR r); rule 204: the cell itself.
    expect(applyRule(90, [1, 1, 0, 1, 0])).toEqual([1, 0, 0]);
    expect(applyRule(30, [1, 0, 0, 1, 1])).toEqual([1, 1, 1]);
    expect(applyRule(30, [0, 0, 0, 1, 0])).toEqual([0, 1, 1]);
    expect(applyRule(204, [0, 1, 1, 0, 1])).toEqual([1, 1, 0]);
  });

  it('k steps: every window of 2k+1 cells as ±1 inputs, labelled with its centre k steps later', () => {
    const oneStep = kStepTable(110, 1);
    expect(oneStep).toMatchObject({ size: 8, inputDim: 3, classes: 2 });
    // Window i is the bits of i, leftmost most significant: the labels are the Wolfram code's bits.
    expect(Array.from(oneStep.y)).toEqual([0, 1, 1, 1, 0, 1, 1, 0]);
    expect(Array.from(oneStep.x.subarray(3 * 6, 3 * 7))).toEqual([1, 1, -1]);

    // Two steps of rule 90 are the XOR of the cells two to the left and two to the right.
    const twoSteps = kStepTable(90, 2);
    expect(twoSteps.size).toBe(32);
    twoSteps.y.forEach((label, window) => expect(label).toBe(((window >> 4) & 1) ^ (window & 1)));
    // The identity rule keeps the centre, whatever k.
    const identity = kStepTable(204, 3);
    identity.y.forEach((label, window) => expect(label).toBe((window >> 3) & 1));
  });
});

describe('cellular-automata', () => {
  it('learns one step of every rule exactly; four steps of rule 30 only when over-parameterised', async () => {
    const result = await runSmoke('cellular-automata');
    const fraction = result.metrics.fractionLearned as Record<string, Record<string, Record<string, number>>>;
    // One step: every rule, every width (the control).
    for (const rule of ['4', '30']) for (const width of ['8', '64']) expect(fraction[rule]!['1']![width], `rule ${rule}, width ${width}`).toBe(1);
    // Four steps: the simple rule is learned at every width; the chaotic one only by the wide networks.
    expect(fraction['4']!['4']!['8']).toBe(1);
    expect(fraction['30']!['4']!['8']).toBe(0);
    expect(fraction['30']!['4']!['64']).toBe(1);
    expect(result.metrics).toMatchObject({ everyRuleLearnedOneStep: true, harderBeyondOneStep: true, widerLearnsMore: true, complexRuleHarder: true });

    // A network counts as learned only once it gets every window right, and then it stops training.
    for (const unit of result.units) {
      const curve = unit.curves.windowAccuracy as number[];
      expect(unit.metrics.learned).toBe(curve.at(-1) === 1);
      expect(curve.slice(0, -1).every((value) => value < 1)).toBe(true);
      if (unit.metrics.learned) expect(unit.metrics.stepsToLearn).toBe(curve.length * 50);
    }
    // The k = 4 networks of rule 30 that failed trained the whole budget without getting every window.
    const narrowChaotic = result.units.filter((unit) => unit.config.rule === 30 && unit.config.k === 4 && unit.config.width === 8);
    for (const unit of narrowChaotic) expect((unit.curves.windowAccuracy as number[]).length).toBe(1500 / 50);
  }, 120_000);
});
