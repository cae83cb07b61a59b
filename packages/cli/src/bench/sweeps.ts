/**
 * The bench's sweep table: each experiment's default sweep (or, quick, its smoke preset) on each axiom
 * target, beside the plain PyTorch version of the same sweep on every thread count.
 */
import { memoryHost, runExperiment, type BackendName, type Experiment } from '@axiom/runner';
import { torchSweep, type TorchSweep } from './pytorch.js';

/** An axiom sweep measurement: a backend on a thread count (the threaded WASM build will add wasm on N threads). */
export interface SweepTarget {
  backend: BackendName;
  threads: number;
}

export interface SweepOptions {
  targets: readonly SweepTarget[];
  /** PyTorch's thread counts: each gets its columns. */
  threadCounts: readonly number[];
  /** False when PyTorch is missing: its columns stay blank. */
  torch: boolean;
  quick: boolean;
  log(line: string): void;
}

type Row = Record<string, string | number>;

const plural = (threads: number) => `${threads} thread${threads === 1 ? '' : 's'}`;

/** One experiment on one target: the axiom row, with PyTorch's seconds and the ratio per thread count (blank where PyTorch is missing or failed). */
async function sweepRow(experiment: Experiment, target: SweepTarget, torchSweeps: ReadonlyMap<number, TorchSweep>, options: SweepOptions): Promise<Row> {
  const { result } = await runExperiment({
    experiment,
    preset: options.quick ? 'smoke' : undefined,
    seed: { value: 1, source: 'cli', warnings: [] },
    backend: { forced: target.backend },
    host: memoryHost(),
  });
  const axiomSeconds = result.timings.wallSeconds;
  const row: Row = {
    experiment: experiment.name,
    backend: target.backend,
    threads: target.threads,
    units: result.units.length,
    'one configuration (s)': Number((Object.values(result.timings.units)[0] ?? 0).toFixed(1)),
    'default sweep (s)': Number(axiomSeconds.toFixed(1)),
  };
  for (const threads of options.threadCounts) {
    const torchSeconds = torchSweeps.get(threads)?.wallSeconds;
    row[`PyTorch ${plural(threads)} (s)`] = torchSeconds === undefined ? '' : Number(torchSeconds.toFixed(1));
    row[`ratio ${plural(threads)} (PyTorch s / axiom s)`] = torchSeconds === undefined ? '' : Number((torchSeconds / axiomSeconds).toFixed(2));
  }
  options.log(JSON.stringify(row));
  return row;
}

/** Every experiment's rows, and PyTorch's own records (wall seconds, steps, headline results). */
export async function benchSweeps(experiments: Iterable<Experiment>, options: SweepOptions): Promise<{ rows: Row[]; torchSweeps: TorchSweep[] }> {
  const rows: Row[] = [];
  const torchSweeps: TorchSweep[] = [];
  for (const experiment of experiments) {
    const byThreads = new Map<number, TorchSweep>();
    for (const threads of options.torch ? options.threadCounts : []) {
      const sweep = torchSweep(experiment.name, threads, options.quick); // a failure was reported; its cells stay blank
      if (sweep) byThreads.set(threads, sweep);
    }
    torchSweeps.push(...byThreads.values());
    for (const target of options.targets) rows.push(await sweepRow(experiment, target, byThreads, options));
  }
  return { rows, torchSweeps };
}
