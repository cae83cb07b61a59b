import {
  type CheckpointStore,
  type ResolvedExperiment,
  type ResultSink,
  type RunOutcome,
  type RunRequest,
  runResolved,
  type SelfLauncher,
} from '@axiom/runner/host';
import { formatWarning, ProgressDisplay } from './terminal.js';

/**
 * Runs an experiment with the terminal as its host: progress on stderr, warnings as they come, and
 * Ctrl-C/SIGTERM turned into an orderly stop with a partial result (a second Ctrl-C quits at once).
 */
export async function runInTerminal(
  resolved: ResolvedExperiment,
  request: Omit<RunRequest, 'host' | 'experiment' | 'script' | 'sandbox'>,
  storage: { sink: ResultSink; checkpoints?: CheckpointStore; sandbox: SelfLauncher },
): Promise<RunOutcome> {
  const display = new ProgressDisplay(process.stderr);
  const interrupt = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupt.signal.aborted) process.exit(130);
    display.message(`axiom: ${signal}: stopping at the next step, saving a checkpoint and a partial result (press Ctrl-C again to quit at once)`);
    interrupt.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const { sandbox, ...files } = storage;
    const host = {
      progress: (update: Parameters<RunRequest['host']['progress']>[0]) => display.update(update),
      log: (message: string) => display.message(`axiom: ${message}`),
      warn: (warning: Parameters<RunRequest['host']['warn']>[0]) => display.message(formatWarning(warning)),
      control: { signal: interrupt.signal },
      ...files,
    };
    return await runResolved(resolved, { ...request, host }, sandbox);
  } finally {
    display.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
