/**
 * One measurement in a fresh process (so startup time and peak RSS are its own):
 *   node measure.js <backend> <workload|matmul> [seconds]
 * Prints one JSON line.
 */
import { performance } from 'node:perf_hooks';
import { initBackend, Rng, type BackendName } from '@axiom/runner';
import { createMlp, trainClassifier, uploadDataset } from '@axiom/experiments';
import { trainingFlopsPerSample, workloads } from './workloads.js';

const [backendArg, what, secondsArg] = process.argv.slice(2);
const seconds = Number(secondsArg ?? 3);
const { tf, info } = await initBackend({ forced: backendArg as BackendName });

if (what === 'matmul') {
  // The backend's own fp32 matmul rate on 1024² operands: the ceiling its training can approach.
  const n = 1024;
  const rng = new Rng(1);
  const a = tf.tensor2d(Float32Array.from({ length: n * n }, () => rng.normal()), [n, n]);
  const b = tf.tensor2d(Float32Array.from({ length: n * n }, () => rng.normal()), [n, n]);
  tf.matMul(a, b).dispose();
  let runs = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    // Not tf.tidy(() => ….dataSync()): tidy walks a returned typed array element by element.
    const product = tf.matMul(a, b);
    product.dataSync();
    product.dispose();
    runs++;
  }
  const elapsed = (performance.now() - start) / 1000;
  console.log(JSON.stringify({ backend: info.name, what, gflops: (2 * n ** 3 * runs) / elapsed / 1e9 }));
} else {
  const workload = workloads.find((w) => w.name === what)!;
  const rng = new Rng(2);
  const size = workload.batchSize * 64;
  const x = Float32Array.from({ length: size * workload.inputDim }, () => rng.normal());
  const y = Int32Array.from({ length: size }, () => rng.int(workload.outputDim));
  const train = uploadDataset(tf, { x, y, size, inputDim: workload.inputDim, classes: workload.outputDim });
  const model = createMlp(tf, rng, { inputDim: workload.inputDim, hidden: workload.hidden, outputDim: workload.outputDim });
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
  await trainClassifier({ tf, model, train, epochs: 1e6, batchSize: workload.batchSize, learningRate: 0.01, optimizer: 'sgd', shuffle: rng, tick }).catch((error: unknown) => {
    // The measurement ends by aborting the loop; any other error is a real failure.
    if (error !== stop.signal.reason) throw error;
  });
  const elapsed = (performance.now() - measureFrom) / 1000;
  const samplesPerSecond = (steps * workload.batchSize) / elapsed;
  console.log(
    JSON.stringify({
      backend: info.name,
      what,
      samplesPerSecond,
      gflops: (samplesPerSecond * trainingFlopsPerSample(workload)) / 1e9,
      startupToFirstStepSeconds: firstStepAt! / 1000,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      tensorsLeaked: tf.memory().numTensors - 3 - model.variables.length, // x, labels, one-hot stay
    }),
  );
}
