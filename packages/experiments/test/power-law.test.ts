import { describe, expect, it } from 'vitest';
import { fitPowerLaw, fitPowerLawWithOffset } from '@axiom/experiments';

const xs = [10, 30, 100, 300, 1000, 3000, 10000];
const law = (a: number, alpha: number, c = 0) => xs.map((x): [number, number] => [x, a * x ** -alpha + c]);

describe('power-law fits', () => {
  it('recover an exact power law L = a·x^(−α) with R² = 1, reporting the points used', () => {
    const fit = fitPowerLaw(law(3, 0.7))!;
    expect(fit.a).toBeCloseTo(3, 9);
    expect(fit.alpha).toBeCloseTo(0.7, 9);
    expect(fit.c).toBe(0);
    expect(fit.r2).toBeCloseTo(1, 12);
    expect(fit.points).toEqual(law(3, 0.7));
  });

  it('leave out points a log–log fit cannot use, and need at least three', () => {
    const fit = fitPowerLaw([...law(2, 0.5), [50, 0], [70, Number.NaN], [0, 1]])!;
    expect(fit.points).toHaveLength(xs.length);
    expect(fit.alpha).toBeCloseTo(0.5, 9);
    expect(fitPowerLaw(law(2, 0.5).slice(0, 2))).toBeNull();
    expect(fitPowerLawWithOffset(law(2, 0.5).slice(0, 3))).toBeNull();
  });

  it('with an offset, find the floor c of L = a·x^(−α) + c and fit better than without', () => {
    const points = law(2, 0.5, 0.05);
    const withOffset = fitPowerLawWithOffset(points)!;
    const without = fitPowerLaw(points)!;
    expect(withOffset.c).toBeCloseTo(0.05, 3);
    expect(withOffset.alpha).toBeCloseTo(0.5, 1);
    expect(withOffset.r2).toBeGreaterThan(0.9999);
    expect(without.r2).toBeLessThan(withOffset.r2);
    expect(without.alpha).toBeLessThan(0.5); // the floor flattens a pure power law
  });

  it('with an offset, keep c = 0 for an exact power law', () => {
    const fit = fitPowerLawWithOffset(law(3, 0.7))!;
    expect(fit.c).toBe(0);
    expect(fit.alpha).toBeCloseTo(0.7, 9);
  });
});
