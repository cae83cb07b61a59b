/**
 * `npm run bench`: training throughput of the standard workloads on every backend that loads here,
 * side by side in one run with the matmul limit and (when Debian's python3-torch is installed) PyTorch
 * on the same thread counts; then each experiment's default sweep beside a plain PyTorch version of it
 * on 1 thread and on all cores. Writes bench-results/latest.{json,md}.
 *
 *   npm run bench [-- --seconds 3 --runs 3 --quick]     (--quick: the sweeps at their smoke presets, to check the
 *                                                       wiring; prints the tables without writing bench-results/)
 */
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median } from 'simple-statistics';
import { backendNames, type BackendName } from '@axiom/runner';
import { builtinExperiments } from '@axiom/experiments';
import { torchAvailable, torchWorkloads } from './pytorch.js';
import { benchSweeps } from './sweeps.js';
import { workloads } from './workloads.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '3' }, runs: { type: 'string', default: '3' }, quick: { type: 'boolean', default: false } } });
const seconds = Number(values.seconds);
const runs = Number(values.runs);
const quick = values.quick;
const measureScript = fileURLToPath(new URL('./measure.js', import.meta.url));
/** PyTorch runs on 1 thread and on all cores; each sweep row has both, beside axiom's own thread count. */
const threadCounts = [...new Set([1, availableParallelism()])];

const log = (line: string) => process.stderr.write(`${line}\n`);

interface Measurement {
  samplesPerSecond?: number;
  gflops?: number;
  startupToFirstStepSeconds?: number;
  peakRssMb?: number;
}

/** One measurement in a fresh process; a failure is reported (with the process's last words) and yields undefined. */
function measure(backend: BackendName, what: string): Measurement | undefined {
  const child = spawnSync(process.execPath, [measureScript, backend, what, String(seconds)], { encoding: 'utf8' });
  if (child.status !== 0) {
    log(`${backend} ${what}: measurement failed (exit ${child.status}): ${child.stderr.trim().split('\n').at(-1) ?? ''}`);
    return undefined;
  }
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as Measurement;
}

function medianOf(samples: Measurement[], key: keyof Measurement): number {
  return median(samples.map((s) => s[key]!));
}

const available = backendNames.filter((backend) => backend !== 'tfjs-node-gpu' && measure(backend, 'matmul') !== undefined);
log(`backends that load here: ${available.join(', ')}`);

const rows: Array<Record<string, string | number>> = [];
const matmul: Record<string, number> = {};
for (const backend of available) matmul[backend] = median(Array.from({ length: runs }, () => measure(backend, 'matmul')!.gflops!));

const torch = torchAvailable() ? torchWorkloads(threadCounts, seconds) : undefined;
if (torch) log(`PyTorch ${torch.version}: sgemm 2048² limit ${torch.limit.toFixed(1)} GFLOP/s`);
const limit = torch?.limit ?? Math.max(...Object.values(matmul));

for (const workload of workloads) {
  for (const backend of available) {
    const samples = Array.from({ length: runs }, () => measure(backend, workload.name)).filter((m): m is Measurement => m !== undefined);
    if (samples.length === 0) continue; // each failure was reported above
    const rate = medianOf(samples, 'samplesPerSecond');
    const row: Record<string, string | number> = {
      workload: workload.name,
      backend,
      'samples/s': Math.round(rate),
      'GFLOP/s': Number(medianOf(samples, 'gflops').toFixed(2)),
      '% of matmul limit': Number(((100 * medianOf(samples, 'gflops')) / limit).toFixed(1)),
      'startup to first step (s)': Number(medianOf(samples, 'startupToFirstStepSeconds').toFixed(2)),
      'peak RSS (MB)': Math.round(medianOf(samples, 'peakRssMb')),
    };
    if (torch) {
      const oneThread = torch.rates[workload.name]?.[1];
      row['PyTorch 1 thread (samples/s)'] = oneThread ? Math.round(oneThread) : '';
      row['ratio vs PyTorch 1 thread'] = oneThread ? Number((rate / oneThread).toFixed(2)) : '';
    }
    rows.push(row);
    log(JSON.stringify(row));
  }
}

/** tfjs-node's TensorFlow uses every core; the wasm and cpu backends here run on one thread. */
const sweepTargets = available
  .filter((backend) => backend !== 'cpu')
  .map((backend) => ({ backend, threads: backend.startsWith('tfjs-node') ? availableParallelism() : 1 }));
const { rows: sweeps, torchSweeps } = await benchSweeps(builtinExperiments.values(), {
  targets: sweepTargets,
  threadCounts,
  torch: torch !== undefined,
  quick,
  log,
});

function markdown(table: Array<Record<string, string | number>>): string {
  if (!table.length) return '';
  const columns = Object.keys(table[0]!);
  return [`| ${columns.join(' | ')} |`, `| ${columns.map(() => '---').join(' | ')} |`, ...table.map((r) => `| ${columns.map((c) => r[c] ?? '').join(' | ')} |`)].join('\n');
}

const machine = `${cpus()[0]?.model.trim()}, ${availableParallelism()} cores, Node ${process.version}`;
const header = [
  `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}; median of ${runs} runs of ${seconds} s each.`,
  `Matmul limit: ${limit.toFixed(1)} GFLOP/s (${torch ? `PyTorch ${torch.version} sgemm 2048²` : 'best tfjs matMul 1024²'}); tfjs matMul 1024²: ${Object.entries(matmul).map(([b, g]) => `${b} ${g.toFixed(1)}`).join(', ')} GFLOP/s.`,
  ...(quick ? ['--quick: the sweeps ran at their smoke presets, to check the wiring; their timings mean little.'] : []),
].join('\n');
const report = [header, '', markdown(rows), '', markdown(sweeps)].join('\n');
if (!quick) {
  // A wiring check leaves the measured tables (bench-results/latest.md is committed) alone.
  await mkdir('bench-results', { recursive: true });
  await writeFile('bench-results/latest.json', JSON.stringify({ machine, seconds, runs, limit, matmul, torch, rows, sweeps, torchSweeps }, null, 2));
  await writeFile('bench-results/latest.md', `${report}\n`);
}
process.stdout.write(`${report}\n`);
