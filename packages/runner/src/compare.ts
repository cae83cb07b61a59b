import type { HeadlineMetric } from './experiment.js';
import type { JsonValue } from './json.js';
import type { Result } from './schemas.js';

/** Two numbers agree when |a − b| ≤ absolute + relative·|b|. Zero tolerance means bit-identical. */
export interface Tolerance {
  absolute: number;
  relative: number;
}

export const BIT_IDENTICAL: Tolerance = { absolute: 0, relative: 0 };

export interface ValueDifference {
  /** Where, as a JSON path: `units[2].metrics.finalTestAccuracy`. */
  path: string;
  expected: JsonValue | undefined;
  actual: JsonValue | undefined;
  absolute?: number;
  relative?: number;
}

export interface Comparison {
  identicalDigest: boolean;
  /** Every value agrees within the tolerance (always true when the digests are identical). */
  withinTolerance: boolean;
  /** In document order: the first entry is where the two computations first part. */
  differences: ValueDifference[];
  maxAbsolute: number;
  maxRelative: number;
  /** Recorded facts that differ and may explain a difference: versions, backend. */
  provenance: string[];
}

function walk(expected: JsonValue | undefined, actual: JsonValue | undefined, path: string, out: ValueDifference[], tolerance: Tolerance): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    const absolute = Math.abs(actual - expected);
    if (absolute > tolerance.absolute + tolerance.relative * Math.abs(expected)) {
      out.push({ path, expected, actual, absolute, relative: expected === 0 ? Infinity : absolute / Math.abs(expected) });
    }
    return;
  }
  if (Array.isArray(expected) && Array.isArray(actual)) {
    if (expected.length !== actual.length) out.push({ path: `${path}.length`, expected: expected.length, actual: actual.length });
    for (let i = 0; i < Math.min(expected.length, actual.length); i++) walk(expected[i], actual[i], `${path}[${i}]`, out, tolerance);
    return;
  }
  const isObject = (v: unknown): v is Record<string, JsonValue> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObject(expected) && isObject(actual)) {
    for (const key of new Set([...Object.keys(expected), ...Object.keys(actual)]))
      walk(expected[key], actual[key], path ? `${path}.${key}` : key, out, tolerance);
    return;
  }
  if (JSON.stringify(expected) !== JSON.stringify(actual)) out.push({ path, expected, actual });
}

const fieldsOf = (value: JsonValue | undefined) => (typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined);

/** The value at a path of keys, if there is one. */
export function valueAt(metrics: JsonValue | undefined, path: readonly string[]): JsonValue | undefined {
  return path.reduce<JsonValue | undefined>((value, key) => fieldsOf(value)?.[key], metrics);
}

/** Every path of keys a headline pattern (`byLevel.*.testAccuracy`, `*`: every key of a table) names in the metrics. */
export function headlinePaths(pattern: string, metrics: JsonValue): string[][] {
  let paths: string[][] = [[]];
  for (const segment of pattern.split('.')) {
    paths = paths.flatMap((path) => (segment === '*' ? Object.keys(fieldsOf(valueAt(metrics, path)) ?? {}) : [segment]).map((key) => [...path, key]));
  }
  return paths;
}

/**
 * Compares what two runs computed and the provenance that could explain a difference. With one
 * tolerance, every value (`metrics` and `units`) must agree within it; with an experiment's headline
 * metrics, those values must, each within its own tolerance.
 */
export function compareResults(expected: Result, actual: Result, tolerance: Tolerance | readonly HeadlineMetric[] = BIT_IDENTICAL): Comparison {
  const differences: ValueDifference[] = [];
  if (expected.digest !== actual.digest) {
    if (Array.isArray(tolerance)) {
      for (const headline of tolerance as readonly HeadlineMetric[]) {
        // The paths either run recorded: a table key only one of them has is a difference too.
        const paths = new Map(
          [expected, actual].flatMap((result) => headlinePaths(headline.metric, result.metrics)).map((path) => [JSON.stringify(path), path]),
        );
        for (const path of paths.values())
          walk(valueAt(expected.metrics, path), valueAt(actual.metrics, path), ['metrics', ...path].join('.'), differences, headline.tolerance);
      }
    } else {
      walk({ metrics: expected.metrics, units: expected.units }, { metrics: actual.metrics, units: actual.units }, '', differences, tolerance as Tolerance);
    }
  }
  const finite = (values: Array<number | undefined>) => values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  const provenance: string[] = [];
  const facts: Array<[string, string | undefined, string | undefined]> = [
    ['experiment version', expected.experiment.version, actual.experiment.version],
    ['script sha256', expected.experiment.script?.sha256, actual.experiment.script?.sha256],
    ['backend', expected.backend.name, actual.backend.name],
    ['tfjs version', expected.backend.tfjsVersion, actual.backend.tfjsVersion],
    ['backend patches', expected.backend.patches.join(', '), actual.backend.patches.join(', ')],
    ['worker version', expected.worker.version, actual.worker.version],
    ['status', expected.status, actual.status],
  ];
  for (const [name, was, now] of facts) if (was !== now) provenance.push(`${name}: ${was ?? '(none)'} → ${now ?? '(none)'}`);
  return {
    identicalDigest: expected.digest === actual.digest,
    withinTolerance: differences.length === 0,
    differences,
    maxAbsolute: Math.max(0, ...finite(differences.map((d) => d.absolute))),
    maxRelative: Math.max(0, ...finite(differences.map((d) => d.relative))),
    provenance,
  };
}

/** What must agree, in words: every value within one tolerance, or each headline metric within its own. */
export function describeTolerance(tolerance: Tolerance | readonly HeadlineMetric[]): string {
  const within = ({ absolute, relative }: Tolerance) => `within ${absolute} + ${relative}·|value|`;
  if (!Array.isArray(tolerance)) return `values must agree ${within(tolerance as Tolerance)}`;
  return `headline metrics must agree: ${(tolerance as readonly HeadlineMetric[]).map((headline) => `${headline.metric} ${within(headline.tolerance)}`).join('; ')}`;
}

/** A readable account for a terminal or CI log. */
export function describeComparison(comparison: Comparison, limit = 10): string {
  if (comparison.identicalDigest) return 'identical: the digests match, the computation is bit-identical';
  const lines = [
    comparison.withinTolerance
      ? 'digests differ, but every value compared agrees within its tolerance'
      : `${comparison.differences.length} value(s) differ; max absolute difference ${comparison.maxAbsolute.toPrecision(3)}, max relative ${comparison.maxRelative.toPrecision(3)}`,
  ];
  for (const d of comparison.differences.slice(0, limit)) {
    const delta = d.absolute === undefined ? '' : ` (Δ ${d.absolute.toPrecision(3)})`;
    lines.push(`  ${d.path}: expected ${JSON.stringify(d.expected)}, got ${JSON.stringify(d.actual)}${delta}`);
  }
  if (comparison.differences.length > limit) lines.push(`  … and ${comparison.differences.length - limit} more`);
  if (comparison.provenance.length) lines.push('provenance that changed:', ...comparison.provenance.map((p) => `  ${p}`));
  return lines.join('\n');
}
