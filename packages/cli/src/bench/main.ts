/**
 * `npm run bench`: training throughput of the standard workloads on every backend that loads here
 * (WASM on 1 thread and on all cores), side by side in one run with the matmul limit and (when Debian's
 * python3-torch is installed) PyTorch on the same thread count; then each experiment's default sweep as
 * `axiom run` runs it on all cores (a pool of one-thread WASM workers) and on one worker, beside plain
 * PyTorch at its fastest on the same cores (1..N threads, or N one-thread processes splitting the
 * configurations), with the ratio, the share of the GEMM limit reached and peak RSS per process. Every
 * axiom measurement runs in its own process; every timed figure is the median of --runs runs. WebGPU is
 * timed on a hardware adapter; on a software one (lavapipe) it is checked for correctness against WASM
 * only, and the report says so. Writes bench-results/latest.{json,md}.
 *
 *   npm run bench [-- --seconds 3 --runs 3 --quick --experiments a,b]
 *     --quick: the sweeps at their smoke presets, to check the wiring; prints the tables without writing bench-results/
 *     --experiments: only these experiments' sweeps and checkpoints (default: every built-in one)
 *   npm run bench -- --work-rates [--runs 3 --experiments a,b]
 *     only the cost model's rates (work-rates.ts), into bench-results/work-rates.md
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { median } from 'simple-statistics';
import { type BackendName, backendNames } from '@axiom/runner/host';
import { builtinExperiments } from '@axiom/experiments';
import { torchAvailable, torchWorkloads, versusPyTorch } from './pytorch.js';
import { label, measureIn, repeatedRuns, threadsCell, type BenchTarget } from './measure-process.js';
import { benchCheckpoints } from './checkpoints.js';
import { benchSweeps } from './sweeps.js';
import { webgpuColumn } from './webgpu.js';
import { measureWorkRates } from './work-rates.js';
import { workloads } from './workloads.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    runs: { type: 'string', default: '3' },
    quick: { type: 'boolean', default: false },
    experiments: { type: 'string' },
    'work-rates': { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
const runs = Number(values.runs);
const quick = values.quick;
const experiments = values.experiments?.split(',') ?? [...builtinExperiments.keys()];
const unknown = experiments.filter((name) => !builtinExperiments.has(name));
if (unknown.length > 0) throw new Error(`--experiments: no built-in experiment ${unknown.join(', ')} (see axiom list)`);
/** Thread counts measured: 1 and all cores. */
const threadCounts = [...new Set([1, availableParallelism()])];

const log = (line: string) => process.stderr.write(`${line}\n`);
const machine = `${cpus()[0]?.model.trim()}, ${availableParallelism()} cores, Node ${process.version}`;

if (values['work-rates']) {
  const table = markdown(measureWorkRates(experiments, runs, log));
  const report = `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}; CPU seconds, median of ${runs} runs, one worker on one WASM thread.\n\n${table}\n`;
  await mkdir('bench-results', { recursive: true });
  await writeFile('bench-results/work-rates.md', report);
  process.stdout.write(report);
  process.exit(0);
}

/** What axiom is measured on: WASM on each thread count, plain JS on its one thread, tfjs-node on all cores (its TensorFlow picks its own threads). */
function targetsOf(backend: BackendName): BenchTarget[] {
  if (backend === 'wasm') return threadCounts.map((threads) => ({ backend, threads }));
  return [{ backend, threads: backend === 'cpu' ? 1 : availableParallelism() }];
}

interface WorkloadMeasurement {
  threads: number;
  samplesPerSecond: number;
  gflops: number;
  startupToFirstStepSeconds: number;
  peakRssMb: number;
  tensorsLeaked: number;
}

const repeated = <T>(measure: () => T | undefined): T[] => repeatedRuns(runs, measure);

// WebGPU takes an adapter, not a thread count: its column is settled below.
const available = backendNames.filter(
  (backend) => backend !== 'tfjs-node-gpu' && backend !== 'webgpu' && measureIn<{ gflops: number }>({ backend, threads: 1 }, ['matmul', '0.2']) !== undefined,
);
log(`backends that load here: ${available.join(', ')}`);

const webgpu = await webgpuColumn(log);
log(webgpu.note);

const matmul: Record<string, number> = {};
const targets = [...available.flatMap(targetsOf), ...(webgpu.target ? [webgpu.target] : [])].filter((target) => {
  const rates = repeated(() => measureIn<{ gflops: number }>(target, ['matmul', String(seconds)])).map((m) => m.gflops);
  if (rates.length > 0) matmul[label(target)] = median(rates);
  return rates.length > 0; // a target whose every run failed (each reported) is left out
});

const torch = torchAvailable() ? torchWorkloads(threadCounts, seconds) : undefined;
/** The fp32 matmul limit on a thread count: PyTorch's sgemm 2048² on those threads, else the best tfjs matMul 1024² on them. */
const limitOn = (threads: number) =>
  torch?.limits[threads] ??
  Math.max(...targets.filter((target) => target.threads === threads && target.gpu === undefined).map((target) => matmul[label(target)]!));
