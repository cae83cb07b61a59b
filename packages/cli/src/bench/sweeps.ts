/**
 * The bench's sweep table: each experiment's default sweep (or, quick, its smoke preset) as `axiom run`
 * runs it on all cores (a pool of one-thread WASM workers, one per core) and on one worker, beside plain
 * PyTorch at its fastest on the same cores (one process on 1..N threads, or N one-thread processes each
 * with its share of the configurations). Every timed figure is the median of `runs` runs.
 */
import { median } from 'simple-statistics';
import type { Result } from '@axiom/runner/host';
import { builtinExperiments } from '@axiom/experiments';
import { modelFlops } from '@axiom/wrapper';
import { measureIn, repeatedRuns } from './measure-process.js';
import { layoutLabel, plural, torchSweep, type TorchLayout, type TorchSweep } from './pytorch.js';

export interface SweepOptions {
  /** The cores: axiom's pool has as many workers, PyTorch as many threads or processes. */
  cores: number;
  /** GFLOP/s of tfjs matMul 1024² on one WASM thread, measured in this run: the GEMM limit of one worker. */
  wasmMatmulPerThread: number | undefined;
  /** False when PyTorch is missing: its columns stay blank. */
  torch: boolean;
  quick: boolean;
  runs: number;
  log(line: string): void;
}

interface SweepMeasurement {
  /** The backend's threads in the run's own process (1 when a pool's workers computed). */
  threads: number;
  units: number;
  timings: Result['timings'];
  peakRssMb: number;
  /** Each pool worker's peak (empty without a pool). */
  workerPeakRssMb: number[];
}

type Row = Record<string, string | number>;

/** PyTorch's ways to use `cores` cores: one process on each thread count, and one one-thread process per core. */
export function torchLayouts(cores: number): TorchLayout[] {
  const threads = Array.from({ length: cores }, (_, index) => ({ threads: index + 1, processes: 1 }));
  return cores > 1 ? [...threads, { threads: 1, processes: cores }] : threads;
}

/** The layout with the fewest seconds (the first of equals), or undefined when none has a figure. */
export function fastest(seconds: ReadonlyMap<string, number>): { label: string; seconds: number } | undefined {
  let best: { label: string; seconds: number } | undefined;
  for (const [label, value] of seconds) if (best === undefined || value < best.seconds) best = { label, seconds: value };
  return best;
}

/**
 * The share of the GEMM limit a sweep reached: its model FLOPs over its seconds, against the matmul rate of
 * one thread times the workers that computed. An upper bound on what was done when runs stop early (the
 * work model counts every declared pass).
 */
export const gemmShare = (flops: number, seconds: number, gflopsPerThread: number, workers: number) => flops / seconds / 1e9 / (gflopsPerThread * workers);

const round = (value: number, digits: number) => Number(value.toFixed(digits));
const megabytes = (values: number[]) => values.map((value) => Math.round(value)).join('/');

/** The sweep's model FLOPs by the experiment's declared work model; undefined for one without. */
function flopsOf(experiment: string, quick: boolean): number | undefined {
  return builtinExperiments.get(experiment)?.work ? modelFlops(experiment, quick ? 'smoke' : undefined, undefined) : undefined;
}

/** PyTorch's median seconds on each layout, by label; its records for the JSON. */
async function torchFigures(experiment: string, options: SweepOptions): Promise<{ seconds: Map<string, number>; records: TorchSweep[] }> {
  const seconds = new Map<string, number>();
  const records: TorchSweep[] = [];
  // An experiment without a PyTorch counterpart (its bench declaration says so) keeps those columns blank.
  const counterpart = options.torch && builtinExperiments.get(experiment)?.bench?.pytorch === true;
  for (const layout of counterpart ? torchLayouts(options.cores) : []) {
    const runs: TorchSweep[] = [];
    for (let run = 0; run < options.runs; run++) {
      const sweep = await torchSweep(experiment, layout, options.quick); // a failure was reported; its cell stays blank
      if (sweep) runs.push(sweep);
    }
    if (runs.length > 0) seconds.set(layoutLabel(layout), median(runs.map((sweep) => sweep.wallSeconds)));
    records.push(...runs);
  }
  return { seconds, records };
}

