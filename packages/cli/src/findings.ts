import type { JsonValue, UnitResult } from '@axiom/runner';
import type { ConfigurationGroup } from './result-set.js';
import { formatEstimate, type Summary } from './statistics.js';

/**
 * What each built-in experiment's headline finding is, in terms of the metrics it records. Analyze
 * turns these into one or two lines, the report into plots. Metrics an experiment does not (yet)
 * record are left out, not guessed.
 */

/** A headline table keyed by a swept value: `metrics[table][key][field]`, e.g. `byLevel["0.4"].cleanFirstRate`. */
export interface KeyedFinding {
  table: string;
  keyLabel: string;
  /** Field name → label. */
  fields: Record<string, string>;
  axis: 'linear' | 'log' | 'nominal';
  title: string;
}

/** Headline scalars read together, e.g. a scaling exponent and the R² of its fit. */
export interface ScalarFinding {
  label: string;
  fields: Record<string, string>;
}

/** Units of one sweep: their `loss` metric against a size, for a power-law fit on log–log axes. */
export interface ScalingSweep {
  sweep: string;
  label: string;
  size(unit: UnitResult): JsonValue | undefined;
}

export interface ExperimentView {
  keyed?: KeyedFinding;
  scalars?: ScalarFinding[];
  scaling?: { loss: string; sweeps: ScalingSweep[] };
}

export const experimentViews: ReadonlyMap<string, ExperimentView> = new Map<string, ExperimentView>([
  [
    'memorization-dynamics',
    {
      keyed: {
        table: 'byLevel',
        keyLabel: 'corruption',
        fields: { cleanFirstRate: 'clean-first rate', testAccuracy: 'test accuracy' },
        axis: 'linear',
        title: 'Clean-first rate and test accuracy vs label corruption',
      },
    },
  ],
  [
    'micro-scaling-laws',
    {
      scalars: [
        { label: 'data scaling', fields: { dataExponent: 'exponent', dataScalingR2: 'R²' } },
        { label: 'parameter scaling', fields: { parameterExponent: 'exponent', parameterScalingR2: 'R²' } },
      ],
      scaling: {
        loss: 'testLoss',
        sweeps: [
          { sweep: 'data', label: 'training-set size', size: (unit) => unit.config.trainSize },
          { sweep: 'width', label: 'parameters', size: (unit) => unit.metrics.parameterCount },
        ],
      },
    },
  ],
  [
    'representation-alignment',
    {
      keyed: { table: 'byWidth', keyLabel: 'width', fields: { cka: 'CKA after training', ckaAtInit: 'CKA at initialisation' }, axis: 'log', title: 'Representation similarity (linear CKA) vs width' },
    },
  ],
  [
    'feature-competition',
    {
      keyed: { table: 'byWidth', keyLabel: 'width', fields: { meanGradientRatio: 'gradient ratio strong/weak' }, axis: 'log', title: 'Gradient ratio of the strong to the weak feature vs width' },
    },
  ],
  [
    'curriculum-learning',
    {
      keyed: {
        table: 'byOrdering',
        keyLabel: 'ordering',
        fields: { finalTestAccuracy: 'final test accuracy', shortBudgetTestAccuracy: 'short-budget test accuracy' },
        axis: 'nominal',
        title: 'Test accuracy by example order: curricula vs random',
      },
    },
  ],
]);

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
  const view = experimentViews.get(group.experiment);
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
