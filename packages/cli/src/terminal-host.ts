import { runExperiment, type CheckpointStore, type ResultSink, type RunOutcome, type RunRequest } from '@axiom/runner';
import { formatWarning, ProgressDisplay } from './terminal.js';

/**
 * Runs an experiment with the terminal as its host: progress on stderr, warnings as they come, and
 * Ctrl-C/SIGTERM turned into an orderly stop with a partial result (a second Ctrl-C quits at once).
 */
export async function runInTerminal(request: Omit<RunRequest, 'host'>, storage: { sink: ResultSink; checkpoints?: CheckpointStore }): Promise<RunOutcome> {
  const display = new ProgressDisplay(process.stderr);
  const interrupt = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupt.signal.aborted) process.exit(130);
    display.message(`axiom: ${signal}: stopping after the current step and writing a partial result (press Ctrl-C again to quit at once)`);
    interrupt.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await runExperiment({
      ...request,
      host: {
        progress: (update) => display.update(update),
        log: (message) => display.message(`axiom: ${message}`),
        warn: (warning) => display.message(formatWarning(warning)),
        control: { signal: interrupt.signal },
        ...storage,
      },
    });
  } finally {
    display.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
