import { join } from 'node:path';
import { builtinExperiments } from '@axiom/experiments';
import { memoryHost, type ResolvedSeed, type Result, runExperiment, writeJsonAtomic } from '@axiom/runner/host';
import { type Experiment } from '@axiom/runner';
import { AXIOM } from './helpers.js';

/** `node <axiom>`: the built CLI, which has analyze, report and upload. */
export const axiomWithResultsCommands: [string, string] = [process.execPath, AXIOM];

/** Runs a built-in experiment's smoke preset in-process (wasm, a second or so) and writes its result where `axiom run --out` would. */
export async function runSmokeToFile(dir: string, experimentName: string, seed: number | ResolvedSeed): Promise<{ file: string; result: Result }> {
  const experiment = builtinExperiments.get(experimentName) as Experiment | undefined;
  if (!experiment) throw new Error(`no built-in experiment ${experimentName}`);
  const resolved = typeof seed === 'number' ? { value: seed, source: 'cli' as const, warnings: [] } : seed;
  const { result } = await runExperiment({ experiment, preset: 'smoke', seed: resolved, backend: { forced: 'wasm' }, host: memoryHost() });
  const file = join(dir, `${experimentName}-seed${resolved.value}-${result.resultId.slice(0, 8)}.json`);
  await writeJsonAtomic(file, result);
  return { file, result };
}
