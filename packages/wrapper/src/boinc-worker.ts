import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  AxiomError,
  checkpointSchema,
  type CheckpointStore,
  errorMessage,
  ExitCode,
  fileCheckpointStore,
  resolveExperiment,
  resolveSeed,
  runResolved,
  type RunWarning,
  type SelfLauncher,
  writeJsonAtomicOrExplain,
} from '@axiom/runner/host';
import { type Experiment } from '@axiom/runner';
import { ClientChannel, type ControlMessage } from './client-channel.js';
import {
  CHECKPOINT_FILE,
  EXIT_ABORTED_BY_CLIENT,
  RESULT_FILE,
  TEMPORARY_EXIT_FILE,
  WORKUNIT_FILE,
  writeFinishCalled,
  writeTemporaryExit,
} from './boinc-files.js';
import { FRACTION_DONE_FILE, FractionDoneFile } from './fraction-file.js';
import { TaskUsage } from './task-usage.js';
import { loadWorkunitFile, resolveLinkFile } from './workunit-file.js';
import { gpuOf, parseInitData, readInitData, remainingBoundSeconds, type InitData } from './init-data.js';
import { MMAP_FILE, SharedMemory } from './shared-memory.js';
import { SLOT_LOCK_BUSY_MESSAGE, SLOT_LOCK_FILE, SLOT_LOCK_WAIT_SECONDS, takeSlotLock } from './slot-lock.js';

/** A project may put its script-signing public key in its project directory under this name. */
export const PROJECT_PUBLIC_KEY_FILE = 'axiom-public-key.pem';
/** Seconds before the client retries a task that exited temporarily (a script server down, say). */
export const TEMPORARY_EXIT_DELAY_SECONDS = 600;
/** End a bounded task at this fraction of its bound, leaving time to write the partial result. */
const BOUND_MARGIN = 0.9;
/** Seconds before the client restarts a task that checkpointed and exited over its memory bound. */
export const MEMORY_BOUND_RESTART_SECONDS = 60;

