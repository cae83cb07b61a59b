import { ExitCode } from '@axiom/runner/host';
import { builtinExperiments } from '@axiom/experiments';
import { computeGolden, defaultGoldenPath, goldenProblems, readGoldenFile, writeGoldenFile } from './golden.js';

const report = (line: string) => process.stderr.write(`  ${line}\n`);

/** `axiom golden check`: re-runs every smoke preset with the golden seed and compares digests. */
export async function goldenCheckCommand(options: { file?: string }): Promise<number> {
  const path = options.file ?? defaultGoldenPath();
  const golden = await readGoldenFile(path);
  process.stderr.write(`axiom: checking ${builtinExperiments.size} experiment(s) against ${path} (seed ${golden.seed}, ${golden.backend})\n`);
  const problems = goldenProblems(golden, await computeGolden(builtinExperiments.values(), golden.backend, report));
  if (problems.length === 0) {
    process.stdout.write(`golden check passed: ${builtinExperiments.size} experiment(s) reproduce their pinned digests\n`);
    return ExitCode.ok;
  }
  process.stdout.write(`golden check failed:\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
  return ExitCode.notReproduced;
}

/** `axiom golden update`: rewrites the golden file from the current experiments. */
export async function goldenUpdateCommand(options: { file?: string; backend: 'wasm' | 'cpu' }): Promise<number> {
  const path = options.file ?? defaultGoldenPath();
  await writeGoldenFile(path, await computeGolden(builtinExperiments.values(), options.backend, report));
  process.stdout.write(`wrote ${path}\n`);
  return ExitCode.ok;
}
