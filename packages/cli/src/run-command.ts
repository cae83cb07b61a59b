import { readFile, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';

import {
  AxiomError,
  type BackendName,
  canonicalJson,
  defaultScriptCacheDir,
  ExitCode,
  fileCheckpointStore,
  fileResultSink,
  type GpuAssignment,
  headlinePaths,
  jsonObjectSchema,
  listAdapters,
  type ParamLayer,
  parseExplicitSeed,
  resolveExperiment,
  resolveSeed,
  type Result,
  type RunOutcome,
  type SelfLauncher,
  type ScriptOptions,
  sha256Hex,
  valueAt,
  type WorkunitFile,
} from '@axiom/runner/host';
import { type JsonObject, type JsonValue } from '@axiom/runner';
import { builtinExperiments } from '@axiom/experiments';
import { loadWorkunitFile } from '@axiom/wrapper';
import { metricName } from './findings.js';
import { formatSeconds } from './terminal.js';
import { runInTerminal } from './terminal-host.js';
import { uploadOrSpool } from './upload-command.js';

export interface RunCommandOptions {
  sha256?: string;
  allowUnverified?: boolean;
  trustedKey?: string;
  cacheDir?: string;
  wu?: string;
  seed?: string;
  requireSeed?: boolean;
  preset?: string;
  params?: string;
  out?: string;
  backend?: BackendName;
  expectDigest?: string;
  upload?: string;
  spoolDir?: string;
  /** A path, false for none (--no-checkpoint), or undefined for the default place. */
  checkpoint?: string | false;
  checkpointPeriod?: string;
  restart?: boolean;
  threads?: string;
  /** `--workers`: processes for the sweep's groups (default: all cores). */
  workers?: string;
  /** `--gpu`: a WebGPU adapter index, or `list`. */
  gpu?: string;
  /** How this worker starts itself as a fetched script's sandbox. */
  sandbox: SelfLauncher;
  /** How it starts itself as a worker of the run's pool. */
  poolWorker: SelfLauncher;
}

export async function readParamsOption(text: string): Promise<JsonObject> {
  const trimmed = text.trim();
  let source = trimmed;
  if (!trimmed.startsWith('{')) {
    try {
      source = await readFile(trimmed, 'utf8');
    } catch (error) {
      throw new AxiomError('badParams', `--params: "${text}" is neither a JSON object nor a readable file (${(error as NodeJS.ErrnoException).code})`);
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (error) {
    throw new AxiomError('badParams', `--params: not valid JSON: ${(error as Error).message}`);
  }
  const parsed = jsonObjectSchema.safeParse(value);
  if (!parsed.success) throw new AxiomError('badParams', '--params must be a JSON object, e.g. --params \'{"epochs": 10}\'');
  return parsed.data;
}

/** How scripts by URL are trusted and cached, from the command line and the environment. */
export async function scriptOptions(options: Pick<RunCommandOptions, 'trustedKey' | 'cacheDir' | 'allowUnverified'>): Promise<ScriptOptions> {
  const keyPath = options.trustedKey ?? process.env.AXIOM_TRUSTED_KEY;
  let publicKeyPem: string | undefined;
  if (keyPath) {
    try {
      publicKeyPem = await readFile(keyPath, 'utf8');
    } catch (error) {
      throw new AxiomError('usage', `--trusted-key: cannot read ${keyPath} (${(error as NodeJS.ErrnoException).code})`);
    }
  }
  return {
    cacheDir: options.cacheDir ?? defaultScriptCacheDir(),
    publicKeyPem,
    allowUnverified: options.allowUnverified,
    log: (message) => process.stderr.write(`axiom: ${message}\n`),
  };
}

/** `axiom run --gpu list`: Dawn's adapters, numbered as `--gpu N` takes them. */
export async function adapterTable(): Promise<string> {
  const adapters = await listAdapters();
  if (adapters.length === 0) return 'no WebGPU adapter (Dawn found none)';
  return adapters
    .map(
      ({ info }) =>
        `${info.index}  ${info.name}  vendor: ${info.vendor}  driver: ${info.driver}${info.software ? '  (software: used only when named with --gpu)' : ''}`,
    )
    .join('\n');
}

function gpuOption(text: string | undefined): GpuAssignment | undefined {
  if (text === undefined) return undefined;
  const device = Number(text);
  if (!Number.isInteger(device) || device < 0) throw new AxiomError('usage', `--gpu must be an adapter number (see --gpu list), got "${text}"`);
  return { source: 'cli', device };
}

function nonNegativeNumber(text: string, option: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new AxiomError('usage', `${option} must be a number of seconds, got "${text}"`);
  return value;
}

function positiveInteger(text: string, option: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new AxiomError('usage', `${option} must be a positive integer, got "${text}"`);
  return value;
}

/** The width the summary fits (an 80-column terminal); longer lines end in "…". */
const COLUMNS = 80;
const fit = (line: string) => (line.length <= COLUMNS ? line : `${line.slice(0, COLUMNS - 1)}…`);

const formatValue = (value: JsonValue | undefined): string =>
  typeof value === 'number' && !Number.isInteger(value) ? value.toFixed(4) : Array.isArray(value) ? value.map(formatValue).join(', ') : JSON.stringify(value);

/** Every leaf of the metrics, as a path of keys. */
const leafPaths = (value: JsonValue, path: string[] = []): string[][] =>
  value !== null && typeof value === 'object' && !Array.isArray(value)
    ? Object.entries(value).flatMap(([key, inner]) => leafPaths(inner, [...path, key]))
    : [path];

/**
 * The results in the summary, named for people: a built-in experiment's declared headline metrics (the
 * rest is in the result file), any other experiment's every value.
 */
function headlineLines(result: Result): string[] {
  const experiment = builtinExperiments.get(result.experiment.name);
  const paths = experiment?.headline ? experiment.headline.flatMap(({ metric }) => headlinePaths(metric, result.metrics)) : leafPaths(result.metrics);
  return paths.map((path) => `  ${metricName(path, experiment?.findings)}: ${formatValue(valueAt(result.metrics, path))}`);
}

export function summarise(outcome: RunOutcome): string {
  const r: Result = outcome.result;
  return [
    `${r.experiment.name} ${r.experiment.version}: ${r.status}${r.statusReason ? ` (${r.statusReason})` : ''}`,
    `  seed: ${r.seed.value} (from ${r.seed.source})   backend: ${r.backend.name}${r.backend.gpu ? ` on ${r.backend.gpu.adapter.name}` : ''}   time: ${formatSeconds(r.timings.wallSeconds)}   units: ${r.units.length}`,
    ...(Object.keys(r.metrics).length ? ['results:', ...headlineLines(r)] : []),
    `digest: ${r.digest}`,
  ]
    .map(fit)
    .concat(`result: ${outcome.location}`) // a path is never cut
    .join('\n');
}

/**
 * Where `axiom run` keeps a command's checkpoint unless told: `.checkpoints/` in the result directory,
 * named for what makes the run (experiment, preset, parameters, seed, backend), so the same command finds it.
 */
export function defaultCheckpointPath(
  resultDirectory: string,
  command: { experiment: unknown; preset: string | undefined; paramLayers: ParamLayer[]; seed: number | 'random'; backend: string },
): string {
  const name = typeof command.experiment === 'string' ? basename(command.experiment).replace(/\.m?js$/, '') : 'script';
  const key = sha256Hex(
    canonicalJson(JSON.parse(JSON.stringify({ ...command, paramLayers: command.paramLayers.map((layer) => layer.values) })) as JsonValue),
  ).slice(0, 16);
  return join(resultDirectory, '.checkpoints', `${name}-${key}.ckpt`);
}

/** `axiom run`: the local host of the runner. Returns the process exit code. */
export async function runCommand(reference: string | undefined, options: RunCommandOptions): Promise<number> {
  if (options.gpu === 'list') {
    process.stdout.write(`${await adapterTable()}\n`);
    return ExitCode.ok;
  }
  const workunit: WorkunitFile | undefined = options.wu ? await loadWorkunitFile(options.wu) : undefined;
  const named = reference && /^https?:\/\//.test(reference) ? { url: reference, sha256: options.sha256 } : reference;
  const chosen = named ?? workunit?.body?.experiment;
  if (!chosen) {
    const why = workunit?.seedProblem ? ` (${workunit.seedProblem.message})` : '';
    throw new AxiomError('usage', `no experiment given: name one (axiom list) or pass --wu with a usable wu.json${why}`);
  }
  const resolved = await resolveExperiment(chosen, builtinExperiments, await scriptOptions(options));

  const envSeed = process.env.AXIOM_SEED;
  const explicit =
    options.seed !== undefined
      ? { value: parseExplicitSeed(options.seed, '--seed'), source: 'cli' as const }
      : envSeed !== undefined && envSeed !== ''
        ? { value: parseExplicitSeed(envSeed, 'AXIOM_SEED'), source: 'env' as const }
        : undefined;
  const seed = resolveSeed({ explicit, workunit, requireSeed: options.requireSeed });

  const paramLayers: ParamLayer[] = [];
  if (workunit?.body?.params) paramLayers.push({ origin: 'wu.json params', values: workunit.body.params });
  if (options.params !== undefined) paramLayers.push({ origin: '--params', values: await readParamsOption(options.params) });

  const preset = options.preset ?? workunit?.body?.preset;
  const checkpointPath =
    options.checkpoint === false
      ? undefined
      : (options.checkpoint ??
        defaultCheckpointPath(options.out ? dirname(options.out) : 'results', {
          experiment: chosen,
          preset,
          paramLayers,
          seed: seed.source === 'crypto-fallback' ? 'random' : seed.value,
          backend: options.backend ?? 'default',
        }));
  const checkpoints =
    checkpointPath === undefined ? undefined : fileCheckpointStore(checkpointPath, nonNegativeNumber(options.checkpointPeriod ?? '60', '--checkpoint-period'));
  if (checkpointPath !== undefined && options.restart) await rm(checkpointPath, { force: true });
  // A run on a random seed resumes on the seed its checkpoint recorded: that is the same run.
  if (seed.source === 'crypto-fallback' && checkpoints) {
    const saved = (await checkpoints.load()) as { seed?: unknown } | undefined;
    if (typeof saved?.seed === 'number') seed.value = saved.seed;
  }

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const out = options.out ?? { directory: 'results', name: (result: Result) => `${result.experiment.name}-seed${seed.value}-${stamp}.json` };
  const outcome = await runInTerminal(
    resolved,
    {
      warnings: resolved.warnings,
      preset,
      paramLayers,
      seed,
      replicate: workunit?.body?.replicate,
      deadline: workunit?.body?.deadlineSeconds === undefined ? undefined : Date.now() + workunit.body.deadlineSeconds * 1000,
      backend: {
        forced: options.backend,
        gpu: gpuOption(options.gpu),
        threads: options.threads === undefined ? undefined : positiveInteger(options.threads, '--threads'),
      },
      pool: { workers: options.workers === undefined ? availableParallelism() : positiveInteger(options.workers, '--workers'), launcher: options.poolWorker },
    },
    { sink: fileResultSink(out), checkpoints, sandbox: options.sandbox },
  ).catch((error: unknown) => {
    if (error instanceof AxiomError && error.kind === 'badCheckpoint') {
      throw new AxiomError('badCheckpoint', `${error.message} (checkpoint ${checkpointPath}; run with --restart to discard it and start over)`);
    }
    throw error;
  });
  process.stdout.write(`${summarise(outcome)}\n`);
  if (outcome.result.status === 'partial' && checkpointPath !== undefined && outcome.exitCode === ExitCode.interrupted) {
    process.stdout.write(`checkpoint: ${checkpointPath} (run the same command again to resume)\n`);
  }
  if (options.upload) process.stdout.write(`upload: ${await uploadOrSpool(outcome.result, options.upload, options.spoolDir)}\n`);
  if (options.expectDigest !== undefined && outcome.result.digest !== options.expectDigest.toLowerCase()) {
    process.stderr.write(
      `axiom: error: digest ${outcome.result.digest} differs from the expected ${options.expectDigest}; run \`axiom reproduce ${outcome.location}\` against the expected result to see what changed\n`,
    );
    return ExitCode.notReproduced;
  }
  return outcome.exitCode;
}
