import { Command, CommanderError, Option } from 'commander';
import { fileURLToPath } from 'node:url';
import {
  AxiomError,
  backendNames,
  ExitCode,
  installWorkerApi,
  type SelfLauncher,
  servePoolWorker,
  serveSandboxedRun,
  WORKER_VERSION,
} from '@axiom/runner/host';
import { listCommand } from './list-command.js';
import { bundleCommand, keygenCommand, type BundleOptions } from './publish-commands.js';
import { goldenCheckCommand, goldenUpdateCommand } from './golden-command.js';
import { reproduceCommand } from './reproduce-command.js';
import { addResultsCommands } from './results-commands.js';
import { addBoincCommands } from './boinc-commands.js';
import { POOL_COMMAND, poolWorkerLauncher } from './pool-launcher.js';
import { runCommand, type RunCommandOptions } from './run-command.js';
import { workerApi } from './worker-api.js';
import { builtinExperiments } from '@axiom/experiments';
import { runBoincWorker } from '@axiom/wrapper';

const EXIT_CODES_HELP = `
Exit codes:
  0    ok                    1    internal error (a bug)     2  usage error
  3    invalid params        4    unknown experiment         5  unusable wu.json / --require-seed failed
  6    output not writable   7    bad checkpoint             8  backend unavailable
  9    experiment failed (a "failed" result was written)    10  deadline reached ("partial" result)
  11   script rejected (sha256/signature), nothing run       12  script unavailable (fetch failed), nothing run
  13   not reproduced (reproduce, --expect-digest, golden check)
  14   upload --flush: results remain in the spool
  15   a fetched script tried what its sandbox forbids (files, processes, network); stopped, nothing kept
  130  interrupted by Ctrl-C or SIGTERM ("partial" result written)`;

const SANDBOX_COMMAND = 'sandboxed-run';
/** This very file (dist/main.js, or the bundle of an app version) started again as a fetched script's sandbox. */
const sandbox: SelfLauncher = { entry: fileURLToPath(import.meta.url), args: [SANDBOX_COMMAND] };
/** This very file started again as a worker of a run's pool. */
const poolWorker = poolWorkerLauncher(fileURLToPath(import.meta.url));