/** One experiment on `workers` workers: axiom's row, with PyTorch's figures and the ratio on the all-cores row. */
function sweepRow(experiment: string, workers: number, torch: ReadonlyMap<string, number>, options: SweepOptions): Row | undefined {
  const preset = options.quick ? ['quick'] : [];
  // The parent process brings up the backend on all cores, as `axiom run` does; a single worker computes on one thread.
  const target = { backend: 'wasm', threads: workers === 1 ? 1 : options.cores } as const;
  const samples = repeatedRuns(options.runs, () => measureIn<SweepMeasurement>(target, ['sweep', experiment, String(workers), ...preset]));
  if (samples.length === 0) return undefined; // each failure was reported
  const seconds = median(samples.map((sample) => sample.timings.wallSeconds));
  // A sweep of one group trains in the run's own process, on its threads, whatever the workers asked.
  const pooled = samples[0]!.timings.workers;
  const computing = pooled ?? samples[0]!.threads;
  const first = workers === 1 ? repeatedRuns(options.runs, () => measureIn<SweepMeasurement>(target, ['configuration', experiment, ...preset])) : [];
  // Memory: the largest over the runs, process by process (what a host must have free).
  const parentPeak = Math.max(...samples.map((sample) => sample.peakRssMb));
  const workerPeaks = samples[0]!.workerPeakRssMb.map((_, index) => Math.max(...samples.map((sample) => sample.workerPeakRssMb[index] ?? 0)));
  const flops = flopsOf(experiment, options.quick);
  const best = workers === options.cores ? fastest(torch) : undefined;
  const row: Row = {
    experiment,
    axiom: pooled ? `${pooled} workers × 1 thread` : `1 process × ${plural(computing, 'thread')}`,
    units: samples[0]!.units,
    'seconds (median)': round(seconds, 1),
    'first configuration alone (s)': first.length > 0 ? round(median(first.map((sample) => Object.values(sample.timings.units)[0]!)), 1) : '',
    '% of GEMM limit':
      flops === undefined || options.wasmMatmulPerThread === undefined ? '' : round(100 * gemmShare(flops, seconds, options.wasmMatmulPerThread, computing), 1),
    'peak RSS per process (MB)': workerPeaks.length > 0 ? `run ${Math.round(parentPeak)}, workers ${megabytes(workerPeaks)}` : Math.round(parentPeak),
    'peak RSS total (MB)': Math.round(parentPeak + workerPeaks.reduce((sum, peak) => sum + peak, 0)),
    // PyTorch's figures on the all-cores row, the one they are compared with.
    ...Object.fromEntries(
      torchLayouts(options.cores).map((layout) => {
        const value = best && torch.get(layoutLabel(layout));
        return [`PyTorch ${layoutLabel(layout)} (s)`, value === undefined ? '' : round(value, 1)];
      }),
    ),
    'PyTorch fastest': best?.label ?? '',
    'ratio (PyTorch fastest s / axiom s, >1: axiom faster)': best ? round(best.seconds / seconds, 2) : '',
  };
  options.log(JSON.stringify(row));
  return row;
}

/** Every experiment's rows (one worker, then all cores), and PyTorch's own records (each run's processes, steps, headline results). */
export async function benchSweeps(experiments: Iterable<string>, options: SweepOptions): Promise<{ rows: Row[]; torchSweeps: TorchSweep[] }> {
  const rows: Row[] = [];
  const torchSweeps: TorchSweep[] = [];
  for (const experiment of experiments) {
    const torch = await torchFigures(experiment, options);
    torchSweeps.push(...torch.records);
    for (const workers of new Set([1, options.cores])) {
      const row = sweepRow(experiment, workers, torch.seconds, options);
      if (row) rows.push(row);
    }
  }
  return { rows, torchSweeps };
}
