import { readFile } from 'node:fs/promises';
import {
  AxiomError,
  type BackendName,
  BIT_IDENTICAL,
  compareResults,
  describeComparison,
  describeTolerance,
  describeZodError,
  digestScope,
  ExitCode,
  fileResultSink,
  resolveExperiment,
  type Result,
  resultSchema,
  type ResultSink,
} from '@axiom/runner/host';
import { type Experiment, type Tolerance } from '@axiom/runner';
import { builtinExperiments } from '@axiom/experiments';
import { scriptOptions, type RunCommandOptions } from './run-command.js';
import { runInTerminal } from './terminal-host.js';

/**
 * Across backends floats round differently and training trajectories drift: an experiment that declares
 * no headline metrics must agree this closely on every value.
 */
export const CROSS_BACKEND_TOLERANCE: Tolerance = { absolute: 0.02, relative: 0.02 };

/** What two backends must agree on for this experiment: its headline metrics when it declares them. */
export const crossBackendTolerance = (experiment: Pick<Experiment, 'headline'> | undefined) => experiment?.headline ?? CROSS_BACKEND_TOLERANCE;

export async function readResultFile(path: string): Promise<Result> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new AxiomError('usage', `${path}: cannot read a result (${(error as Error).message})`);
  }
  const parsed = resultSchema.safeParse(data);
  if (!parsed.success) throw new AxiomError('usage', `${path} is not a valid result: ${describeZodError(parsed.error, resultSchema)}`);
  return parsed.data;
}

const discard: ResultSink = { prepare: async () => {}, write: async () => '(not kept: pass --out to keep it)' };

/** `axiom reproduce`: re-runs what a result recorded and says whether, and where, the new run differs. */
export async function reproduceCommand(
  path: string,
  options: Pick<RunCommandOptions, 'trustedKey' | 'cacheDir' | 'out' | 'sandbox'> & { backend?: BackendName },
): Promise<number> {
  const original = await readResultFile(path);
  const script = original.experiment.script;
  // A local file is re-loaded as it is now (a changed file shows up as a changed sha256); a fetched script by its pinned hash.
  const reference = !script ? original.experiment.name : script.verification === 'local-file' ? script.url : { url: script.url, sha256: script.sha256 };
  const resolved = await resolveExperiment(reference, builtinExperiments, await scriptOptions({ ...options, allowUnverified: false }));
  const backend = options.backend ?? original.backend.name;
  if (original.status !== 'ok') {
    process.stderr.write(`axiom: note: ${path} is ${original.status} (${original.statusReason}); the re-run computes every unit\n`);
  }
  const outcome = await runInTerminal(
    resolved,
    {
      warnings: resolved.warnings,
      paramLayers: [{ origin: `params recorded in ${path}`, values: original.params }],
      seed: { value: original.seed.value, source: 'cli', warnings: [] },
      backend: { forced: backend },
    },
    { sink: options.out ? fileResultSink(options.out) : discard, sandbox: options.sandbox },
  );
  // Digests are per backend and, on WebGPU, per adapter and driver: another one is compared within the experiment's tolerance.
  const [was, now] = [digestScope(original.backend), digestScope(outcome.result.backend)];
  const crossBackend = was !== now;
  const tolerance = crossBackend ? crossBackendTolerance(resolved.kind === 'in-process' ? resolved.experiment : undefined) : BIT_IDENTICAL;
  const comparison = compareResults(original, outcome.result, tolerance);
  const mode = crossBackend ? `on ${now} instead of ${was}: ${describeTolerance(tolerance)}` : `on ${now}: digests must be identical`;
  process.stdout.write(
    [
      `reproducing ${original.experiment.name} ${original.experiment.version}, seed ${original.seed.value}, ${mode}`,
      `original digest: ${original.digest}`,
      `re-run digest:   ${outcome.result.digest}   (result: ${outcome.location})`,
      describeComparison(comparison),
    ].join('\n') + '\n',
  );
  const reproduced = crossBackend ? comparison.withinTolerance : comparison.identicalDigest;
  return reproduced ? ExitCode.ok : ExitCode.notReproduced;
}