function program(): Command {
  const axiom = new Command('axiom')
    .description('Run small neural-network science experiments, locally or as a BOINC app.')
    .version(WORKER_VERSION)
    .exitOverride()
    // One line, like every other error: "axiom: error: unknown option '--sede' (Did you mean --seed?)".
    .configureOutput({ outputError: (text, write) => write(`axiom: ${text.trim().replace(/\n/g, ' ')}\n`) })
    .addHelpText('after', EXIT_CODES_HELP);

  axiom
    .command('run')
    .description('run an experiment and write a JSON result')
    .argument('[experiment]', 'a built-in name (see `axiom list`), a path to an .mjs file, or a script URL; default: the one in --wu')
    .option('--wu <file>', 'workunit file (wu.json); BOINC link files are followed')
    .option('--seed <n>', 'root seed (uint32); overrides AXIOM_SEED and wu.json')
    .option('--require-seed', 'fail instead of falling back to a random seed when wu.json has no usable seed')
    .option('--preset <name>', 'named parameter set, e.g. smoke')
    .option('--params <json|file>', 'parameter overrides, as a JSON object or a JSON file')
    .option('--out <file>', 'where to write the result (default: results/<experiment>-seed<seed>-<time>.json)')
    .addOption(new Option('--backend <name>', 'force a TensorFlow.js backend').choices(backendNames))
    .option('--gpu <n|list>', 'compute on WebGPU adapter n (a software adapter is used only when named so); `list` prints the adapters and exits')
    .option(
      '--threads <n>',
      'threads the backend may use when the sweep trains in one process (default: $AXIOM_THREADS, else all cores; on a machine busy with other work, 1 is faster)',
    )
    .option('--workers <n>', "processes that train the sweep's groups side by side, on one thread each (default: all cores; fewer when memory is short)")
    .option('--sha256 <hex>', 'pin an experiment script given by URL to this hash')
    .option('--allow-unverified', 'run a script URL without a sha256 pin (recorded in the result)')
    .option('--trusted-key <pem>', "the project's Ed25519 public key: scripts must then carry a valid signature (default: $AXIOM_TRUSTED_KEY)")
    .option('--cache-dir <dir>', 'where fetched scripts are cached by sha256 (default: $AXIOM_CACHE_DIR or ~/.cache/axiom/scripts)')
    .option('--upload <url>', 'after writing the result, POST it there (idempotency key: the result id); if that fails, spool it for `axiom upload --flush`')
    .option('--spool-dir <dir>', 'where --upload spools results it could not deliver (default: $AXIOM_SPOOL_DIR or ~/.cache/axiom/spool)')
    .option('--expect-digest <hex>', 'exit 13 unless the result digest is exactly this (for CI)')
    .option('--checkpoint <file>', 'checkpoint file (default: .checkpoints/ beside the result, named for the command): the same command again resumes from it')
    .option('--no-checkpoint', 'take no checkpoints')
    .option('--checkpoint-period <seconds>', 'checkpoint at most this often, inside training too (Ctrl-C always saves one)', '60')
    .option('--restart', 'discard the checkpoint of this command, if any, and start over')
    .addHelpText('after', '\nSeed order: --seed, then AXIOM_SEED, then wu.json, then 4 crypto-random bytes (recorded, with a warning).')
    .action(async (experiment: string | undefined, options: Omit<RunCommandOptions, 'sandbox' | 'poolWorker'>) => {
      process.exitCode = await runCommand(experiment, { ...options, sandbox, poolWorker });
    });

  axiom
    .command('reproduce')
    .description('re-run the computation a result recorded (experiment, params, seed, backend) and compare digests')
    .argument('<result.json>', 'a result written by axiom run')
    .addOption(new Option('--backend <name>', 're-run on another backend and compare within a tolerance instead').choices(backendNames))
    .option('--out <file>', 'keep the re-run result here')
    .option('--trusted-key <pem>', "the project's Ed25519 public key, for results of signed scripts")
    .option('--cache-dir <dir>', 'the script cache')
    .action(async (file: string, options: Omit<Parameters<typeof reproduceCommand>[1], 'sandbox'>) => {
      process.exitCode = await reproduceCommand(file, { ...options, sandbox });
    });

  const golden = axiom.command('golden').description("pin every built-in experiment's smoke digest (for CI)");
  golden
    .command('check')
    .description('re-run every smoke preset with the golden seed and compare with the golden file (exit 13 on drift)')
    .option('--file <golden.json>', 'the golden file (default: the one shipped with the experiments)')
    .action(async (options: { file?: string }) => {
      process.exitCode = await goldenCheckCommand(options);
    });
  golden
    .command('update')
    .description('rewrite the golden file from the current experiments')
    .option('--file <golden.json>', 'the golden file (default: the one shipped with the experiments)')
    .addOption(new Option('--backend <name>', 'the backend the digests are pinned on').choices(['wasm', 'cpu']).default('wasm'))
    .action(async (options: { file?: string; backend: 'wasm' | 'cpu' }) => {
      process.exitCode = await goldenUpdateCommand(options);
    });

  axiom
    .command('worker')
    .description('run as a BOINC app: started by the BOINC client in a slot directory, takes everything from the slot')
    .option('--wrapped', "run as the task of BOINC's C++ wrapper (job.xml): progress and checkpoints through files")
    .action(async (options: { wrapped?: boolean }) => {
      const io = { stderr: (line: string) => process.stderr.write(`${line}\n`), exit: (code: number) => process.exit(code) };
      process.exitCode = await runBoincWorker(process.cwd(), { builtins: builtinExperiments, sandbox, poolWorker }, io, options.wrapped ? 'wrapped' : 'native');
    });

  axiom
    .command('list')
    .description('list the built-in experiments, one line each; with a name, its parameters and presets')
    .argument('[experiment]', 'a built-in experiment')
    .option('--json', 'machine-readable output (every declaration, or the one named)')
    .action((name: string | undefined, options: { json?: boolean }) => {
      process.stdout.write(`${listCommand(name, options)}\n`);
    });
  axiom
    .command('bundle')
    .description('bundle an experiment (.ts or .mjs) into one ESM file to publish by URL; prints its sha256 and a wu.json snippet')
    .argument('<experiment>', 'the experiment source file')
    .requiredOption('-o, --out <file>', 'the bundled .mjs file to write')
    .option('--sign <key.pem>', 'sign the bundle with this Ed25519 private key (from axiom keygen)')
    .option('--url <url>', 'the URL the bundle will be served from, for the wu.json snippet')
    .action(async (entry: string, options: BundleOptions) => {
      process.stdout.write(`${await bundleCommand(entry, options)}\n`);
    });

  axiom
    .command('keygen')
    .description('make an Ed25519 key pair for signing experiment scripts')
    .option('--out-dir <dir>', 'where to write the two PEM files', '.')
    .action(async (options: { outDir: string }) => {
      process.stdout.write(`${await keygenCommand(options)}\n`);
    });
  addResultsCommands(axiom);
  addBoincCommands(axiom);
  axiom.command(SANDBOX_COMMAND, { hidden: true }).action(serveSandboxedRun);
  axiom.command(POOL_COMMAND, { hidden: true }).action(() => servePoolWorker(builtinExperiments));

  // Commander's own help command prints the whole usage for an unknown name; ours says so in one line.
  axiom.helpCommand(false);
  axiom
    .command('help')
    .description('display help for command')
    .argument('[command...]', 'a command, e.g. `run` or `golden check`')
    .action((names: string[]) => {
      let command = axiom;
      for (const name of names) {
        const sub = command.commands.find((candidate) => candidate.name() === name || candidate.aliases().includes(name));
        if (!sub) throw new AxiomError('usage', `unknown command '${names.join(' ')}' (see axiom --help)`);
        command = sub;
      }
      command.outputHelp();
    });
  return axiom;
}

installWorkerApi(workerApi);

try {
  await program().parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version "errors" are successful exits; everything else is a usage error.
    process.exitCode = error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  } else if (error instanceof AxiomError) {
    process.stderr.write(`axiom: error: ${error.message}\n`);
    process.exitCode = error.exitCode;
  } else {
    process.stderr.write(`axiom: internal error (please report): ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = ExitCode.internal;
  }
}
