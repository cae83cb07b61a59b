import type { ControlledFinding, Findings, JsonValue, KeyedFinding } from '@axiom/runner';
import { builtinExperiments } from '@axiom/experiments';
import type { ConfigurationGroup } from './result-set.js';
import { formatEstimate, summarize, type Summary } from './statistics.js';

/** The experiment's declared findings (built-in experiments declare them; a script's are not trusted to run here). */
export const findingsOf = (experiment: string): Findings | undefined => builtinExperiments.get(experiment)?.findings;

/** `testAccuracy` → `test accuracy`. */
const words = (key: string) => key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();

/**
 * A metric's path as a name for people: `byLevel.0.2.testAccuracy` → "corruption 0.2 · test accuracy"
 * (a `byX` table's key after its label, the finding's own labels where it declares them).
 */
export function metricName(path: readonly string[], findings: Findings | undefined): string {
  const parts: string[] = [];
  for (let i = 0; i < path.length; i++) {
    const key = path[i]!;
    const tableKey = path[i + 1];
    if (/^by[A-Z]/.test(key) && tableKey !== undefined && i + 2 < path.length) {
      parts.push(`${findings?.keyed?.table === key ? findings.keyed.keyLabel : words(key.slice(2))} ${tableKey}`);
      i++;
      continue;
    }
    const keyedLabel = findings?.keyed && path[0] === findings.keyed.table ? findings.keyed.fields[key] : undefined;
    const scalar = findings?.scalars?.find((candidate) => key in candidate.fields);
    parts.push(keyedLabel ?? (scalar ? `${scalar.label} ${scalar.fields[key]}` : words(key)));
  }
  return parts.join(' · ');
}

/** `metrics[table][key][field]` as a metric path, the form analyze summarises. */
export const keyedMetric = (finding: KeyedFinding, key: string, field: string) => `${finding.table}.${key}.${field}`;

/** The table's keys across the replicates, in recorded order, numerically sorted when every key is a number. */
export function keyedTableKeys(group: ConfigurationGroup, finding: KeyedFinding): string[] {
  const keys = new Set<string>();
  for (const { result } of group.replicates) {
    const table = result.metrics[finding.table];
    if (table && typeof table === 'object' && !Array.isArray(table)) Object.keys(table).forEach((key) => keys.add(key));
  }
  const ordered = [...keys];
  return ordered.every((key) => Number.isFinite(Number(key))) ? ordered.sort((a, b) => Number(a) - Number(b)) : ordered;
}

/** Every numeric leaf of a result's metrics by its path, e.g. `byLevel.0.2.testAccuracy` (array items by index). */
export function numericLeaves(value: JsonValue, path = ''): Array<[string, number]> {
  if (typeof value === 'number') return [[path, value]];
  if (value === null || typeof value !== 'object') return [];
  const entries = Array.isArray(value) ? value.map((item, index) => [String(index), item] as const) : Object.entries(value);
  return entries.flatMap(([key, inner]) => numericLeaves(inner, path ? `${path}.${key}` : key));
}

/**
 * "claim: measure vs control (label); difference", each across seeds, the difference paired by seed
 * (the replicates where both were recorded); undefined where the measure was never recorded.
 */
function controlledLine(group: ConfigurationGroup, controlled: ControlledFinding, summaries: ReadonlyMap<string, Summary>): string | undefined {
  const measure = summaries.get(controlled.measure);
  if (!measure) return undefined;
  const differences = group.replicates.flatMap(({ result }) => {
    const leaves = new Map(numericLeaves(result.metrics));
    const [value, control] = [leaves.get(controlled.measure), leaves.get(controlled.control)];
    return value === undefined || control === undefined ? [] : [value - control];
  });
  const difference = differences.length ? `; difference ${formatEstimate(summarize(differences))}` : '';
  return `${controlled.claim}: ${formatEstimate(measure)} vs ${formatEstimate(summaries.get(controlled.control))} ${controlled.controlLabel}${difference}`;
}

/** The group's headline finding in a line or two, from the metric summaries across seeds. */
export function findingLines(group: ConfigurationGroup, summaries: ReadonlyMap<string, Summary>): string[] {
  const view = findingsOf(group.experiment);
  if (!view) return [];
  const lines = (view.controls ?? []).flatMap((controlled) => controlledLine(group, controlled, summaries) ?? []);
  for (const [verdict, sentence] of Object.entries(view.verdicts ?? {})) {
    const recorded = group.replicates.map(({ result }) => result.metrics[verdict]).filter((value) => typeof value === 'boolean');
    if (recorded.length) lines.push(`${sentence}: ${recorded.filter(Boolean).length} of ${recorded.length} seed(s)`);
  }
  const { keyed } = view;
  if (keyed) {
    const keys = keyedTableKeys(group, keyed);
    const columns = Object.entries(keyed.fields)
      .filter(([field]) => keys.some((key) => summaries.has(keyedMetric(keyed, key, field))))
      .map(([field, label]) => `${label} ${keys.map((key) => formatEstimate(summaries.get(keyedMetric(keyed, key, field)))).join(' / ')}`);
    if (columns.length) lines.push(`${keyed.keyLabel} ${keys.join(' / ')}: ${columns.join('; ')}`);
  }
  for (const scalar of view.scalars ?? []) {
    const present = Object.entries(scalar.fields).filter(([field]) => summaries.has(field));
    if (present.length) lines.push(`${scalar.label}: ${present.map(([field, label]) => `${label} ${formatEstimate(summaries.get(field))}`).join(', ')}`);
  }
  return lines;
}
