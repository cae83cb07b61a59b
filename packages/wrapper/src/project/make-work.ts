import { createHash } from 'node:crypto';
import { chmod, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Workunit, workunitSchema, writeJsonAtomic } from '@axiom/runner/host';
import { APP_NAME } from './app-version.js';
import type { WorkunitCost } from './cost-model.js';
import { recordSeeds, reserveSeeds } from './seed-ledger.js';

export const OUTPUT_TEMPLATE = 'axiom_out';
/** Results are a few hundred KB; the cap only stops a runaway upload. */
const MAX_RESULT_BYTES = 50_000_000;

/**
 * BOINC JobTemplates: wu.json is the one input, opened by the worker as `wu.json` (a link file is fine).
 * The template carries the workunit's cost (the estimates are per configuration, and a batch is one).
 */
export function inputTemplate(options: WorkunitCost & { delayBoundSeconds: number }): string {
  return `<input_template>
    <file_info>
        <number>0</number>
    </file_info>
    <workunit>
        <file_ref>
            <file_number>0</file_number>
            <open_name>wu.json</open_name>
        </file_ref>
        <rsc_fpops_est>${options.fpopsEstimate}</rsc_fpops_est>
        <rsc_fpops_bound>${options.fpopsBound}</rsc_fpops_bound>
        <rsc_memory_bound>${options.memoryBoundBytes}</rsc_memory_bound>
        <rsc_disk_bound>${options.diskBoundBytes}</rsc_disk_bound>
        <delay_bound>${options.delayBoundSeconds}</delay_bound>
    </workunit>
</input_template>
`;
}

/** One output, `result.json`, uploaded as soon as the worker has written it. */
export const outputTemplate = `<output_template>
    <file_info>
        <name><OUTFILE_0/></name>
        <generated_locally/>
        <upload_when_present/>
        <max_nbytes>${MAX_RESULT_BYTES}</max_nbytes>
        <url><UPLOAD_URL/></url>
    </file_info>
    <result>
        <file_ref>
            <file_name><OUTFILE_0/></file_name>
            <open_name>result.json</open_name>
        </file_ref>
    </result>
</output_template>
`;

/**
 * How many results BOINC may create for a workunit before giving up on it (create_work's max_* options).
 * Without them create_work stores max_error_results 1 and max_total_results = target_nresults
 * (tools/process_input_template.cpp): one client error fails the workunit and a disagreement can never
 * be settled, because no further replica may be sent.
 */
export interface ResultLimits {
  maxErrorResults: number;
  maxTotalResults: number;
  maxSuccessResults: number;
}

/**
 * Room for a disagreement to be settled: with R replicas that split, R more can form a quorum with
 * either side; a few client errors (a volunteer's crash, an abort) are tolerated on top.
 */
export function defaultResultLimits(replicas: number): ResultLimits {
  const maxErrorResults = 3;
  const maxSuccessResults = 2 * replicas;
  return { maxErrorResults, maxSuccessResults, maxTotalResults: maxSuccessResults + maxErrorResults };
}

export interface MakeWorkOptions {
  experiment: Workunit['experiment'];
  count: number;
  /** Results per workunit (BOINC's min_quorum and target_nresults): replicas share the workunit's seed. */
  replicas: number;
  /** Default: defaultResultLimits(replicas). */
  limits?: ResultLimits;
  /** The cost of one workunit (estimateCost for a built-in experiment). */
  cost: WorkunitCost;
  params?: Workunit['params'];
  preset?: string;
  deadlineSeconds?: number;
  outDir: string;
  /** Where the wu.json files go (default `<outDir>/workunits`); one directory for all batches is what the validator looks in. */
  workunitDir?: string;
  ledgerPath: string;
  /** Use these seeds instead of drawing them (still refused if the ledger has any). */
  seeds?: number[];
  drawSeed?: () => number;
}

export interface MadeWork {
  workunits: Array<{ name: string; path: string; workunit: Workunit }>;
  scriptPath: string;
}

