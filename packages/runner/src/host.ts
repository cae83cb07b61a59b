import type { Checkpoint, Result, RunWarning } from './schemas.js';

/**
 * What a host (the CLI, the BOINC app) plugs into the runner. The core knows nothing of terminals
 * or BOINC: it reports through this interface and is steered by it.
 */
export interface RunnerHost {
  /** Overall progress, 0..1, with the unit being worked on. Called often: throttle in the host. */
  progress(update: ProgressUpdate): void;
  log(message: string): void;
  /** Every warning also goes into the result; the host shows it as it happens. */
  warn(warning: RunWarning): void;
  checkpoints?: CheckpointStore;
  control: RunControl;
  sink: ResultSink;
  /** A process now does the run's computing (a fetched script's sandbox): count its CPU and memory as the run's. */
  childStarted?(pid: number): void;
}

export interface ProgressUpdate {
  /** 0..1; never falls, also across restarts. */
  fraction: number;
  unitsDone: number;
  unitsTotal: number;
  /** What is being worked on: a unit's key, or a stack of units ("stack width=64 · 12 runs"). */
  unit?: string;
  /** Where its training is, e.g. "epoch 37/40". */
  detail?: string;
}

export interface RunControl {
  /** Aborted by the host: Ctrl-C, BOINC quit or abort. The run ends with a `partial` result. */
  signal: AbortSignal;
  /** Resolves when the host is not suspended (BOINC suspend/resume); absent means never suspended. */
  whenRunnable?(): Promise<void>;
  /** The host's clock in ms since the epoch, on which the deadline and time suspended are read; absent means Date.now (a test moves its own). */
  now?(): number;
}

export interface CheckpointStore {
  /**
   * The host's choice of how often to checkpoint: the runner takes one at the first safe point (a
   * finished training step or sweep group) after this many seconds since the last, and always when the
   * run is stopped. Default 60.
   */
  periodSeconds?: number;
  /** The stored checkpoint, not yet validated, or undefined when there is none. Throws if unreadable. */
  load(): Promise<unknown>;
  save(checkpoint: Checkpoint): Promise<void>;
  /** Called after a complete result was written. */
  clear(): Promise<void>;
}

export interface ResultSink {
  /** Checked before the run starts, so an unwritable destination fails in a second, not after an hour. */
  prepare(): Promise<void>;
  /** Stores the result (atomically) and returns where it went. */
  write(result: Result): Promise<string>;
}

/**
 * How to start the worker's own entry again (dist/main.js, or an app version's bundle) in another role:
 * the entry script and the arguments that make it call `serveSandboxedRun()` or `servePoolWorker()`.
 */
export interface SelfLauncher {
  entry: string;
  args: string[];
}
