import type { CurveAxis, KeyedFinding, ScalingSweep } from '@axiom/runner';
import { fitPowerLaw } from '@axiom/experiments';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { MetricSummary } from './analyze.js';
import { findingsOf, keyedMetric, keyedTableKeys } from './findings.js';
import type { ConfigurationGroup } from './result-set.js';
import { formatNumber, summarize } from './statistics.js';

export type ChartKind = 'learning-curves' | 'scaling' | 'keyed';

export interface Chart {
  kind: ChartKind;
  title: string;
  caption: string;
  spec: TopLevelSpec;
}

/** Compiles Vega-Lite to Vega and renders it headless to an SVG string (no browser, no network). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const PANEL = { width: 260, height: 170 };
/** Long unit keys and series names must stay readable in legends. */
const CHART_CONFIG = { legend: { labelLimit: 360 } };

/**
 * Curves also hold per-example records (e.g. the epoch each example was first fit); a learning curve is an
 * accuracy or loss at each epoch, or at each position of the experiment's declared curve axis.
 */
const LEARNING_CURVE_NAME = /accuracy|loss/i;

/** A layer's rows: data sets mix each seed's points with summaries and fitted lines, told apart by `kind`. */
const only = (kind: string) => [{ filter: `datum.kind === '${kind}'` }];

/**
 * Beyond this many units a legend cannot name them, and a sort order naming thousands (optimizer-comparison's 2784)
 * overflowed Vega's expression compiler: past it, each unit is one thin uncoloured line.
 */
const MAX_NAMED_UNITS = 40;

const isNumberArray = (value: unknown): value is number[] => Array.isArray(value) && value.every((item) => typeof item === 'number');

/**
 * Per curve and unit, mean ± sd across seeds at each point: one an epoch (epochs a seed did not reach,
 * e.g. after early stopping, are left out), or where the experiment declares a curve axis, at its positions.
 */
function learningCurves(group: ConfigurationGroup, axis: CurveAxis | undefined): Chart | undefined {
  const valuesBySeries = new Map<string, { curve: string; unit: string; positions: number[] | undefined; byPoint: number[][] }>();
  for (const { result } of group.replicates) {
    for (const unit of result.units) {
      const declared = axis && unit.curves[axis.curve];
      // Undefined: epochs 1, 2, …; a unit without the declared axis curve has no positions to plot at.
      const positions = axis ? (isNumberArray(declared) ? declared : []) : undefined;
      for (const [curve, values] of Object.entries(unit.curves)) {
        if (curve === axis?.curve || !LEARNING_CURVE_NAME.test(curve) || !isNumberArray(values)) continue;
        const id = JSON.stringify([curve, unit.key]);
        const series = valuesBySeries.get(id) ?? { curve, unit: unit.key, positions, byPoint: [] };
        valuesBySeries.set(id, series);
        values.forEach((value, point) => (series.byPoint[point] ??= []).push(value));
      }
    }
  }
  if (valuesBySeries.size === 0) return undefined;
  const units = [...new Set([...valuesBySeries.values()].map((series) => series.unit))];
  const named = units.length <= MAX_NAMED_UNITS;
  // Unnamed lines need no band and no key: a unit's index keeps the embedded data small (2784 units: 14 → 6 MB).
  const unitIndex = new Map(units.map((unit, index) => [unit, index]));
  const rows = [...valuesBySeries.values()].flatMap(({ curve, unit, positions, byPoint }) =>
    byPoint.flatMap((values, index) => {
      const position = positions ? positions[index] : index + 1;
      if (position === undefined) return [];
      const { mean, sd } = summarize(values);
      return [named ? { curve, unit, position, mean, low: mean - (sd ?? 0), high: mean + (sd ?? 0) } : { curve, unit: unitIndex.get(unit)!, position, mean }];
    }),
  );
  const xTitle = axis?.label ?? 'epoch';
  const x = { field: 'position', type: 'quantitative', title: xTitle } as const;
  const y = { field: 'mean', type: 'quantitative', title: null } as const;
  const color = { field: 'unit', type: 'nominal', title: 'unit', sort: units } as const;
  const mean = `Mean across ${group.replicates.length} seed(s) at each ${xTitle}`;
  return {
    kind: 'learning-curves',
    title: axis ? `Curves against ${axis.label}` : 'Learning curves',
    caption: named
      ? `${mean}; the band is ± one standard deviation across seeds.`
      : `${mean}: ${units.length} units, too many to name or to band, so one thin line each (the sweep's spread).`,
    spec: {
      data: { values: rows },
      facet: { field: 'curve', type: 'nominal', title: null },
      columns: 3,
      spec: {
        ...PANEL,
        layer: named
          ? [
              { mark: { type: 'area', opacity: 0.2 }, encoding: { x, y: { field: 'low', type: 'quantitative', title: null }, y2: { field: 'high' }, color } },
              { mark: { type: 'line', strokeWidth: 1.5 }, encoding: { x, y, color } },
            ]
          : [{ mark: { type: 'line', strokeWidth: 0.5, opacity: 0.3 }, encoding: { x, y, detail: { field: 'unit', type: 'nominal' } } }],
      },
      resolve: { scale: { y: 'independent' } },
    },
  };
}