/** The workunit name carries the seed, so a result file's name leads back to its workunit. */
export function workunitName(workunit: Workunit): string {
  const label = typeof workunit.experiment === 'string' ? workunit.experiment : `script-${workunit.experiment.sha256.slice(0, 12)}`;
  return `${APP_NAME}_${label}_s${workunit.seed}`;
}

/**
 * `axiom boinc make-work`: N workunits of one configuration, each with its own seed (the replicates of
 * the configuration), recorded in the seed ledger before anything is written; the JobTemplates; and
 * `create_work.sh`, which stages each wu.json and creates its workunit with R replicas.
 */
export async function makeWork(options: MakeWorkOptions): Promise<MadeWork> {
  let seeds = options.seeds;
  if (seeds) await recordSeeds(options.ledgerPath, seeds);
  else seeds = await reserveSeeds(options.ledgerPath, options.count, options.drawSeed);
  const workunitDir = resolve(options.workunitDir ?? join(options.outDir, 'workunits'));
  await mkdir(workunitDir, { recursive: true });
  await mkdir(join(options.outDir, 'templates'), { recursive: true });
  const workunits: MadeWork['workunits'] = [];
  for (const seed of seeds) {
    const workunit = workunitSchema.parse({
      experiment: options.experiment,
      seed,
      ...(options.preset && { preset: options.preset }),
      ...(options.params && { params: options.params }),
      ...(options.deadlineSeconds && { deadlineSeconds: options.deadlineSeconds }),
    });
    const name = workunitName(workunit);
    const path = join(workunitDir, `${name}.json`);
    await writeJsonAtomic(path, workunit);
    workunits.push({ name, path, workunit });
  }
  const delayBoundSeconds = options.deadlineSeconds ? options.deadlineSeconds * 4 : 7 * 86_400;
  const input = inputTemplate({ ...options.cost, delayBoundSeconds });
  // Template files are project-wide (templates/): one name per content, so batches never overwrite each other's.
  const inputTemplateName = `axiom_in_${createHash('sha256').update(input).digest('hex').slice(0, 12)}`;
  await writeFile(join(options.outDir, 'templates', inputTemplateName), input);
  await writeFile(join(options.outDir, 'templates', OUTPUT_TEMPLATE), outputTemplate);
  // stage_file stages a whole directory in one call: this batch's files, linked.
  const stageDir = join(options.outDir, 'stage');
  await rm(stageDir, { recursive: true, force: true });
  await mkdir(stageDir);
  for (const { name, path } of workunits) await symlink(path, join(stageDir, `${name}.json`));
  const limits = options.limits ?? defaultResultLimits(options.replicas);
  const scriptPath = join(options.outDir, 'create_work.sh');
  const lines = [
    '#!/bin/sh',
    '# Run from the BOINC project directory. Stages the wu.json files into the download hierarchy and creates',
    '# every workunit with one create_work call (one line per workunit on its standard input).',
    'set -e',
    'batch=$(cd "$(dirname "$0")" && pwd)',
    `cp "$batch/templates/${inputTemplateName}" "$batch/templates/${OUTPUT_TEMPLATE}" templates/`,
    'bin/stage_file --copy "$batch/stage"',
    `bin/create_work --appname ${APP_NAME} --wu_template templates/${inputTemplateName} --result_template templates/${OUTPUT_TEMPLATE}` +
      ` --min_quorum ${options.replicas} --target_nresults ${options.replicas}` +
      ` --max_error_results ${limits.maxErrorResults} --max_total_results ${limits.maxTotalResults} --max_success_results ${limits.maxSuccessResults}` +
      " --stdin <<'EOF'",
    ...workunits.map(({ name }) => `--wu_name ${name} ${name}.json`),
    'EOF',
    '',
  ];
  await writeFile(scriptPath, lines.join('\n'));
  await chmod(scriptPath, 0o755);
  return { workunits, scriptPath };
}
