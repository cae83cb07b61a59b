import { access, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  canonicalJson,
  compareResults,
  describeComparison,
  describeTolerance,
  digestScope,
  errorMessage,
  type Result,
  resultDigest,
  resultSchema,
  type Workunit,
  workunitSchema,
} from '@axiom/runner/host';
import { type HeadlineMetric, type Tolerance } from '@axiom/runner';

/** What script_validator reads from the exit status (sched/script_validator.cpp). */
export const ValidatorExit = { valid: 0, invalid: 1, transient: 3 } as const;
export type ValidatorExitCode = (typeof ValidatorExit)[keyof typeof ValidatorExit];

export interface Verdict {
  exitCode: ValidatorExitCode;
  reason: string;
}

const invalid = (reason: string): Verdict => ({ exitCode: ValidatorExit.invalid, reason });
const transient = (reason: string): Verdict => ({ exitCode: ValidatorExit.transient, reason });

class Rejection extends Error {
  constructor(readonly verdict: Verdict) {
    super(verdict.reason);
  }
}

/** A result file as uploaded: a missing or unparsable file is the volunteer's fault; an I/O error is ours (retry). */
async function readResult(path: string): Promise<Result> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Rejection((missing ? invalid : transient)(`${path}: ${errorMessage(error)}`));
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new Rejection(invalid(`${path}: not JSON (${errorMessage(error)})`));
  }
  const parsed = resultSchema.safeParse(data);
  if (!parsed.success)
    throw new Rejection(invalid(`${path}: not a result: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`));
  return parsed.data;
}

/** Where validate finds a result's workunit: given directly, or looked up by name in the make-work output. */
export type WorkunitSource = { file: string } | { directory: string };

/**
 * BOINC names an output file `<wu name>_<n>_r<id>_<i>` (the exact suffix depends on the server version),
 * so the workunit is the longest `_`-separated prefix of the file name with a `<prefix>.json` in the directory.
 */
async function findWorkunitFile(resultPath: string, directory: string): Promise<string | undefined> {
  const parts = basename(resultPath).split('_');
  for (let length = parts.length; length > 0; length--) {
    const candidate = join(directory, `${parts.slice(0, length).join('_')}.json`);
    if (
      await access(candidate).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  return undefined;
}

async function workunitFile(resultPath: string, source: WorkunitSource): Promise<string> {
  if ('file' in source) return source.file;
  const found = await findWorkunitFile(resultPath, source.directory);
  // Not the volunteer's fault: retry later, and the operator sees it in the validator's log.
  if (!found) throw new Rejection(transient(`no workunit for ${basename(resultPath)} in ${source.directory}`));
  return found;
}

async function loadWorkunit(resultPath: string, source: WorkunitSource): Promise<Workunit> {
  const file = await workunitFile(resultPath, source);
  try {
    return workunitSchema.parse(JSON.parse(await readFile(file, 'utf8')));
  } catch (error) {
    throw new Rejection(transient(`workunit ${file}: ${errorMessage(error)}`));
  }
}

/** Checks what the worker recorded against what the workunit asked for. Returns the first mismatch. */
function workunitMismatch(result: Result, workunit: Workunit): string | undefined {
  if (result.seed.value !== workunit.seed) return `seed ${result.seed.value} is not the workunit's ${workunit.seed}`;
  if (result.seed.source !== 'wu.json' || result.seed.fallbackReason) {
    return `seed came from ${result.seed.source}${result.seed.fallbackReason ? ` (${result.seed.fallbackReason})` : ''}, not from the workunit`;
  }
  const experiment = workunit.experiment;
  if (typeof experiment === 'string' ? result.experiment.name !== experiment : result.experiment.script?.sha256 !== experiment.sha256) {
    return `experiment ${result.experiment.script?.sha256 ?? result.experiment.name} is not the workunit's`;
  }
  if (result.preset !== (workunit.preset ?? null)) return `preset ${result.preset} is not the workunit's ${workunit.preset ?? 'none'}`;
  for (const [name, value] of Object.entries(workunit.params ?? {})) {
    if (canonicalJson(result.params[name]) !== canonicalJson(value)) return `param ${name} is not the workunit's`;
  }
  return undefined;
}

/** Checks of one result on its own: a complete computation whose digest matches its content. */
function resultDefect(result: Result): string | undefined {
  // partial results are cut short by a deadline: incomplete science, which replicas could not confirm.
  if (result.status !== 'ok') return `status ${result.status}${result.statusReason ? ` (${result.statusReason})` : ''}`;
  // A digest proves equality, not tampering (replication guards against that): say only that the values differ.
  if (resultDigest(result.metrics, result.units) !== result.digest) return 'digest does not match metrics and units: the values differ from the ones digested';
  return undefined;
}

/** An unexpected error is a bug on the server, never the volunteer's fault: retry rather than reject. */
const verdictOf = async (check: () => Promise<Verdict>): Promise<Verdict> => {
  try {
    return await check();
  } catch (error) {
    return error instanceof Rejection ? error.verdict : transient(`validator error: ${errorMessage(error)}`);
  }
};

/** script_validator's init script: is this one result valid? */
export function validateResult(resultPath: string, workunits: WorkunitSource): Promise<Verdict> {
  return verdictOf(async () => {
    const result = await readResult(resultPath);
    const problem = resultDefect(result) ?? workunitMismatch(result, await loadWorkunit(resultPath, workunits));
    return problem
      ? invalid(`${basename(resultPath)}: ${problem}`)
      : { exitCode: ValidatorExit.valid, reason: `${basename(resultPath)}: valid (seed ${result.seed.value}, digest ${result.digest.slice(0, 12)})` };
  });
}

/**
    const across = `${firstScope} vs ${secondScope}; ${describeTolerance(tolerance)}`;
 */
export function compareReplicas(
  firstPath: string,
  secondPath: string,
  toleranceOf: (experiment: string) => Tolerance | readonly HeadlineMetric[],
): Promise<Verdict> {
  return verdictOf(async () => {
    const [first, second] = [await readResult(firstPath), await readResult(secondPath)];
    // compareResults trusts equal digests, so a digest must first be shown to match its content.
    for (const [path, result] of [
      [firstPath, first],
      [secondPath, second],
    ] as const) {
      const defect = resultDefect(result);
      if (defect) return invalid(`${basename(path)}: ${defect}`);
    }
    // Digests are per backend and, on WebGPU, per adapter and driver.
    const [firstScope, secondScope] = [digestScope(first.backend), digestScope(second.backend)];
    if (firstScope === secondScope) {
      return first.digest === second.digest
        ? { exitCode: ValidatorExit.valid, reason: `equal digests on ${firstScope}` }
        : invalid(`digests differ on the same backend (${firstScope}): ${first.digest.slice(0, 12)} vs ${second.digest.slice(0, 12)}`);
    }
    const tolerance = toleranceOf(first.experiment.name);
    const comparison = compareResults(first, second, tolerance);
    const across = `${firstScope} vs ${secondScope}; ${describeTolerance(tolerance)}`;
    return comparison.withinTolerance
      ? { exitCode: ValidatorExit.valid, reason: `agree within tolerance (${across})` }
      : invalid(`disagree (${across}):\n${describeComparison(comparison)}`);
  });
}
