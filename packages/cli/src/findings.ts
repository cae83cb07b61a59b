import type { Findings, KeyedFinding } from '@axiom/runner';
import { builtinExperiments } from '@axiom/experiments';
import type { ConfigurationGroup } from './result-set.js';
import { formatEstimate, type Summary } from './statistics.js';

/** The experiment's declared findings (built-in experiments declare them; a script's are not trusted to run here). */
export const findingsOf = (experiment: string): Findings | undefined => builtinExperiments.get(experiment)?.findings;

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

/** The group's headline finding in a line or two, from the metric summaries across seeds. */
export function findingLines(group: ConfigurationGroup, summaries: ReadonlyMap<string, Summary>): string[] {
  const view = findingsOf(group.experiment);
  if (!view) return [];
  const lines: string[] = [];
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
