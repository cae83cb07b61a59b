/**
 * The bench's sweep table: each experiment's default sweep (or, quick, its smoke preset) on each axiom
 * target in its own process, beside the plain PyTorch version of the same sweep on the same thread count.
 */
import type { Result } from '@axiom/runner/host';
import { builtinExperiments } from '@axiom/experiments';
import { measureIn, threadsCell, type BenchTarget } from './measure-process.js';
import { torchSweep, versusPyTorch, type TorchSweep } from './pytorch.js';

export interface SweepOptions {
  targets: readonly BenchTarget[];
  /** PyTorch's thread counts. */
  threadCounts: readonly number[];
  /** False when PyTorch is missing: its columns stay blank. */
  torch: boolean;
  quick: boolean;
  log(line: string): void;
}

interface SweepMeasurement {
  threads: number;
  units: number;
  timings: Result['timings'];
  peakRssMb: number;
}

type Row = Record<string, string | number>;

/** One experiment on one target: the axiom row, with PyTorch's seconds and the ratio on the same thread count (blank where PyTorch is missing or failed). */
function sweepRow(experiment: string, target: BenchTarget, torchSweeps: ReadonlyMap<number, TorchSweep>, options: SweepOptions): Row | undefined {
  const preset = options.quick ? ['quick'] : [];
  const measured = measureIn<SweepMeasurement>(target, ['sweep', experiment, ...preset]);
  if (!measured) return undefined;
  const first = measureIn<SweepMeasurement>(target, ['configuration', experiment, ...preset]);
  const axiomSeconds = measured.timings.wallSeconds;
  const row: Row = {
    experiment,
    backend: target.backend,
    threads: threadsCell(target, measured.threads),
    units: measured.units,
    // The sweep's first configuration, trained alone in its own process.
    'first configuration (s)': first ? Number(Object.values(first.timings.units)[0]!.toFixed(1)) : '',
    'first configuration peak RSS (MB)': first ? Math.round(first.peakRssMb) : '',
    'default sweep (s)': Number(axiomSeconds.toFixed(1)),
    'sweep peak RSS (MB)': Math.round(measured.peakRssMb),
    ...versusPyTorch(axiomSeconds, Object.fromEntries([...torchSweeps].map(([threads, sweep]) => [threads, sweep.wallSeconds])), measured.threads, {
      unit: 's',
      digits: 1,
      higherIsFaster: false,
    }),
  };
  options.log(JSON.stringify(row));
  return row;
}

/** Every experiment's rows, and PyTorch's own records (wall seconds, steps, headline results). */
export function benchSweeps(experiments: Iterable<string>, options: SweepOptions): { rows: Row[]; torchSweeps: TorchSweep[] } {
  const rows: Row[] = [];
  const torchSweeps: TorchSweep[] = [];
  for (const experiment of experiments) {
    const byThreads = new Map<number, TorchSweep>();
    // An experiment without a PyTorch counterpart (its bench declaration says so) keeps those columns blank.
    const counterpart = options.torch && builtinExperiments.get(experiment)?.bench?.pytorch === true;
    for (const threads of counterpart ? options.threadCounts : []) {
      const sweep = torchSweep(experiment, threads, options.quick); // a failure was reported; its cells stay blank
      if (sweep) byThreads.set(threads, sweep);
    }
    torchSweeps.push(...byThreads.values());
    for (const target of options.targets) {
      const row = sweepRow(experiment, target, byThreads, options);
      if (row) rows.push(row);
    }
  }
  return { rows, torchSweeps };
}
