import type { BenchWorkload, ExperimentContext, JsonObject, JsonValue, SweepUnit, TrainingSession, UnitContext, UnitOutput, UnitResult } from '@axiom/runner';
import { mean } from 'simple-statistics';
import { z } from 'zod';

type Axes = Record<string, readonly JsonValue[]>;
type GridPoint<A extends Axes> = { [K in keyof A]: A[K][number] };

/**
 * One sweep unit for every combination of the values on each axis, the first axis outermost; the
 * config holds one value per axis and the key names them in order, e.g. `width=32/replicate=0`.
 */
export function gridUnits<A extends Axes>(axes: A): Array<SweepUnit<GridPoint<A> & JsonObject>> {
  let points: JsonObject[] = [{}];
  for (const [axis, values] of Object.entries(axes)) points = points.flatMap((point) => values.map((value) => ({ ...point, [axis]: value })));
  return points.map((config) => ({
    key: Object.entries(config)
      .map(([axis, value]) => `${axis}=${typeof value === 'object' ? JSON.stringify(value) : String(value)}`)
      .join('/'),
    config: config as GridPoint<A> & JsonObject,
  }));
}

/** The metrics of the sweep units whose config has `field` equal to `value`, e.g. every replicate at one width. */
export function metricsWhere(results: readonly UnitResult[], field: string, value: JsonValue): JsonObject[] {
  return results.filter((result) => result.config[field] === value).map((result) => result.metrics);
}

/** The mean of the numbers among `values`, skipping nulls (undefined metrics); null if there are none. */
export function meanOfNumbers(values: readonly unknown[]): number | null {
  const numbers = values.filter((value): value is number => typeof value === 'number');
  return numbers.length ? mean(numbers) : null;
}

/** Element-wise `meanOfNumbers` of per-unit arrays of equal length (e.g. a metric per layer or per level). */
export function meanOfArrays(arrays: readonly unknown[], length: number): Array<number | null> {
  return Array.from({ length }, (_, i) => meanOfNumbers(arrays.map((array) => (array as unknown[])[i])));
}

/** `count` copies of `value`, e.g. the widths of `depth` equal hidden layers. */
export function repeat<T>(count: number, value: T): T[] {
  return Array.from({ length: count }, () => value);
}

/** Result JSON holds finite numbers only: a diverged loss or an undefined ratio is recorded as null. */
/** The stack key of sweeps that train every configuration of one width together. */
export const stackByWidth = ({ width }: { width: number }) => `width=${width}`;

/** Steps of `epochs` passes over `rows` examples in batches of `batchSize` (a pass's last batch may be short), for work estimates. */
export const epochSteps = (rows: number, batchSize: number, epochs: number) => Math.ceil(rows / batchSize) * epochs;

export function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

/** The `stacking` parameter every experiment has; recorded in the result's params, so a rerun stacks the same way. */
export const stackingParam = z
  .enum(['off', 'by-shape'])
  .default('by-shape')
  .describe(
    'by-shape: units whose networks share a shape train together as one stacked model (faster, same science up to float rounding); off: one unit at a time',
  );
export type Stacking = z.infer<typeof stackingParam>;

/** The bench workload of an experiment with `stacking` and a PyTorch counterpart: its first configuration is timed alone, stacking off. */
export const stackedBenchWorkload: BenchWorkload = { alone: { stacking: 'off' }, pytorch: true };

/**
 * Runs the sweep with `stacking`: units whose configs give one `shapeOf` key go to `runGroup`
 * together (with `off`, each alone). Also returns which unit keys share a stack, for the headline: the
 * runner may train a stack of more than half the declared work in parts (`stackParts`), which changes no
 * member's results, so the stacks are named whole and the digest does not depend on the split.
 */
export async function stackedSweep<C extends JsonObject>(
  ctx: ExperimentContext<{ stacking: Stacking }>,
  units: Array<SweepUnit<C>>,
  shapeOf: (config: C) => string,
  runGroup: (group: Array<UnitContext<C>>, session: TrainingSession) => Promise<UnitOutput[]>,
): Promise<{ results: UnitResult[]; stackedGroups: string[][] }> {
  const groupOf = (unit: SweepUnit<C>) => (ctx.params.stacking === 'off' ? unit.key : shapeOf(unit.config));
  // Which keys share a stack, for the headline: the grouping the sweep makes before any split (first unit's order).
  const groups = new Map<string, string[]>();
  for (const unit of units) {
    const keys = groups.get(groupOf(unit));
    if (keys) keys.push(unit.key);
    else groups.set(groupOf(unit), [unit.key]);
  }
  const results = await ctx.sweepGroups(units, groupOf, runGroup);
  return { results, stackedGroups: [...groups.values()] };
}
