import { fileURLToPath } from 'node:url';
import { type Command, Option } from 'commander';
import { build } from 'esbuild';
import { builtinExperiments } from '@axiom/experiments';
import {
  AxiomError,
  dawnPackageFiles,
  hostKernelsForAppVersion,
  parseExplicitSeed,
  resolveParams,
  scriptRefSchema,
  shippedWasmFileName,
  WASM_BINARIES,
  WASM_THREADS_SCRIPTS,
  wasmPackageFile,
  type Workunit,
} from '@axiom/runner/host';
import { type JsonObject } from '@axiom/runner';
import {
  assimilateOrKeep,
  buildAppVersion,
  compareReplicas,
  costFromSeconds,
  REFERENCE_FPOPS,
  defaultResultLimits,
  estimateCost,
  makeWork,
  validateResult,
  type Verdict,
  WEBGPU_PLAN_CLASSES,
  type AppVersionOptions,
  type WorkunitCost,
  type WorkunitSource,
} from '@axiom/wrapper';
import { CROSS_BACKEND_TOLERANCE, crossBackendTolerance } from './reproduce-command.js';
import { readParamsOption } from './run-command.js';

/** The CLI's own entry point: bundled, it is the whole worker. */
const MAIN_ENTRY = fileURLToPath(new URL('./main.js', import.meta.url));
/**
 * The WASM binaries and the threaded build's worker scripts, shipped beside the bundle under versioned
 * names. Resolved when building, not when loading this module: the bundle has no node_modules.
 */
const wasmFiles = () => [...WASM_BINARIES, ...WASM_THREADS_SCRIPTS].map((name) => ({ source: wasmPackageFile(name), name: shippedWasmFileName(name) }));

/** CommonJS dependencies (tfjs, emscripten's WASM loader) expect require and __dirname, which ESM lacks. */
const COMMONJS_SHIMS = [
  "import { createRequire as axiomCreateRequire } from 'node:module';",
  "import { fileURLToPath as axiomFileURLToPath } from 'node:url';",
  "import { dirname as axiomDirname } from 'node:path';",
  'const require = axiomCreateRequire(import.meta.url);',
  'const __filename = axiomFileURLToPath(import.meta.url);',
  'const __dirname = axiomDirname(__filename);',
].join('\n');

/** The worker as one ESM file; the native tfjs packages stay optional imports (absent in the app version). */
/** Bundles the worker into `outfile`; `hostKernels` is the name the host kernels ship under beside it, if they do. */
async function bundleWorker(outfile: string, hostKernels?: string): Promise<void> {
  await build({
    entryPoints: [MAIN_ENTRY],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'playwright-core'],
    banner: { js: COMMONJS_SHIMS },
    ...(hostKernels && { define: { AXIOM_SHIPPED_HOST_KERNELS: JSON.stringify(hostKernels) } }),
    logLevel: 'error',
  });
}

const positiveInteger = (name: string) => (text: string) => {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new AxiomError('usage', `${name} must be a positive integer, not "${text}"`);
  return value;
};
const positiveNumber = (name: string) => (text: string) => {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new AxiomError('usage', `${name} must be a positive number, not "${text}"`);
  return value;
};

interface MakeWorkCliOptions {
  experiment?: string;
  script?: string;
  sha256?: string;
  signature?: string;
  count?: number;
  replicas: number;
  maxErrorResults?: number;
  maxTotalResults?: number;
  maxSuccessResults?: number;
  estimatedSeconds?: number;
  memoryMb?: number;
  params?: string;
  preset?: string;
  deadlineSeconds?: number;
  seeds?: string;
  out: string;
  workunits?: string;
  ledger: string;
}

/** A built-in experiment's params are checked now, before a seed is spent or a volunteer finds the typo. */
function checkBuiltinParams(name: string, preset: string | undefined, params: JsonObject | undefined): void {
  const experiment = builtinExperiments.get(name);
  if (!experiment) throw new AxiomError('unknownExperiment', `unknown experiment "${name}" (see axiom list)`);
  resolveParams(experiment.params, experiment.presets, preset, params ? [{ origin: '--params', values: params }] : []);
}