export interface WorkerIo {
  stderr(line: string): void;
  /** Exits the process at once (abort, or a client that died). */
  exit(code: number): never;
  /** Waits this many seconds (default: a timer). */
  wait?(seconds: number): Promise<void>;
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

async function projectPublicKey(projectDir: string): Promise<string | undefined> {
  const path = join(projectDir, PROJECT_PUBLIC_KEY_FILE);
  return readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
}

function deadlineOf(init: InitData, deadlineSeconds: number | undefined): number | undefined {
  const bound = remainingBoundSeconds(init);
  const limits = [deadlineSeconds, bound === undefined ? undefined : bound * BOUND_MARGIN].filter((s): s is number => s !== undefined);
  return limits.length ? Date.now() + Math.min(...limits) * 1000 : undefined;
}

/**
 * How the worker talks to BOINC: `native`, as the app itself (shared-memory status and control,
 * finish files); `wrapped`, as the task of BOINC's C++ wrapper, which does all that and reads a
 * fraction-done file and the checkpoint file's modification time from the worker instead.
 */
export type WorkerMode = 'native' | 'wrapped';

/** What the worker can run: the built-in experiments, and how it starts a fetched script's sandbox and its pool's workers. */
export interface WorkerRuntime {
  builtins: ReadonlyMap<string, Experiment>;
  sandbox: SelfLauncher;
  poolWorker: SelfLauncher;
}

/**
 * `axiom worker`: the app a BOINC client starts in a slot directory. Everything comes from the slot:
 * init_data.xml, wu.json (through its link file), the shared-memory channels. Returns the exit code.
 */
export async function runBoincWorker(slotDir: string, runtime: WorkerRuntime, io: WorkerIo, mode: WorkerMode = 'native'): Promise<number> {
  const found = await readInitData(slotDir);
  if (!found && mode === 'native') {
    throw new AxiomError(
      'usage',
      `not running under BOINC: no init_data.xml in ${slotDir} (the BOINC client starts \`axiom worker\` in a slot directory; use \`axiom run\` locally)`,
    );
  }
  // The C++ wrapper runs its task in its own slot, so init_data.xml is normally there too.
  if (!found) io.stderr(`axiom worker: warning: no init_data.xml in ${slotDir}; using defaults (1 CPU, no GPU, checkpoint period 300 s, no bound)`);
  const init = found ?? parseInitData('<app_init_data/>');
  if (mode === 'native') {
    await access(join(slotDir, MMAP_FILE)).catch(() => {
      throw new AxiomError(
        'usage',
        `${MMAP_FILE} is missing in ${slotDir}: the app version must declare <api_version>7.20.0</api_version> so the client uses a memory-mapped file`,
      );
    });
  }

  // As boinc_init does: one instance per slot. A previous occupant gets time to notice it is gone and exit.
  let lock = mode === 'native' ? await takeSlotLock(slotDir) : undefined;
  if (lock && 'heldBy' in lock) {
    io.stderr(`axiom worker: cannot take ${SLOT_LOCK_FILE} (held by PID ${lock.heldBy}); waiting ${SLOT_LOCK_WAIT_SECONDS} s`);
    await (io.wait ?? ((seconds) => new Promise<void>((resolve) => setTimeout(resolve, seconds * 1000))))(SLOT_LOCK_WAIT_SECONDS);
    lock = await takeSlotLock(slotDir);
  }
  if (lock && 'heldBy' in lock) {
    io.stderr(`axiom worker: cannot take ${SLOT_LOCK_FILE} (still held by PID ${lock.heldBy}); another instance is running in this slot, exiting`);
    // Exiting 0 would make the client restart the task at once, and again: ask for a restart in 10 minutes.
    await writeTemporaryExit(slotDir, TEMPORARY_EXIT_DELAY_SECONDS, SLOT_LOCK_BUSY_MESSAGE);
    return ExitCode.ok;
  }
  try {
    return await runInSlot(slotDir, init, runtime, io, mode);
  } finally {
    await lock?.release();
  }
}

/** The task itself, once the slot is the worker's own. */
async function runInSlot(slotDir: string, init: InitData, { builtins, sandbox, poolWorker }: WorkerRuntime, io: WorkerIo, mode: WorkerMode): Promise<number> {
  const slotCheckpoints = fileCheckpointStore(join(slotDir, CHECKPOINT_FILE), init.checkpoint_period);
  const clientFraction = (runFraction: number) => init.fraction_done_start + runFraction * (init.fraction_done_end - init.fraction_done_start);
  // After a restart, progress starts where the checkpoint left it, from the first status message on (an
  // unreadable checkpoint is the runner's to report).
  const resumedFraction = await slotCheckpoints.load().then(
    (saved) => checkpointSchema.shape.fractionDone.safeParse((saved as { fractionDone?: unknown } | undefined)?.fractionDone).data ?? 0,
    () => 0,
  );
  const state = {
    suspended: false,
    stopping: undefined as ControlMessage | 'client-gone' | 'memory-bound' | undefined,
    fraction: clientFraction(resumedFraction),
    checkpointCpu: init.wu_cpu_time,
  };
  const stop = new AbortController();
  let resume: (() => void) | undefined;
  const usage = new TaskUsage();
  const cpuSeconds = () => init.wu_cpu_time + usage.cpuSeconds();
  const onControl = (message: ControlMessage) => {
    if (message === 'abort') {
      io.stderr('axiom worker: the client aborted the task; exiting');
      io.exit(EXIT_ABORTED_BY_CLIENT);
    }
    if (message === 'suspend') state.suspended = true;
    if (message === 'resume') {
      state.suspended = false;
      resume?.();
    }
    if (message === 'quit') {
      state.stopping = 'quit';
      stop.abort();
      resume?.();
    }
  };
  const status = () => ({ cpuSeconds: cpuSeconds(), checkpointCpuSeconds: state.checkpointCpu, fractionDone: state.fraction });
  const onClientGone = () => {
    io.stderr('axiom worker: the BOINC client is gone (its process ended, or no heartbeat for 30 s); checkpointing and exiting');
    state.stopping = 'client-gone';
    stop.abort();
    resume?.();
  };
  const channel =
    mode === 'wrapped'
      ? new FractionDoneFile(join(slotDir, FRACTION_DONE_FILE), () => state.fraction)
      : new ClientChannel(SharedMemory.open(slotDir), init.client_pid, status, onControl, onClientGone);
  channel.start();

  // Checkpoints at most every checkpoint_period, as the volunteer set it (the runner takes one at the first
  // step after the period, and always on quit). Each one saved is reported to the client as its CPU time.
  // The project sized the task with rsc_memory_bound. Past it after a group's checkpoint (a heap that grew
  // over the sweep), exit temporarily: a fresh process resumes from the checkpoint with a fresh heap.
  const checkpoints: CheckpointStore = {
    ...slotCheckpoints,
    async save(checkpoint) {
      await slotCheckpoints.save(checkpoint);
      state.checkpointCpu = cpuSeconds();
      const rss = usage.residentBytes();
      // Only between groups: each restart then finishes at least one more group, so the task still ends.
      if (mode === 'native' && checkpoint.inProgress.length === 0 && init.rsc_memory_bound > 0 && rss > init.rsc_memory_bound && !state.stopping) {
        io.stderr(
          `axiom worker: resident memory ${Math.round(rss / 2 ** 20)} MiB is over the task's rsc_memory_bound of ${Math.round(init.rsc_memory_bound / 2 ** 20)} MiB; checkpointing and exiting temporarily`,
        );
        state.stopping = 'memory-bound';
        stop.abort();
      }
    },
  };
  // On a full disk even this small file may not fit; an exit 0 without it still makes the client
  // restart the task (at once), from the checkpoint, which is the best left to do.
  const exitTemporarily = (delaySeconds: number, reason: string) =>
    writeTemporaryExit(slotDir, delaySeconds, reason).catch((error: NodeJS.ErrnoException) =>
      io.stderr(
        `axiom worker: cannot write ${TEMPORARY_EXIT_FILE} (${error.code ?? error.message}); exiting without it, so the client restarts the task at once`,
      ),
    );
  const report = (warning: RunWarning) => io.stderr(`axiom worker: warning [${warning.code}]: ${warning.message}`);

  try {
    const workunit = await loadWorkunitFile(join(slotDir, WORKUNIT_FILE));
    // Under BOINC a seed must come from the workunit: a replicate with a made-up seed is worthless.
    const seed = resolveSeed({ workunit, requireSeed: true });
    const cacheDir = join(init.project_dir || slotDir, 'axiom-scripts');
    const experiment = workunit.body!.experiment;
    // A script not yet cached is fetched: not while the volunteer has network activity suspended.
    if (
      channel instanceof ClientChannel &&
      typeof experiment !== 'string' &&
      !(experiment.sha256 && (await exists(join(cacheDir, `${experiment.sha256}.mjs`))))
    ) {
      if (channel.networkSuspended) io.stderr('axiom worker: network activity is suspended; waiting to fetch the script');
      const stopped = new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
      await Promise.race([channel.networkAllowed(), stopped]);
      if (state.stopping) {
        io.stderr(`axiom worker: stopped (${state.stopping}) before fetching the script; the client will restart the task`);
        return ExitCode.ok;
      }
    }
    const resolved = await resolveExperiment(experiment, builtins, {
      cacheDir,
      publicKeyPem: init.project_dir ? await projectPublicKey(init.project_dir) : undefined,
      log: (message) => io.stderr(`axiom worker: ${message}`),
    });
    const output = await resolveLinkFile(join(slotDir, RESULT_FILE));
    const run = (warnings: RunWarning[]) =>
      runResolved(
        resolved,
        {
          warnings,
          preset: workunit.body!.preset,
          paramLayers: workunit.body!.params ? [{ origin: 'wu.json params', values: workunit.body!.params }] : [],
          seed,
          replicate: workunit.body!.replicate,
          deadline: deadlineOf(init, workunit.body!.deadlineSeconds),
          backend: { gpu: gpuOf(init), threads: Math.max(1, Math.round(init.ncpus)) },
          // The CPUs the client gave the task (the mt plan class's avg_ncpus): one pool worker each.
          pool: { workers: Math.max(1, Math.floor(init.ncpus)), launcher: poolWorker },
          host: {
            progress: (update) => {
              state.fraction = clientFraction(update.fraction);
            },
            log: (message) => io.stderr(`axiom worker: ${message}`),
            warn: report,
            childStarted: (pid) => usage.addChild(pid),
            checkpoints,
            control: {
              signal: stop.signal,
              whenRunnable: () => (state.suspended ? new Promise<void>((resolve) => (resume = resolve)) : Promise.resolve()),
            },
            sink: {
              prepare: () =>
                access(dirname(output), constants.W_OK).catch((error: NodeJS.ErrnoException) => {
                  throw new AxiomError('outputUnwritable', `cannot write result to ${output}: ${error.code ?? error.message}`);
                }),
              // A stop before the last unit is not an end: the client restarts the task later, from the
              // checkpoint. A run that completed all the same is finished as usual.
              write: async (result) =>
                state.stopping && result.status !== 'ok'
                  ? 'not written (task stopping, will resume)'
                  : (await writeJsonAtomicOrExplain(output, result, 'result'), output),
            },
          },
        },
        sandbox,
      );
    // A checkpoint the worker cannot use costs only the time to redo its units, never the task.
    const outcome = await run(resolved.warnings).catch(async (error: unknown) => {
      if (!(error instanceof AxiomError && error.kind === 'badCheckpoint')) throw error;
      const discarded: RunWarning = { code: 'checkpoint-discarded', message: `${error.message}; starting the task over` };
      await checkpoints.clear();
      return run([...resolved.warnings, discarded]);
    });
    if (state.stopping && outcome.result.status !== 'ok') {
      channel.poll();
      io.stderr(
        `axiom worker: stopped (${state.stopping}) at ${(state.fraction * 100).toFixed(1)}% with ${outcome.result.units.length} unit(s) finished; the client will restart the task from its checkpoint`,
      );
      if (state.stopping === 'memory-bound')
        await exitTemporarily(MEMORY_BOUND_RESTART_SECONDS, 'over rsc_memory_bound; resuming from the checkpoint in a fresh process');
      return ExitCode.ok;
    }
    state.fraction = init.fraction_done_end;
    await channel.sendFinalStatus();
    // A partial result at the deadline is still science: it is reported, with its status, not failed.
    const status = outcome.exitCode === ExitCode.deadlineReached ? ExitCode.ok : outcome.exitCode;
    const summary = `${outcome.result.experiment.name}: ${outcome.result.status}${outcome.result.statusReason ? ` (${outcome.result.statusReason})` : ''}, digest ${outcome.result.digest}`;
    io.stderr(`axiom worker: ${summary}`);
    if (mode === 'native') await writeFinishCalled(slotDir, status, summary);
    return status;
  } catch (error) {
    if (error instanceof AxiomError && error.transient && mode === 'native') {
      io.stderr(`axiom worker: temporary failure, the client will retry in ${TEMPORARY_EXIT_DELAY_SECONDS} s: ${error.message}`);
      await exitTemporarily(TEMPORARY_EXIT_DELAY_SECONDS, error.message);
      return ExitCode.ok;
    }
    const code = error instanceof AxiomError ? error.exitCode : ExitCode.internal;
    io.stderr(`axiom worker: error: ${error instanceof AxiomError ? error.message : ((error as Error).stack ?? errorMessage(error))}`);
    if (mode === 'native') await writeFinishCalled(slotDir, code, errorMessage(error));
    return code;
  } finally {
    channel.stop();
  }
}
