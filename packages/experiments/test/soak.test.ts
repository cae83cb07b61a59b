import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { memoryHost, runExperiment } from '@axiom/runner/host';
import { type JsonObject } from '@axiom/runner';
import { builtinExperiments } from '@axiom/experiments';

interface MemorySample {
  unitsDone: number;
  numTensors: number;
  rssMiB: number;
}

/** Runs memorization-dynamics with `params` and samples tensors and RSS each time a unit finishes. */
async function soak(preset: string | undefined, params: JsonObject): Promise<MemorySample[]> {
  const samples: MemorySample[] = [];
  const host = memoryHost();
  await runExperiment({
    experiment: builtinExperiments.get('memorization-dynamics')!,
    preset,
    paramLayers: [{ origin: 'soak', values: params }],
    seed: { value: 31337, source: 'cli', warnings: [] },
    backend: { forced: 'wasm' },
    host: {
      ...host,
      progress: ({ unitsDone }) => {
        if (unitsDone > (samples.at(-1)?.unitsDone ?? 0)) {
          samples.push({ unitsDone, numTensors: tf.memory().numTensors, rssMiB: Math.round(process.memoryUsage.rss() / 2 ** 20) });
        }
      },
    },
  });
  return samples;
}

// AXIOM_SOAK=full runs the default sweep with three replicates per level (12 units, minutes) and prints the samples.
const full = process.env.AXIOM_SOAK === 'full';

describe('soak: memory across the units of a sweep', () => {
  it('holds the same number of tensors after every unit; RSS does not keep growing', async () => {
    // Unstacked, so every unit is a group of its own and memory is sampled after each.
    const samples = full
      ? await soak(undefined, { replicates: 3, stacking: 'off' })
      : await soak('smoke', { corruptionLevels: [0, 0.2, 0.4, 0.6], replicates: 2, epochs: 4, stacking: 'off' });
    expect(tf.getBackend()).toBe('wasm'); // the engine the run used, so the counts are its tensors
    console.log(`soak samples: ${JSON.stringify(samples)}`);
    expect(samples.length).toBe(full ? 12 : 8);
    expect(new Set(samples.map((s) => s.numTensors)).size).toBe(1);
    // Allow the heap to settle over the first units; after that, growth would be a leak.
    const settled = samples.slice(samples.length / 2);
    expect(settled.at(-1)!.rssMiB - settled[0]!.rssMiB).toBeLessThan(full ? 64 : 32);
  });
});
