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
  fraction: number;
  unitsDone: number;
  unitsTotal: number;
  unit?: string;
}

export interface RunControl {
  /** Aborted by the host: Ctrl-C, BOINC quit or abort. The run ends with a `partial` result. */
  signal: AbortSignal;
  /** Resolves when the host is not suspended (BOINC suspend/resume); absent means never suspended. */
  whenRunnable?(): Promise<void>;
}

export interface CheckpointStore {
  /** The stored checkpoint as raw JSON, or undefined when there is none. Throws if unreadable. */
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
