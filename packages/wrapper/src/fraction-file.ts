import { writeFileSync, renameSync } from 'node:fs';

/** What the official C++ wrapper reads for progress: a number in [0,1] (`<fraction_done_filename>` in job.xml). */
export const FRACTION_DONE_FILE = 'axiom_fraction_done';

/** Progress for the C++ wrapper, rewritten once a second (via rename, so it never reads half a number). */
export class FractionDoneFile {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly path: string,
    private readonly fraction: () => number,
  ) {}

  start(intervalMs = 1000): void {
    this.poll();
    this.timer = setInterval(() => this.poll(), intervalMs);
  }

  poll(): void {
    writeFileSync(`${this.path}.tmp`, `${this.fraction().toFixed(6)}\n`);
    renameSync(`${this.path}.tmp`, this.path);
  }

  /** The wrapper reads the file itself; the last value is written at once. */
  async sendFinalStatus(): Promise<void> {
    this.poll();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
