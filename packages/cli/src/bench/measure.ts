/**
 * One measurement in a fresh process (so startup time, peak RSS and the WASM thread pool are its own):
 *   node measure.js <backend> <threads> matmul|<workload> [seconds]
 *   node measure.js <backend> <threads> sweep <experiment> <workers> [quick]
 *   node measure.js <backend> <threads> configuration|checkpoint <experiment> [quick]
 *   node measure.js <backend> <threads> correctness <workload>
 * <backend> is a backend name, or webgpu@N for WebGPU adapter N. Prints one JSON line.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { type BackendName, type BackendRequest, fileCheckpointStore, initBackend, memoryHost, runExperiment } from '@axiom/runner/host';
import { Rng, standaloneSession } from '@axiom/runner';
import { builtinExperiments, createMlp, evaluateLoss, trainClassifier, uploadDataset } from '@axiom/experiments';
import { poolWorkerLauncher } from '../pool-launcher.js';
import { trainingFlopsPerSample, workloads } from './workloads.js';

const peakRssMb = () => process.resourceUsage().maxRSS / 1024;

/** The backend's own fp32 matmul rate on 1024² operands: the ceiling its training can approach. */
async function matmul(request: BackendRequest, seconds: number) {
  const { tf, info } = await initBackend(request);
  const n = 1024;
  const rng = new Rng(1);
  const a = tf.tensor2d(
    Float32Array.from({ length: n * n }, () => rng.normal()),
    [n, n],
  );
  const b = tf.tensor2d(
    Float32Array.from({ length: n * n }, () => rng.normal()),
    [n, n],
  );
  tf.matMul(a, b).dispose();
  let runs = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    // Not tf.tidy(() => ….data()): tidy walks a returned typed array element by element. An asynchronous
    // read, the only one WebGPU has in Node; it waits for the GPU like dataSync waits for WASM.
    const product = tf.matMul(a, b);
    await product.data();
    product.dispose();
    runs++;
  }
  const elapsed = (performance.now() - start) / 1000;
  return { backend: info.name, threads: info.threads, gflops: (2 * n ** 3 * runs) / elapsed / 1e9 };
}

/** A standard workload's synthetic data (64 batches) and fresh MLP on the backend, from a fixed seed. */
async function workloadSetup(request: BackendRequest, name: string, seed: number) {
  const { tf, info } = await initBackend(request);
  const workload = workloads.find((w) => w.name === name)!;
  const rng = new Rng(seed);
  const size = workload.batchSize * 64;
  const x = Float32Array.from({ length: size * workload.inputDim }, () => rng.normal());
  const y = Int32Array.from({ length: size }, () => rng.int(workload.outputDim));
  const train = uploadDataset(tf, { x, y, size, inputDim: workload.inputDim, classes: workload.outputDim });
  const model = createMlp(tf, rng, { inputDim: workload.inputDim, hidden: workload.hidden, outputDim: workload.outputDim });
  return { tf, info, workload, rng, train, model };
}

/** SGD on a standard workload for `seconds` after its first step: samples/s, GFLOP/s, startup, peak RSS, leaks. */
async function workload(request: BackendRequest, name: string, seconds: number) {
  const { tf, info, workload, rng, train, model } = await workloadSetup(request, name, 2);
  let firstStepAt: number | undefined;
  let steps = 0;
  let measureFrom = 0;
  const stop = new AbortController();
  const tick = async () => {
    steps++;
    if (firstStepAt === undefined) {
      firstStepAt = performance.now(); // since process start (performance.timeOrigin)
      measureFrom = firstStepAt;
      steps = 0;
    }
    if (performance.now() - measureFrom > seconds * 1000) stop.abort();
    if (stop.signal.aborted) throw stop.signal.reason;
  };
  await trainClassifier({
    tf,
    model,
    train,
    epochs: 1e6,
    batchSize: workload.batchSize,
    learningRate: 0.01,
    optimizer: 'sgd',
    shuffle: rng,
    session: standaloneSession(tick),
  }).catch((error: unknown) => {
    // The measurement ends by aborting the loop; any other error is a real failure.
    if (error !== stop.signal.reason) throw error;
  });
  const elapsed = (performance.now() - measureFrom) / 1000;
  const samplesPerSecond = (steps * workload.batchSize) / elapsed;
  return {
    backend: info.name,
    threads: info.threads,
    samplesPerSecond,
    gflops: (samplesPerSecond * trainingFlopsPerSample(workload)) / 1e9,
    startupToFirstStepSeconds: firstStepAt! / 1000,
    peakRssMb: peakRssMb(),
    tensorsLeaked: tf.memory().numTensors - 3 - model.variables.length, // x, labels, one-hot stay
  };
}

/** Steps of the correctness check: two epochs of 64 batches. */
const CORRECTNESS_EPOCHS = 2;