const FIT_LINE_POINTS = 40;

/** Loss against size on log–log axes: every seed's points, their mean, and the power law fitted to all of them. */
function scalingFits(group: ConfigurationGroup, loss: string, sweeps: readonly ScalingSweep[]): Chart | undefined {
  const panels: string[] = [];
  const rows = sweeps.flatMap((sweep) => {
    const points = group.replicates.flatMap(({ result }) =>
      result.units
        .filter((unit) => unit.config.sweep === sweep.sweep)
        .map((unit) => ({ seed: result.seed.value, size: sweep.size(unit), loss: unit.metrics[loss] }))
        .filter((point): point is { seed: number; size: number; loss: number } => typeof point.size === 'number' && typeof point.loss === 'number'),
    );
    const fit = fitPowerLaw(points.map((point) => [point.size, point.loss]));
    if (!fit) return [];
    const panel = `${sweep.label}: L ∝ x^${formatNumber(-fit.alpha)}, R² ${formatNumber(fit.r2)}`;
    panels.push(panel);
    const sizes = [...new Set(points.map((point) => point.size))].sort((a, b) => a - b);
    const means = sizes.map((size) => ({
      panel,
      kind: 'mean',
      size,
      loss: summarize(points.filter((point) => point.size === size).map((point) => point.loss)).mean,
    }));
    const [smallest, largest] = [sizes[0]!, sizes.at(-1)!];
    const line = Array.from({ length: FIT_LINE_POINTS }, (_, i) => {
      const size = smallest * (largest / smallest) ** (i / (FIT_LINE_POINTS - 1));
      return { panel, kind: 'fit', size, loss: fit.a * size ** -fit.alpha };
    });
    return [...points.map((point) => ({ panel, kind: 'seed', ...point })), ...means, ...line];
  });
  if (rows.length === 0) return undefined;
  const logScale = { type: 'log', nice: false, padding: 12 } as const;
  const x = { field: 'size', type: 'quantitative', scale: logScale, title: 'size (log)' } as const;
  const y = { field: 'loss', type: 'quantitative', scale: logScale, title: `${loss} (log)` } as const;
  return {
    kind: 'scaling',
    title: 'Scaling fits (log–log)',
    caption: `Grey: each seed's ${loss} at the best validation step; black: their mean; line: L = a·x^(−α) fitted by least squares on log–log to all seeds' points.`,
    spec: {
      data: { values: rows },
      facet: { field: 'panel', type: 'nominal', title: null, sort: panels },
      spec: {
        ...PANEL,
        layer: [
          { transform: only('seed'), mark: { type: 'point', color: '#999', opacity: 0.6 }, encoding: { x, y } },
          { transform: only('mean'), mark: { type: 'point', filled: true, color: 'black', size: 50 }, encoding: { x, y } },
          { transform: only('fit'), mark: { type: 'line', color: '#d62728' }, encoding: { x, y } },
        ],
      },
      resolve: { scale: { x: 'independent', y: 'independent' } },
    },
  };
}

