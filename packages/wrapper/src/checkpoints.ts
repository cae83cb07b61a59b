import type { Checkpoint, CheckpointStore } from '@axiom/runner/host';

/**
 * Honours the volunteer's "checkpoint at most every N seconds" (`checkpoint_period`): saves are held
 * back until the period has passed, the newest one kept in memory, and `flush()` writes it at once
 * (before a quit, so no finished unit is lost).
 */
export class PeriodicCheckpoints implements CheckpointStore {
  private pending: Checkpoint | undefined;
  private lastSave = -Infinity;

  constructor(
    private readonly inner: CheckpointStore,
    private readonly periodMs: number,
    private readonly onSaved: () => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  load(): Promise<unknown> {
    return this.inner.load();
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    this.pending = checkpoint;
    if (this.now() - this.lastSave >= this.periodMs) await this.flush();
  }

  async flush(): Promise<void> {
    if (!this.pending) return;
    await this.inner.save(this.pending);
    this.pending = undefined;
    this.lastSave = this.now();
    this.onSaved();
  }

  clear(): Promise<void> {
    this.pending = undefined;
    return this.inner.clear();
  }
}