/** A GPU's limit is its own matMul rate; a CPU backend's, the CPU's on its threads. */
const limitOf = (target: BenchTarget, threads: number) => (target.gpu === undefined ? limitOn(threads) : matmul[label(target)]!);
const limits = threadCounts.map((threads) => `${limitOn(threads).toFixed(1)} on ${threads} thread${threads === 1 ? '' : 's'}`).join(', ');
log(`matmul limit: ${limits} GFLOP/s`);

const rows: Array<Record<string, string | number>> = [];
for (const workload of workloads) {
  for (const target of targets) {
    const samples = repeated(() => measureIn<WorkloadMeasurement>(target, [workload.name, String(seconds)]));
    if (samples.length === 0) continue; // each failure was reported
    const medianOf = (key: keyof WorkloadMeasurement) => median(samples.map((s) => s[key]));
    const rate = medianOf('samplesPerSecond');
    const threads = samples[0]!.threads;
    const row: Record<string, string | number> = {
      workload: workload.name,
      backend: target.backend,
      threads: threadsCell(target, threads),
      'samples/s': Math.round(rate),
      'GFLOP/s': Number(medianOf('gflops').toFixed(2)),
      '% of matmul limit': Number(((100 * medianOf('gflops')) / limitOf(target, threads)).toFixed(1)),
      'startup to first step (s)': Number(medianOf('startupToFirstStepSeconds').toFixed(2)),
      'peak RSS (MB)': Math.round(medianOf('peakRssMb')),
    };
    if (torch) Object.assign(row, versusPyTorch(rate, torch.rates[workload.name] ?? {}, threads, { unit: 'samples/s', digits: 0, higherIsFaster: true }));
    const leaky = samples.find((sample) => sample.tensorsLeaked !== 0);
    if (leaky) log(`${label(target)} ${workload.name}: the training loop leaked ${leaky.tensorsLeaked} tensor(s)`);
    rows.push(row);
    log(JSON.stringify(row));
  }
}

const { rows: sweeps, torchSweeps } = await benchSweeps(experiments, {
  cores: availableParallelism(),
  wasmMatmulPerThread: matmul[label({ backend: 'wasm', threads: 1 })],
  torch: torch !== undefined,
  quick,
  runs,
  log,
});

// What checkpoints cost, on one WASM thread (a BOINC task's usual lot).
const checkpoints = benchCheckpoints(experiments, { backend: 'wasm', threads: 1 }, quick, log);

function markdown(table: Array<Record<string, string | number>>): string {
  if (!table.length) return '';
  const columns = Object.keys(table[0]!);
  return [
    `| ${columns.join(' | ')} |`,
    `| ${columns.map(() => '---').join(' | ')} |`,
    ...table.map((r) => `| ${columns.map((c) => r[c] ?? '').join(' | ')} |`),
  ].join('\n');
}

const header = [
  `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}; median of ${runs} runs of ${seconds} s each.`,
  `Matmul limit: ${limits} GFLOP/s (${torch ? `PyTorch ${torch.version} sgemm 2048²` : 'best tfjs matMul 1024²'}); tfjs matMul 1024²: ${Object.entries(matmul)
    .map(([target, gflops]) => `${target} ${gflops.toFixed(1)}`)
    .join(', ')} GFLOP/s.`,
  ...(quick ? ['--quick: the sweeps ran at their smoke presets, to check the wiring; their timings mean little.'] : []),
  `${webgpu.note}.`,
].join('\n');
const sweepNote = [
  `Default sweeps, seed 1: axiom as \`axiom run\` runs them (all cores: a pool of one-thread WASM workers; and one worker), PyTorch on each way of using the same ${availableParallelism()} cores (N processes: their shares of the configurations side by side, from the first start to the last end).`,
  `% of GEMM limit: the sweep's model FLOPs (the declared work model, 6·W per training example pass + 2·W per evaluation pass: an upper bound when runs stop early) / axiom's seconds / (tfjs matMul 1024² on one WASM thread × the workers computing).`,
  `Seconds are medians of ${runs} runs; peak RSS is the largest over the runs, per process (the run's own and each pool worker's) and in total.`,
].join('\n');
const report = [
  header,
  '',
  markdown(rows),
  '',
  sweepNote,
  '',
  markdown(sweeps),
  '',
  markdown(checkpoints),
  ...(webgpu.rows.length ? ['', markdown(webgpu.rows)] : []),
].join('\n');
if (!quick) {
  // A wiring check leaves the measured tables (bench-results/latest.md is committed) alone.
  await mkdir('bench-results', { recursive: true });
  await writeFile(
    'bench-results/latest.json',
    JSON.stringify(
      {
        machine,
        seconds,
        runs,
        matmulLimits: Object.fromEntries(threadCounts.map((threads) => [threads, limitOn(threads)])),
        matmul,
        torch,
        rows,
        sweeps,
        torchSweeps,
        checkpoints,
        webgpu: { note: webgpu.note, correctness: webgpu.rows },
      },
      null,
      2,
    ),
  );
  await writeFile('bench-results/latest.md', `${report}\n`);
}
process.stdout.write(`${report}\n`);
