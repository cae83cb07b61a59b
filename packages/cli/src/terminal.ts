import { performance } from 'node:perf_hooks';
import cliProgress from 'cli-progress';
import type { ProgressUpdate, RunWarning } from '@axiom/runner/host';

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
      : `${s}s`;
}

/** Progress for people: a bar with ETA on a terminal, a plain line every few seconds otherwise (CI logs). */
export class ProgressDisplay {
  private readonly bar: cliProgress.SingleBar | undefined;
  private readonly started = performance.now();
  private lastLine = -Infinity;
  private lastUnit: string | undefined;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly plainIntervalMs = 5000,
  ) {
    if (stream.isTTY) {
      this.bar = new cliProgress.SingleBar(
        { stream, format: '{bar} {percentage}% | {where} | ETA {eta_formatted}', hideCursor: true, etaBuffer: 50 },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(1000, 0, { where: 'starting' });
    }
  }

  update(update: ProgressUpdate): void {
    if (this.bar) {
      this.bar.update(Math.round(update.fraction * 1000), { where: describeWork(update) });
      return;
    }
    const now = performance.now();
    if (now - this.lastLine < this.plainIntervalMs && update.unit === this.lastUnit) return;
    this.lastLine = now;
    this.lastUnit = update.unit;
    const elapsed = (now - this.started) / 1000;
    const eta = update.fraction > 0 ? (elapsed / update.fraction) * (1 - update.fraction) : Number.NaN;
    const percent = `${(update.fraction * 100).toFixed(0)}%`.padStart(4);
    this.stream.write(`[${percent}] ${describeWork(update)}  elapsed ${formatSeconds(elapsed)}  eta ${formatSeconds(eta)}\n`);
  }

  /** Prints a message without tearing the bar. */
  message(text: string): void {
    if (this.bar) {
      this.stream.write('\r\x1b[2K');
      this.stream.write(`${text}\n`);
      this.bar.render();
    } else {
      this.stream.write(`${text}\n`);
    }
  }

  stop(): void {
    this.bar?.stop();
  }
}

/** What is being worked on: "stack width=64 · 12 runs · epoch 37/40", or "unit 3/8 width=32 · epoch 2/10". */
export function describeWork(update: ProgressUpdate): string {
  if (!update.unit) return `${update.unitsDone}/${update.unitsTotal} units done`;
  const what = update.unit.startsWith('stack ') ? update.unit : `unit ${Math.min(update.unitsDone + 1, update.unitsTotal)}/${update.unitsTotal} ${update.unit}`;
  return update.detail ? `${what} · ${update.detail}` : what;
}

export function formatWarning(warning: RunWarning): string {
  return `axiom: warning [${warning.code}]: ${warning.message}`;
}

export { formatSeconds };
