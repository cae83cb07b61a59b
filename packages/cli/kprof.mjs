import * as tf from '@tensorflow/tfjs-core';
import { initBackend, memoryHost, runExperiment } from '@axiom/runner/host';
import { builtinExperiments } from '@axiom/experiments';
await initBackend({ forced: 'wasm', threads: 1 });
const times = new Map();
for (const config of tf.getKernelsForBackend('wasm')) {
  const inner = config.kernelFunc;
  tf.unregisterKernel(config.kernelName, 'wasm');
  tf.registerKernel({ ...config, kernelFunc: (args) => { const t0 = performance.now(); try { return inner(args); } finally { const e = times.get(config.kernelName) ?? [0, 0]; e[0] += performance.now() - t0; e[1]++; times.set(config.kernelName, e); } } });
}
const name = process.argv[2], preset = process.argv[3];
const t0 = performance.now(), c0 = process.cpuUsage();
const { result } = await runExperiment({ experiment: builtinExperiments.get(name), preset: preset === 'default' ? undefined : preset, seed: { value: 1, source: 'cli', warnings: [] }, backend: { forced: 'wasm', threads: 1 }, host: memoryHost() });
const wall = performance.now() - t0, cpu = process.cpuUsage(c0).user / 1000;
let total = 0; for (const [, [ms]] of times) total += ms;
console.log(name, result.status, 'wall', (wall / 1000).toFixed(1), 'cpu', (cpu / 1000).toFixed(1), 'in kernels', (total / 1000).toFixed(1));
[...times].sort((a, b) => b[1][0] - a[1][0]).slice(0, 25).forEach(([k, [ms, n]]) => console.log(k.padEnd(34), (ms / 1000).toFixed(2).padStart(7), 's', String(n).padStart(9), 'calls', (ms * 1000 / n).toFixed(1).padStart(7), 'µs/call'));