function experimentOf(options: MakeWorkCliOptions): Workunit['experiment'] {
  if (options.experiment && !options.script) return options.experiment;
  if (options.script && options.sha256 && !options.experiment) {
    const script = scriptRefSchema.safeParse({ url: options.script, sha256: options.sha256, ...(options.signature && { signature: options.signature }) });
    if (!script.success)
      throw new AxiomError(
        'usage',
        `--script/--sha256/--signature: ${script.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
      );
    return script.data;
  }
  throw new AxiomError('usage', 'give either --experiment NAME or --script URL with --sha256 HEX');
}

/**
 * A built-in experiment's cost comes from the cost model; a fetched script's author declares it
 * (--estimated-seconds on one reference core, --memory-mb at peak), which also overrides the model.
 */
function workunitCost(experiment: Workunit['experiment'], options: MakeWorkCliOptions, params: JsonObject | undefined): WorkunitCost {
  const declared = options.estimatedSeconds !== undefined || options.memoryMb !== undefined;
  if (typeof experiment !== 'string' && !(options.estimatedSeconds !== undefined && options.memoryMb !== undefined)) {
    throw new AxiomError('usage', 'a --script workunit needs its cost declared: --estimated-seconds S --memory-mb MB (see docs/boinc-deployment.md)');
  }
  const modelled = typeof experiment === 'string' ? estimateCost(experiment, options.preset, params) : undefined;
  if (!declared) return modelled!;
  const seconds = options.estimatedSeconds ?? modelled!.fpopsEstimate / REFERENCE_FPOPS;
  return costFromSeconds(seconds, options.memoryMb !== undefined ? options.memoryMb * 2 ** 20 : modelled!.memoryBoundBytes);
}

/** Prints the verdict for the validator's log and sets the exit status script_validator reads. */
function report(verdict: Verdict): void {
  process.stderr.write(`${verdict.reason}\n`);
  process.exitCode = verdict.exitCode;
}

/** Registers `axiom boinc app-version|make-work|validate|assimilate`: the tools of a project that runs Axiom. */
export function addBoincCommands(axiom: Command): Command {
  const boinc = axiom.command('boinc').description('project side: build the app version, create workunits, validate and assimilate results');

  boinc
    .command('app-version')
    .description('build an app version directory (launcher, bundled worker, WASM files, version.xml; job.xml for wrapper mode)')
    .requiredOption('--platform <name>', 'BOINC platform, e.g. x86_64-pc-linux-gnu')
    .addOption(
      new Option(
        '--plan-class <class>',
        'cpu (default plan, one CPU), mt (several CPUs: plan_class_spec.xml), webgpu_<vendor> (ships Dawn for the platform) or cuda (needs tfjs-node-gpu on the host)',
      )
        .choices(['cpu', 'mt', 'cuda', ...WEBGPU_PLAN_CLASSES])
        .default('cpu'),
    )
    .addOption(
      new Option('--node <where>', "run the host's node (host) or ship this Node binary in the app version (bundled)")
        .choices(['host', 'bundled'])
        .default('host'),
    )
    .option('--app-version <major.minor>', 'the version directory name', '1.0')
    .requiredOption('-o, --out <dir>', 'the project directory (or any directory) to build apps/axiom/<version>/<platform> in')
    .action(async (options: { platform: string; planClass: AppVersionOptions['planClass']; node: 'host' | 'bundled'; appVersion: string; out: string }) => {
      const hostKernels = hostKernelsForAppVersion(options.platform);
      const shipped = 'name' in hostKernels ? hostKernels : undefined;
      if ('missing' in hostKernels) {
        process.stderr.write(`note: no host kernels in this app version: ${hostKernels.missing}. Its dense layers run in WASM (the same results, slower).\n`);
      }
      const built = await buildAppVersion({
        outDir: options.out,
        platform: options.platform,
        planClass: options.planClass,
        version: options.appVersion,
        bundleWorker: (outfile) => bundleWorker(outfile, shipped?.name),
        siblingFiles: [...wasmFiles(), ...(shipped ? [shipped] : []), ...(options.planClass.startsWith('webgpu_') ? dawnPackageFiles(options.platform) : [])],
        ...(options.node === 'bundled' && { nodeBinary: process.execPath }),
      });
      process.stdout.write(`app version: ${built.directory}\nfiles: ${built.files.join(', ')}\nwrapper mode job.xml: ${built.jobXmlPath}\n`);
    });

  boinc
    .command('make-work')
    .description('write N workunits with unique crypto-random seeds (checked against the seed ledger), the templates and create_work.sh')
    .option('--experiment <name>', 'a built-in experiment')
    .option('--script <url>', 'an experiment script published by URL (axiom bundle)')
    .option('--sha256 <hex>', "the script's sha256")
    .option('--signature <base64>', "the script's Ed25519 signature")
    .option('--count <n>', 'workunits to create: replicates of the configuration, each with its own seed', positiveInteger('--count'))
    .option('--replicas <r>', 'results per workunit for validation (min_quorum = target_nresults); they share the seed', positiveInteger('--replicas'), 2)
    .option('--max-error-results <n>', 'client errors tolerated before the workunit fails (default 3)', positiveInteger('--max-error-results'))
    .option(
      '--max-success-results <n>',
      'successful results at most, for settling disagreements (default 2 × replicas)',
      positiveInteger('--max-success-results'),
    )
    .option('--max-total-results <n>', 'results at most (default: the two above added)', positiveInteger('--max-total-results'))
    .option(
      '--estimated-seconds <s>',
      "the run's time on one reference core (required with --script; overrides the cost model)",
      positiveNumber('--estimated-seconds'),
    )
    .option('--memory-mb <mb>', 'peak memory of a run, in MB (required with --script; overrides the cost model)', positiveNumber('--memory-mb'))
    .option('--params <json|file>', 'parameter overrides, as a JSON object or a JSON file (checked against a built-in experiment)')
    .option('--preset <name>', 'named parameter set, e.g. smoke')
    .option('--deadline-seconds <s>', 'wall-clock limit the worker enforces (it ends with a partial result)', positiveInteger('--deadline-seconds'))
    .option('--seeds <list>', 'comma-separated seeds to use instead of drawing them (refused if the ledger has any)')
    .requiredOption('--out <dir>', 'the batch directory to write')
    .option('--workunits <dir>', 'where the wu.json files go (default: <out>/workunits); share one across batches for axiom boinc validate --workunits')
    .option('--ledger <file>', 'the seed ledger: every seed handed out, one per line', 'axiom-seed-ledger.txt')
    .action(async (options: MakeWorkCliOptions) => {
      const seeds = options.seeds?.split(',').map((seed) => parseExplicitSeed(seed.trim(), '--seeds'));
      const count = seeds?.length ?? options.count;
      if (!count) throw new AxiomError('usage', 'give --count N (or --seeds)');
      const experiment = experimentOf(options);
      const params = options.params === undefined ? undefined : await readParamsOption(options.params);
      if (typeof experiment === 'string') checkBuiltinParams(experiment, options.preset, params);
      const defaults = defaultResultLimits(options.replicas);
      const maxErrorResults = options.maxErrorResults ?? defaults.maxErrorResults;
      const maxSuccessResults = options.maxSuccessResults ?? defaults.maxSuccessResults;
      const made = await makeWork({
        experiment,
        count,
        replicas: options.replicas,
        limits: { maxErrorResults, maxSuccessResults, maxTotalResults: options.maxTotalResults ?? maxErrorResults + maxSuccessResults },
        cost: workunitCost(experiment, options, params),
        ...(params && { params }),
        ...(options.preset && { preset: options.preset }),
        ...(options.deadlineSeconds && { deadlineSeconds: options.deadlineSeconds }),
        ...(seeds && { seeds }),
        outDir: options.out,
        ...(options.workunits && { workunitDir: options.workunits }),
        ledgerPath: options.ledger,
      });
      process.stdout.write(
        `${made.workunits.length} workunits (seeds ${made.workunits.map((w) => w.workunit.seed).join(', ')})\nsubmit from the project directory: ${made.scriptPath}\n`,
      );
    });

  const validate = boinc
    .command('validate')
    .description("script_validator's scripts: exit 0 valid/equivalent, 3 transient (retry), 1 invalid; the reason goes to stderr");
  validate
    .command('init')
    .description('check one result: schema, status ok, digest, and seed, experiment, preset and params against its workunit')
    .argument('<files...>', "the result's output files (script_validator's `files`)")
    .option('--wu <file>', 'the workunit file')
    .option('--workunits <dir>', "make-work's workunits/ directory: the workunit is <wu name>.json, <wu name> a prefix of the result file's name")
    .action(async (files: string[], options: { wu?: string; workunits?: string }) => {
      if (!options.wu === !options.workunits) throw new AxiomError('usage', 'give exactly one of --wu FILE or --workunits DIR');
      const source: WorkunitSource = options.wu ? { file: options.wu } : { directory: options.workunits! };
      for (const file of files) {
        const verdict = await validateResult(file, source);
        report(verdict);
        if (verdict.exitCode !== 0) return;
      }
    });
  validate
    .command('compare')
    .description(
      `compare two replicas: equal digests on one backend; across backends, a built-in experiment's headline metrics within their declared tolerances, any other's values within ${CROSS_BACKEND_TOLERANCE.absolute} + ${CROSS_BACKEND_TOLERANCE.relative}·|value|`,
    )
    .argument('<files...>', "the first result's files, then the second's (script_validator's `files files2`)")
    .action(async (files: string[]) => {
      if (files.length !== 2) throw new AxiomError('usage', `expected one output file per result (2 paths), got ${files.length}`);
      report(await compareReplicas(files[0]!, files[1]!, (name) => crossBackendTolerance(builtinExperiments.get(name))));
    });

  boinc
    .command('assimilate')
    .description(
      "script_assimilator's script: store each canonical result as <store>/<resultId>.json (idempotent), for axiom analyze; a failure is logged and the files kept in --failed, exit status 0 (a non-zero one stops the daemon)",
    )
    .requiredOption('--store <dir>', 'the results store')
    .option('--failed <dir>', 'where the files of a failed assimilation are kept (default: <store>.failed)')
    .option('--error <mask>', 'the workunit failed (WU_ERROR_* bitmask): log it, store nothing')
    .argument('<args...>', "the canonical result's files (script_assimilator's `files`), or the wu_id with --error")
    .action(async (args: string[], options: { store: string; failed?: string; error?: string }) => {
      if (options.error) {
        process.stderr.write(`workunit ${args.join(' ')} failed (error mask ${options.error}): no result to store\n`);
        return;
      }
      const log = (line: string) => process.stderr.write(`${line}\n`);
      for (const path of await assimilateOrKeep(args, options.store, options.failed ?? `${options.store}.failed`, log))
        process.stdout.write(`stored ${path}\n`);
    });
  return axiom;
}
