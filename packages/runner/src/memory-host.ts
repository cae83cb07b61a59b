import type { RunnerHost } from './host.js';
import type { Checkpoint, Result, RunWarning } from './schemas.js';

/** A host that keeps everything in memory: for programs that embed the runner, tests and benchmarks. */
export interface MemoryHost extends RunnerHost {
  results: Result[];
  warnings: RunWarning[];
  /** The checkpoint as stored; share one object between hosts to resume a run. */
  stored: { checkpoint?: Checkpoint };
  /** Aborting it stops the run as Ctrl-C would. */
  abort: AbortController;
}

/** `checkpointPeriodSeconds` 0 checkpoints at every step and every finished group. */
export function memoryHost(stored: { checkpoint?: Checkpoint } = {}, { checkpointPeriodSeconds }: { checkpointPeriodSeconds?: number } = {}): MemoryHost {
  const results: Result[] = [];
  const warnings: RunWarning[] = [];
  const abort = new AbortController();
  return {
    results,
    warnings,
    stored,
    abort,
    progress: () => {},
    log: () => {},
    warn: (warning) => warnings.push(warning),
    control: { signal: abort.signal },
    checkpoints: {
      periodSeconds: checkpointPeriodSeconds,
      load: async () => stored.checkpoint,
      save: async (checkpoint) => {
        stored.checkpoint = structuredClone(checkpoint);
      },
      clear: async () => {
        delete stored.checkpoint;
      },
    },
    sink: {
      prepare: async () => {},
      write: async (result) => {
        results.push(result);
        return 'memory';
      },
    },
  };
}
