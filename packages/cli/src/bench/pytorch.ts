/**
 * The bench's PyTorch side: Debian's python3-torch at /usr/bin/python3 (the python3 on PATH may be
 * another install without torch), each measurement in its own process.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { experimentCatalogue } from '../list-command.js';

const PYTHON = '/usr/bin/python3';
/**
 * A sweep's limit: on a machine whose cores are busy, PyTorch's OpenMP threads spin against each other
 * (representation-alignment took 612 s on 2 threads here against 8 s on 1), so one run must not hold up the bench.
 */
const SWEEP_TIMEOUT_MS = 30 * 60 * 1000;
const script = (name: string) => fileURLToPath(new URL(`../../src/bench/${name}`, import.meta.url));

const log = (line: string) => process.stderr.write(`${line}\n`);

/**
 * torch.set_num_threads does not reach the BLAS: Debian's PyTorch calls the system libblas.so.3, and
 * OpenBLAS (the fast one; the reference BLAS is ~40× slower) sizes its own pool from these at load time.
 */
const threadEnv = (threads: number) => ({
  ...process.env,
  OMP_NUM_THREADS: String(threads),
  OPENBLAS_NUM_THREADS: String(threads),
  MKL_NUM_THREADS: String(threads),
});

export function torchAvailable(): boolean {
  if (spawnSync(PYTHON, ['-c', 'import torch']).status === 0) return true;
  log(`no PyTorch (${PYTHON} cannot import torch; apt-get install python3-torch for the side-by-side columns)`);
  return false;
}

/** One line of pytorch_bench.py's output: the sgemm limit, or a workload's rate. */
const torchBenchLineSchema = z.union([
  z.object({ what: z.literal('sgemm-2048'), gflops: z.number(), torch: z.string() }),
  z.object({ what: z.string(), samplesPerSecond: z.number() }),
]);

export interface TorchWorkloads {
  /** The sgemm 2048² rate per thread count: the matmul limit on that many threads. */
  limits: Record<number, number>;
  /** Samples/s per workload, per thread count. */
  rates: Record<string, Record<number, number>>;
  version: string;
}

/** The standard workloads (pytorch_bench.py) on each thread count, `seconds` each. */
export function torchWorkloads(threadCounts: readonly number[], seconds: number): TorchWorkloads {
  const result: TorchWorkloads = { limits: {}, rates: {}, version: '' };
  for (const threads of threadCounts) {
    const output = execFileSync(PYTHON, [script('pytorch_bench.py'), String(threads), String(seconds)], { encoding: 'utf8', env: threadEnv(threads) });
    for (const line of output
      .trim()
      .split('\n')
      .map((l) => torchBenchLineSchema.parse(JSON.parse(l)))) {
      if ('gflops' in line) {
        result.limits[threads] = line.gflops;
        result.version = line.torch;
      } else {
        (result.rates[line.what] ??= {})[threads] = line.samplesPerSecond;
      }
    }
  }
  return result;
}

/** One line of pytorch_experiments.py: an experiment's sweep (or its shard), written as a plain PyTorch loop over configurations. */
const torchSweepLineSchema = z.object({
  experiment: z.string(),
  wallSeconds: z.number(),
  startedAt: z.number(),
  finishedAt: z.number(),
  threads: z.number(),
  torch: z.string(),
  configurations: z.number(),
  steps: z.number(),
  headline: z.unknown(),
});
type TorchSweepLine = z.infer<typeof torchSweepLineSchema>;

/** How PyTorch runs a sweep on the cores: `processes` processes side by side, each on `threads` threads with its share of the configurations. */
export interface TorchLayout {
  threads: number;
  processes: number;
}

/** `count noun`, in the plural (`nouns`, default noun + s) unless the count is 1. */
export const plural = (count: number, noun: string, nouns = `${noun}s`) => `${count} ${count === 1 ? noun : nouns}`;

export const layoutLabel = ({ threads, processes }: TorchLayout) =>
  processes === 1 ? plural(threads, 'thread') : `${plural(processes, 'process', 'processes')} × ${plural(threads, 'thread')}`;

