import { linearRegression, min, rSquared } from 'simple-statistics';

/** L ≈ a·x^(−alpha) + c, fitted to `points` ([x, L] pairs, the ones the fit used); r2 is measured on log L. */
export type PowerLawFit = {
  a: number;
  alpha: number;
  c: number;
  r2: number;
  points: Array<[number, number]>;
};

/** Points a log–log fit can use: positive, finite x and L. */
function usable(points: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
  return points.filter(([x, loss]) => x > 0 && loss > 0 && Number.isFinite(x) && Number.isFinite(loss)).map(([x, loss]) => [x, loss]);
}

/** Fits log(L − c) = log a − alpha·log x by least squares; R² is that of log L against log(a·x^(−alpha) + c). */
function fitWithOffset(points: Array<[number, number]>, c: number): PowerLawFit {
  const line = linearRegression(points.map(([x, loss]) => [Math.log(x), Math.log(loss - c)]));
  const a = Math.exp(line.b);
  const alpha = -line.m;
  const r2 = rSquared(
    points.map(([x, loss]) => [Math.log(x), Math.log(loss)]),
    (logX) => Math.log(a * Math.exp(-alpha * logX) + c),
  );
  return { a, alpha, c, r2, points };
}

/** L = a·x^(−alpha) on log–log (Hestness et al. 2017; Kaplan et al. 2020); null with fewer than 3 usable points. */
export function fitPowerLaw(points: ReadonlyArray<readonly [number, number]>): PowerLawFit | null {
  const used = usable(points);
  return used.length < 3 ? null : fitWithOffset(used, 0);
}

/**
 * L = a·x^(−alpha) + c, where c is the loss no amount of x removes (Rosenfeld et al. 2020). c is chosen
 * on a grid of `gridSize` values in [0, min L) by the best R² of log L: one objective for every c, so
 * the values compare, and c = 0 is on the grid, so this never fits worse than `fitPowerLaw`.
 */
export function fitPowerLawWithOffset(points: ReadonlyArray<readonly [number, number]>, gridSize = 200): PowerLawFit | null {
  const used = usable(points);
  if (used.length < 4) return null; // three parameters: at least one point more
  const lowest = min(used.map(([, loss]) => loss));
  let best = fitWithOffset(used, 0);
  for (let step = 1; step < gridSize; step++) {
    const fit = fitWithOffset(used, (lowest * step) / gridSize);
    if (fit.r2 > best.r2) best = fit;
  }
  return best;
}