/** A fixed-seed training run of a workload, for comparing backends' results (a software adapter is checked, not timed). */
async function correctness(request: BackendRequest, name: string) {
  const { tf, info, workload, rng, train, model } = await workloadSetup(request, name, 3);
  const initialLoss = await evaluateLoss(tf, model, train, 'cross-entropy');
  await trainClassifier({
    tf,
    model,
    train,
    epochs: CORRECTNESS_EPOCHS,
    batchSize: workload.batchSize,
    learningRate: 0.01,
    optimizer: 'sgd',
    shuffle: rng,
    session: standaloneSession(),
  });
  return {
    backend: info.name,
    threads: info.threads,
    adapter: info.gpu?.adapter.name,
    steps: CORRECTNESS_EPOCHS * 64,
    initialLoss,
    finalLoss: await evaluateLoss(tf, model, train, 'cross-entropy'),
  };
}

/** The CLI's entry point, which the pool starts again as its workers (dist/bench/ is beside dist/main.js). */
const poolWorker = poolWorkerLauncher(fileURLToPath(new URL('../main.js', import.meta.url)));

/**
 * An experiment's default sweep (quick: its smoke preset), seed 1, as `axiom run` runs it: on `workers`
 * processes of one WASM thread each when more than one (the CLI's pool), else in this process; or, `first`,
 * its first configuration alone (its bench declaration's `alone` parameters, the run stopped once that unit
 * is done), for the time and memory of one configuration.
 */
async function sweep(request: BackendRequest, name: string, quick: boolean, options: { first: true } | { first: false; workers: number }) {
  const host = memoryHost();
  const experiment = builtinExperiments.get(name)!;
  const { first } = options;
  const { result, poolPeakRssBytes = [] } = await runExperiment({
    experiment,
    preset: quick ? 'smoke' : undefined,
    ...(first && { paramLayers: [{ origin: 'bench', values: experiment.bench?.alone ?? {} }] }),
    seed: { value: 1, source: 'cli', warnings: [] },
    backend: request,
    ...(!first && { pool: { workers: options.workers, launcher: poolWorker } }),
    // Stopped once a group is finished: that report names no unit (those inside a group count its fraction as units done).
    host: first ? { ...host, progress: ({ unitsDone, unit }) => unit === undefined && unitsDone > 0 && host.abort.abort() } : host,
  });
  // A failed run's wall time is no measurement: the sweep must end ok, the first configuration with its unit done.
  const finished = first ? result.units.length > 0 && result.status !== 'failed' : result.status === 'ok';
  if (!finished)
    throw new Error(`${name}: the run ended ${result.status} (${result.statusReason ?? 'no reason given'}) with ${result.units.length} unit(s) done`);
  return {
    backend: result.backend.name,
    threads: result.backend.threads,
    units: result.units.length,
    timings: result.timings,
    peakRssMb: peakRssMb(),
    workerPeakRssMb: poolPeakRssBytes.map((bytes) => bytes / 2 ** 20),
  };
}

/** How often the checkpoint measurement takes one: often enough for many samples in a default sweep. */
const CHECKPOINT_SAMPLE_PERIOD_SECONDS = 2;

/**
 * An experiment's default sweep (quick: its smoke preset) with checkpoints to a file every few seconds:
 * how many, their size, and the time each took (snapshot of the training state, encoding, atomic write).
 */
async function checkpointCost(request: BackendRequest, name: string, quick: boolean) {
  const directory = await mkdtemp(join(tmpdir(), 'axiom-bench-'));
  const file = fileCheckpointStore(join(directory, 'checkpoint.bin'), CHECKPOINT_SAMPLE_PERIOD_SECONDS);
  const sizes: number[] = [];
  try {
    const { result } = await runExperiment({
      experiment: builtinExperiments.get(name)!,
      preset: quick ? 'smoke' : undefined,
      seed: { value: 1, source: 'cli', warnings: [] },
      backend: request,
      host: {
        ...memoryHost(),
        checkpoints: {
          ...file,
          save: async (checkpoint) => {
            await file.save(checkpoint);
            sizes.push((await stat(join(directory, 'checkpoint.bin'))).size);
          },
        },
      },
    });
    if (result.status !== 'ok' || sizes.length === 0) throw new Error(`${name}: the run ended ${result.status} with ${sizes.length} checkpoint(s)`);
    return {
      wallSeconds: result.timings.wallSeconds,
      checkpoints: sizes.length,
      checkpointSeconds: result.timings.phases.checkpoint!,
      largestBytes: Math.max(...sizes),
    };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

const [backend, threads, what, ...rest] = process.argv.slice(2);
const [name, gpu] = backend!.split('@');
const request: BackendRequest = {
  forced: name as BackendName,
  threads: Number(threads),
  ...(gpu !== undefined && { gpu: { source: 'cli', device: Number(gpu) } }),
};
try {
  const measured =
    what === 'sweep'
      ? await sweep(request, rest[0]!, rest[2] === 'quick', { first: false, workers: Number(rest[1]) })
      : what === 'configuration'
        ? await sweep(request, rest[0]!, rest[1] === 'quick', { first: true })
        : what === 'checkpoint'
          ? await checkpointCost(request, rest[0]!, rest[1] === 'quick')
          : what === 'matmul'
            ? await matmul(request, Number(rest[0] ?? 3))
            : what === 'correctness'
              ? await correctness(request, rest[0]!)
              : await workload(request, what!, Number(rest[0] ?? 3));
  console.log(JSON.stringify({ what, ...measured }));
} catch (error) {
  // One line for the bench's report (e.g. a backend not installed here), not a stack trace.
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
