import { summarize, tCritical95, type Summary } from '@axiom/experiments';

// Shared with the experiments, which report confidence intervals over their replicates.
export { summarize, tCritical95, type Summary };

/** Four significant digits, or an exponent for very small or large magnitudes; integers as they are. */
export function formatNumber(value: number): string {
  if (Number.isInteger(value)) return String(value);
  const magnitude = Math.abs(value);
  return magnitude < 1e-3 || magnitude >= 1e5 ? value.toExponential(3) : value.toPrecision(4);
}

const MAX_DECIMALS = 10;

/**
 * "mean ± half-width of the 95% CI", the half-width to two significant digits and the mean to the same
 * decimal place; the mean alone for one observation.
 */
export function formatEstimate(summary: Summary | undefined): string {
  if (!summary) return '–';
  if (!summary.ci95) return formatNumber(summary.mean);
  const halfWidth = (summary.ci95[1] - summary.ci95[0]) / 2;
  if (halfWidth === 0) return `${formatNumber(summary.mean)} ± 0`;
  const decimals = Math.min(MAX_DECIMALS, Math.max(0, 1 - Math.floor(Math.log10(halfWidth))));
  return `${summary.mean.toFixed(decimals)} ± ${halfWidth.toFixed(decimals)}`;
}
