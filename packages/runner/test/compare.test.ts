import { describe, expect, it } from 'vitest';
import { compareResults, describeTolerance, memoryHost, type Result, runExperiment } from '@axiom/runner/host';
import { type HeadlineMetric, type JsonObject } from '@axiom/runner';
import { request } from './tiny-experiment.js';

const headline: HeadlineMetric[] = [
  { metric: 'byLevel.*.testAccuracy', tolerance: { absolute: 0.01, relative: 0 } },
  { metric: 'verdict', tolerance: { absolute: 0, relative: 0 } },
];

/** A real result, its metrics replaced by a headline table, as another backend might report it. */
function withMetrics(result: Result, metrics: JsonObject, digest: string): Result {
  return { ...result, metrics, digest, backend: { ...result.backend, name: digest === result.digest ? result.backend.name : 'cpu' } };
}

describe('comparing results by their declared headline metrics', async () => {
  const { result } = await runExperiment(request(memoryHost()));
  const original = withMetrics(
    result,
    { byLevel: { '0': { testAccuracy: 0.9, peak: 0.95 }, '0.4': { testAccuracy: 0.6, peak: 0.7 } }, verdict: true },
    result.digest,
  );

  it('checks every key of a table against its tolerance, and ignores what is not headline', () => {
    const close = withMetrics(
      result,
      { byLevel: { '0': { testAccuracy: 0.905, peak: 0.5 }, '0.4': { testAccuracy: 0.6, peak: 0.1 } }, verdict: true },
      'f'.repeat(64),
    );
    expect(compareResults(original, close, headline)).toMatchObject({ identicalDigest: false, withinTolerance: true, differences: [] });
    // Against one tolerance for every value, the same results disagree (on `peak`, and on every unit's values they share).
    expect(compareResults(original, close, { absolute: 0.01, relative: 0 }).differences.map((d) => d.path)).toContain('metrics.byLevel.0.peak');
  });

  it('names a headline value outside its tolerance, a flipped verdict and a missing table key', () => {
    const apart = withMetrics(result, { byLevel: { '0': { testAccuracy: 0.85 } }, verdict: false }, 'f'.repeat(64));
    const comparison = compareResults(original, apart, headline);
    expect(comparison.withinTolerance).toBe(false);
    expect(comparison.differences.map((d) => [d.path, d.expected, d.actual])).toEqual([
      ['metrics.byLevel.0.testAccuracy', 0.9, 0.85],
      ['metrics.byLevel.0.4.testAccuracy', 0.6, undefined],
      ['metrics.verdict', true, false],
    ]);
    expect(describeTolerance(headline)).toBe('headline metrics must agree: byLevel.*.testAccuracy within 0.01 + 0·|value|; verdict within 0 + 0·|value|');
  });
});
