/**
 * `npm run bench -- --work-rates`: measures the two rates each experiment declares for the BOINC cost model
 * (`work.flopsPerSecond` and `work.secondsPerStep`): its smoke preset and its default sweep, each run on one
 * worker with one WASM thread as a BOINC task runs, timed in CPU seconds (the run's own, without Node's
 * start-up, which the model adds as a constant), then the model's seconds = FLOPs / rate + steps × overhead
 * fitted through both. The table says what each experiment declares beside what this machine measured, and
 * how far the declared rates' estimate lands from each measured run.
 */
import { median } from 'simple-statistics';
import type { Result } from '@axiom/runner/host';
import { builtinExperiments } from '@axiom/experiments';
import { modelledWork } from '@axiom/wrapper';
import { measureIn, repeatedRuns } from './measure-process.js';

/** One measured run: the model's FLOPs and sequential steps for it, and the CPU seconds it took. */
export interface WorkPoint {
  flops: number;
  steps: number;
  seconds: number;
}

/** No run computes model FLOPs faster than tfjs's WASM matMul on one thread (28 GFLOP/s here, docs/performance.md). */
export const FLOPS_CEILING = 2.8e10;

/**
 * The rates through the points (seconds = flops / flopsPerSecond + steps × secondsPerStep), by least squares on
 * relative error: with two points, the exact solution when it is physical. When it is not (a smoke run carries
 * more fixed cost per step than the sweep, which would make FLOPs free or negative), the FLOP rate is the
 * ceiling and the steps take the rest; when the steps would come out negative, the FLOPs take it all.
 */
export function fitWorkRates(points: readonly WorkPoint[]): { flopsPerSecond: number; secondsPerStep: number } {
  const sum = (term: (point: WorkPoint) => number) => points.reduce((total, point) => total + term(point) / point.seconds ** 2, 0);
  const [ff, ss, fs, ft, st] = [
    sum((p) => p.flops ** 2),
    sum((p) => p.steps ** 2),
    sum((p) => p.flops * p.steps),
    sum((p) => p.flops * p.seconds),
    sum((p) => p.steps * p.seconds),
  ];
  const determinant = ff * ss - fs * fs;
  const secondsPerFlop = (ft * ss - st * fs) / determinant;
  const secondsPerStep = (st * ff - ft * fs) / determinant;
  if (determinant > 0 && secondsPerStep >= 0 && secondsPerFlop >= 1 / FLOPS_CEILING) return { flopsPerSecond: 1 / secondsPerFlop, secondsPerStep };
  if (determinant > 0 && secondsPerStep < 0) return { flopsPerSecond: Math.min(FLOPS_CEILING, ff / ft), secondsPerStep: 0 };
  return { flopsPerSecond: FLOPS_CEILING, secondsPerStep: Math.max(0, (st - fs / FLOPS_CEILING) / ss) };
}

/** Seconds the model gives for a run at these rates (start-up aside). */
export const modelledSeconds = (point: Omit<WorkPoint, 'seconds'>, rates: { flopsPerSecond: number; secondsPerStep: number }) =>
  point.flops / rates.flopsPerSecond + point.steps * rates.secondsPerStep;

const PRESETS = [
  { label: 'smoke', preset: 'smoke', args: ['quick'] },
  { label: 'default', preset: undefined, args: [] },
] as const;

/** Measures every experiment's two points and returns the table's rows: declared and fitted rates, and the declared rates' error on each point. */
export function measureWorkRates(experiments: readonly string[], runs: number, log: (line: string) => void): Array<Record<string, string | number>> {
  const rows: Array<Record<string, string | number>> = [];
  for (const experiment of experiments) {
    const declared = builtinExperiments.get(experiment)?.work;
    if (!declared) continue;
    const points: WorkPoint[] = [];
    for (const { preset, args } of PRESETS) {
      const samples = repeatedRuns(runs, () => measureIn<{ timings: Result['timings'] }>({ backend: 'wasm', threads: 1 }, ['sweep', experiment, '1', ...args]));
      if (samples.length === 0) break; // the failure was reported
      points.push({ ...modelledWork(experiment, preset, undefined), seconds: median(samples.map((sample) => sample.timings.cpuSeconds)) });
    }
    if (points.length < PRESETS.length) continue;
    const fitted = fitWorkRates(points);
    const row: Record<string, string | number> = {
      experiment,
      'declared FLOP/s': declared.flopsPerSecond.toPrecision(2),
      'declared s/step': declared.secondsPerStep.toPrecision(2),
      'fitted FLOP/s': fitted.flopsPerSecond.toPrecision(2),
      'fitted s/step': fitted.secondsPerStep.toPrecision(2),
    };
    points.forEach((point, index) => {
      const { label } = PRESETS[index]!;
      row[`${label}: CPU s`] = point.seconds.toFixed(1);
      row[`${label}: declared model / measured`] = (modelledSeconds(point, declared) / point.seconds).toFixed(2);
    });
    log(JSON.stringify(row));
    rows.push(row);
  }
  return rows;
}
