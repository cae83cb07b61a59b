import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import {
  AxiomError,
  type BackendName,
  backendNameSchema,
  describeZodError,
  memoryHost,
  runExperiment,
  sha256HexSchema,
  writeJsonAtomic,
} from '@axiom/runner/host';
import { type Experiment } from '@axiom/runner';

/**
 * Golden digests pin the science: every built-in experiment's `smoke` preset, run with a fixed seed on
 * one backend, must keep its digest until its `version` changes. A change that alters results without
 * saying so fails CI.
 */
export const GOLDEN_SEED = 20261125;

export const goldenFileSchema = z.strictObject({
  seed: z.number().int(),
  backend: backendNameSchema,
  tfjsVersion: z.string(),
  experiments: z.record(z.string(), z.strictObject({ version: z.string(), digest: sha256HexSchema })),
});
export type GoldenFile = z.infer<typeof goldenFileSchema>;

/** The golden file that ships with the built-in experiments (resolved on use: a bundled worker has no node_modules). */
export function defaultGoldenPath(): string {
  return fileURLToPath(new URL('../golden-digests.json', import.meta.resolve('@axiom/experiments')));
}

export async function readGoldenFile(path: string): Promise<GoldenFile> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new AxiomError('usage', `cannot read golden file ${path}: ${(error as Error).message}`);
  }
  const parsed = goldenFileSchema.safeParse(data);
  if (!parsed.success) throw new AxiomError('usage', `${path} is not a golden file: ${describeZodError(parsed.error, goldenFileSchema)}`);
  return parsed.data;
}

/** Runs each experiment's smoke preset with the golden seed; reports each as it finishes. */
export async function computeGolden(experiments: Iterable<Experiment>, backend: BackendName, report: (line: string) => void = () => {}): Promise<GoldenFile> {
  const golden: GoldenFile = { seed: GOLDEN_SEED, backend, tfjsVersion: '', experiments: {} };
  for (const experiment of experiments) {
    const { result } = await runExperiment({
      experiment,
      preset: 'smoke',
      seed: { value: GOLDEN_SEED, source: 'cli', warnings: [] },
      backend: { forced: backend },
      host: memoryHost(),
    });
    if (result.status !== 'ok') throw new AxiomError('experimentFailed', `${experiment.name} smoke run ended ${result.status}: ${result.statusReason}`);
    golden.tfjsVersion = result.backend.tfjsVersion;
    golden.experiments[experiment.name] = { version: experiment.version, digest: result.digest };
    // The thread count actually used, so a check at 1 and at 2 threads shows it ran at both.
    const { name, threads, simd } = result.backend;
    report(
      `${experiment.name} ${experiment.version}: ${result.digest} (${name}, ${threads} thread(s), ${simd ? 'SIMD' : 'no SIMD'}, ${result.timings.wallSeconds.toFixed(1)} s)`,
    );
  }
  return golden;
}

/** Every way the current digests disagree with the golden file, as sentences; empty means all pinned. */
export function goldenProblems(golden: GoldenFile, current: GoldenFile): string[] {
  const problems: string[] = [];
  for (const [name, now] of Object.entries(current.experiments)) {
    const pinned = golden.experiments[name];
    if (!pinned) {
      problems.push(`${name}: not in the golden file; run \`axiom golden update\` and commit it`);
    } else if (pinned.digest !== now.digest && pinned.version === now.version) {
      problems.push(
        `${name}: its smoke digest changed (${pinned.digest.slice(0, 12)}… → ${now.digest.slice(0, 12)}…) but its version is still ${now.version}: ` +
          'if the change is intended, bump the version, then run `axiom golden update`',
      );
    } else if (pinned.version !== now.version) {
      problems.push(`${name}: version ${pinned.version} → ${now.version}; run \`axiom golden update\` to pin the new digest`);
    }
  }
  for (const name of Object.keys(golden.experiments)) {
    if (!current.experiments[name]) problems.push(`${name}: pinned in the golden file but no longer built in; run \`axiom golden update\``);
  }
  if (golden.tfjsVersion !== current.tfjsVersion && problems.length) {
    problems.push(`note: the golden digests were made with tfjs ${golden.tfjsVersion}, this run used ${current.tfjsVersion}`);
  }
  return problems;
}

export async function writeGoldenFile(path: string, golden: GoldenFile): Promise<void> {
  await writeJsonAtomic(path, golden);
}