/** A sweep PyTorch ran: wall seconds from the first process's start to the last one's end, and each process's record. */
export interface TorchSweep {
  experiment: string;
  layout: TorchLayout;
  wallSeconds: number;
  processes: TorchSweepLine[];
}

/** One pytorch_experiments.py process; resolves to its record, or to why it failed. */
function torchSweepProcess(args: string[], threads: number): Promise<TorchSweepLine | string> {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, args, { env: threadEnv(threads), timeout: SWEEP_TIMEOUT_MS });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => resolve(error.message));
    child.on('close', (code, signal) => {
      if (code !== 0) return resolve(`exit ${code ?? signal}: ${stderr.trim().split('\n').at(-1)}`);
      resolve(torchSweepLineSchema.parse(JSON.parse(stdout.trim().split('\n').at(-1)!)));
    });
    // The parameters come from the experiments' declarations (`axiom list --json`), never copied into the script.
    child.stdin.end(JSON.stringify(experimentCatalogue()));
  });
}

/**
 * The experiment's default sweep (`quick`: its smoke preset) in PyTorch on `layout`: with several processes,
 * each runs the configurations of its shard (`--shard K/N`) and the sweep takes until the last one ends.
 * A failure is reported and yields undefined.
 */
export async function torchSweep(experiment: string, layout: TorchLayout, quick: boolean): Promise<TorchSweep | undefined> {
  const args = [script('pytorch_experiments.py'), '--experiment', experiment, '--threads', String(layout.threads), ...(quick ? ['--quick'] : [])];
  const shards = Array.from({ length: layout.processes }, (_, index) =>
    torchSweepProcess(layout.processes === 1 ? args : [...args, '--shard', `${index}/${layout.processes}`], layout.threads),
  );
  const outcomes = await Promise.all(shards);
  const failure = outcomes.find((outcome) => typeof outcome === 'string');
  if (failure !== undefined) {
    log(`PyTorch ${experiment} (${layoutLabel(layout)}): failed (${failure})`);
    return undefined;
  }
  const processes = outcomes as TorchSweepLine[];
  const wallSeconds = Math.max(...processes.map((p) => p.finishedAt)) - Math.min(...processes.map((p) => p.startedAt));
  const configurations = processes.reduce((sum, p) => sum + p.configurations, 0);
  log(`PyTorch ${experiment} (${layoutLabel(layout)}): ${wallSeconds.toFixed(1)} s, ${configurations} configurations`);
  return { experiment, layout, wallSeconds, processes };
}

/** How an axiom figure compares with PyTorch's: its unit, its rounding, and which way is faster. */
export interface Figure {
  unit: 'samples/s' | 's';
  digits: number;
  higherIsFaster: boolean;
}

/**
 * A row's PyTorch columns: PyTorch's figure on the same threads and axiom's ratio to it (the target),
 * and the ratio to PyTorch on whichever thread count it was fastest (a win only because PyTorch's threads
 * fight each other is no win). Ratios are above 1 when axiom is faster; blank where PyTorch has no figure.
 */
export function versusPyTorch(axiom: number, torch: Readonly<Record<number, number>>, threads: number, figure: Figure): Record<string, string | number> {
  const ratio = (other: number) => Number((figure.higherIsFaster ? axiom / other : other / axiom).toFixed(2));
  const same = torch[threads];
  const figures = Object.values(torch);
  const fastest = figures.length === 0 ? undefined : figure.higherIsFaster ? Math.max(...figures) : Math.min(...figures);
  const ratioColumn = figure.higherIsFaster
    ? 'ratio (axiom / PyTorch, >1: axiom faster)'
    : `ratio (PyTorch ${figure.unit} / axiom ${figure.unit}, >1: axiom faster)`;
  return {
    [`PyTorch, same threads (${figure.unit})`]: same === undefined ? '' : Number(same.toFixed(figure.digits)),
    [ratioColumn]: same === undefined ? '' : ratio(same),
    'ratio vs PyTorch at its fastest': fastest === undefined ? '' : ratio(fastest),
  };
}
