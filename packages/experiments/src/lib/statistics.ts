import { mean, sampleStandardDeviation } from 'simple-statistics';

/**
 * Two-sided 95% critical values of Student's t for 1..30 degrees of freedom (standard table; matches
 * scipy.stats.t.ppf(0.975, df) to 4 decimals). simple-statistics has no t quantile function.
 */
const T_975_BY_DEGREES_OF_FREEDOM = [
  12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.306, 2.2622, 2.2281, 2.201, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.093, 2.086,
  2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
];

/** The standard normal 97.5% quantile. (simple-statistics' probit(0.975) gives 1.9572: too coarse here.) */
const Z_975 = 1.959963984540054;

/**
 * t(0.975, df): the table up to 30, beyond it the Cornish–Fisher expansion around the normal quantile,
 * which is within 1e-4 of the exact value there.
 */
export function tCritical95(degreesOfFreedom: number): number {
  if (!Number.isInteger(degreesOfFreedom) || degreesOfFreedom < 1)
    throw new RangeError(`degrees of freedom must be a positive integer, got ${degreesOfFreedom}`);
  const tabled = T_975_BY_DEGREES_OF_FREEDOM[degreesOfFreedom - 1];
  if (tabled !== undefined) return tabled;
  const z = Z_975;
  const v = degreesOfFreedom;
  const g1 = (z ** 3 + z) / 4;
  const g2 = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96;
  const g3 = (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384;
  return z + g1 / v + g2 / v ** 2 + g3 / v ** 3;
}

export interface Summary {
  /** Independent observations (distinct seeds). */
  n: number;
  mean: number;
  /** Sample standard deviation; null for a single observation. */
  sd: number | null;
  /** 95% confidence interval of the mean (t-distribution); null for a single observation. */
  ci95: [number, number] | null;
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new RangeError('cannot summarize no values');
  const average = mean(values);
  if (values.length < 2) return { n: values.length, mean: average, sd: null, ci95: null };
  const sd = sampleStandardDeviation(values);
  const halfWidth = (tCritical95(values.length - 1) * sd) / Math.sqrt(values.length);
  return { n: values.length, mean: average, sd, ci95: [average - halfWidth, average + halfWidth] };
}