/** A headline table by its swept key: each seed's values, and the mean with its 95% CI. */
function keyedFinding(group: ConfigurationGroup, finding: KeyedFinding, summaries: ReadonlyMap<string, MetricSummary>): Chart | undefined {
  const keys = keyedTableKeys(group, finding);
  const numeric = finding.axis !== 'nominal';
  const position = (key: string) => (numeric ? Number(key) : key);
  const rows = Object.entries(finding.fields).flatMap(([field, label]) =>
    keys.flatMap((key) => {
      const summary = summaries.get(keyedMetric(finding, key, field));
      if (!summary) return [];
      const seeds = group.replicates.flatMap(({ result }) => {
        const value = (result.metrics[finding.table] as Record<string, Record<string, unknown>> | undefined)?.[key]?.[field];
        return typeof value === 'number' ? [{ kind: 'seed', key: position(key), series: label, value }] : [];
      });
      return [
        ...seeds,
        { kind: 'mean', key: position(key), series: label, value: summary.mean, low: summary.ci95?.[0] ?? null, high: summary.ci95?.[1] ?? null },
      ];
    }),
  );
  if (rows.length === 0) return undefined;
  const x =
    finding.axis === 'nominal'
      ? ({ field: 'key', type: 'nominal', title: finding.keyLabel, sort: keys, axis: { labelAngle: 0 } } as const)
      : ({
          field: 'key',
          type: 'quantitative',
          title: finding.keyLabel,
          scale: { type: finding.axis, nice: false, padding: 16, ...(finding.axis === 'log' ? { base: 2 } : {}) },
          axis: { values: keys.map(Number) },
        } as const);
  const xOffset = numeric ? {} : { xOffset: { field: 'series', type: 'nominal' } as const };
  const color = { field: 'series', type: 'nominal', title: null } as const;
  return {
    kind: 'keyed',
    title: finding.title,
    caption: `Small points: each seed; the larger marks: the mean across ${group.replicates.length} seed(s), with its 95% confidence interval (t-distribution).`,
    spec: {
      data: { values: rows },
      width: 420,
      height: 220,
      layer: [
        {
          transform: only('seed'),
          mark: { type: 'point', opacity: 0.45, size: 25 },
          encoding: { x, y: { field: 'value', type: 'quantitative', title: null }, color, ...xOffset },
        },
        {
          transform: [...only('mean'), { filter: 'datum.low !== null' }],
          mark: 'rule',
          encoding: { x, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' }, color, ...xOffset },
        },
        {
          transform: only('mean'),
          mark: numeric ? { type: 'line', point: { filled: true, size: 60 } } : { type: 'tick', thickness: 2 },
          encoding: { x, y: { field: 'value', type: 'quantitative' }, color, ...xOffset },
        },
      ],
    },
  };
}

/** The plots that apply to a configuration: learning curves always when recorded, and the experiment's own views. */
export function chartsFor(group: ConfigurationGroup, metrics: readonly MetricSummary[]): Chart[] {
  const view = findingsOf(group.experiment);
  const summaries = new Map(metrics.map((summary) => [summary.metric, summary]));
  return [
    learningCurves(group, view?.curveAxis),
    view?.scaling && scalingFits(group, view.scaling.loss, view.scaling.sweeps),
    view?.keyed && keyedFinding(group, view.keyed, summaries),
  ]
    .filter((chart): chart is Chart => chart !== undefined)
    .map((chart) => ({ ...chart, spec: { ...chart.spec, config: CHART_CONFIG } }));
}
