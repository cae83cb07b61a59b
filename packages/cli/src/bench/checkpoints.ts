/**
 * The bench's checkpoint table: for each experiment's default sweep, what a checkpoint costs (size, time to
 * take and write one) and the share of the run that checkpointing takes at the usual 60-second period.
 */
import { measureIn, type BenchTarget } from './measure-process.js';

/** BOINC's default checkpoint period (disk_interval) and `axiom run`'s. */
const PERIOD_SECONDS = 60;

interface CheckpointMeasurement {
  wallSeconds: number;
  checkpoints: number;
  checkpointSeconds: number;
  largestBytes: number;
}

export function benchCheckpoints(
  experiments: Iterable<string>,
  target: BenchTarget,
  quick: boolean,
  log: (line: string) => void,
): Array<Record<string, string | number>> {
  const rows: Array<Record<string, string | number>> = [];
  for (const experiment of experiments) {
    const measured = measureIn<CheckpointMeasurement>(target, ['checkpoint', experiment, ...(quick ? ['quick'] : [])]);
    if (!measured) continue; // the failure was reported
    const secondsEach = measured.checkpointSeconds / measured.checkpoints;
    const row = {
      experiment,
      'checkpoints taken': measured.checkpoints,
      'largest (MB)': Number((measured.largestBytes / 2 ** 20).toFixed(2)),
      'time each (ms)': Number((secondsEach * 1000).toFixed(1)),
      [`share of run time at a ${PERIOD_SECONDS} s period (%)`]: Number(((100 * secondsEach) / PERIOD_SECONDS).toFixed(3)),
    };
    log(JSON.stringify(row));
    rows.push(row);
  }
  return rows;
}
