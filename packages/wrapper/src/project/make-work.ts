import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Workunit, workunitSchema, writeJsonAtomic } from '@axiom/runner/host';
import { APP_NAME } from './app-version.js';
import { recordSeeds, reserveSeeds } from './seed-ledger.js';

export const INPUT_TEMPLATE = 'axiom_in';
export const OUTPUT_TEMPLATE = 'axiom_out';
/** Results are a few hundred KB; the cap only stops a runaway upload. */
const MAX_RESULT_BYTES = 50_000_000;

/** BOINC JobTemplates: wu.json is the one input, opened by the worker as `wu.json` (a link file is fine). */
export function inputTemplate(options: { fpopsEstimate: number; fpopsBound: number; delayBoundSeconds: number }): string {
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

export interface MakeWorkOptions {
  experiment: Workunit['experiment'];
  count: number;
  /** Results per workunit (BOINC's min_quorum and target_nresults): replicas share the workunit's seed. */
  replicas: number;
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

const shellQuote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

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
  await writeFile(join(options.outDir, 'templates', INPUT_TEMPLATE), inputTemplate({ fpopsEstimate: 3e11, fpopsBound: 3e14, delayBoundSeconds }));
  await writeFile(join(options.outDir, 'templates', OUTPUT_TEMPLATE), outputTemplate);
  const scriptPath = join(options.outDir, 'create_work.sh');
  const lines = [
    '#!/bin/sh',
    '# Run from the BOINC project directory. Stages each wu.json into the download hierarchy and creates its workunit.',
    'set -e',
    'batch=$(cd "$(dirname "$0")" && pwd)',
    `cp "$batch/templates/${INPUT_TEMPLATE}" "$batch/templates/${OUTPUT_TEMPLATE}" templates/`,
    ...workunits.flatMap(({ name }) => [
      `bin/stage_file --copy ${shellQuote(join(workunitDir, `${name}.json`))}`,
      `bin/create_work --appname ${APP_NAME} --wu_name ${shellQuote(name)} --wu_template templates/${INPUT_TEMPLATE} --result_template templates/${OUTPUT_TEMPLATE}` +
        ` --min_quorum ${options.replicas} --target_nresults ${options.replicas} ${shellQuote(`${name}.json`)}`,
    ]),
    '',
  ];
  await writeFile(scriptPath, lines.join('\n'));
  await chmod(scriptPath, 0o755);
  return { workunits, scriptPath };
}
