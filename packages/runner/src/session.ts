import { performance } from 'node:perf_hooks';
import { AxiomError } from './errors.js';
import type { Resumable, TrainingRun, TrainingSession } from './experiment.js';
import { deriveSeed, Rng } from './rng.js';
import type { GroupInProgress, Snapshot } from './schemas.js';

type Labels = Array<string | number>;

/** What a group's session needs from the run around it. */
export interface SessionHost {
  tick(): Promise<void>;
  /** Set once the run is stopped (interrupted, deadline): a loop checkpoints at its next step and stops. */
  stopped(): boolean;
  /** Throws the run's stop. */
  throwStop(): never;
  /** Whether the host's checkpoint period has passed (and checkpoints are taken at all). */
  checkpointDue(): boolean;
  /** Saves a checkpoint with this group in progress (undefined: no checkpoints are taken). */
  saveCheckpoint(inProgress: () => Promise<GroupInProgress>): Promise<void>;
  progress(fraction: number, detail?: string): void;
  log(message: string): void;
}

interface Stream {
  labels: Labels;
  rng: Rng;
  /** Made while a loop ran: not restored after a restart, so it must be used up before the next step. */
  duringTraining: boolean;
  /** For a stream made during training: how much it had drawn at the first step after it was made. */
  drawnAtNextStep?: number;
}

/**
 * One sweep group's training session: the random streams it made, the records it keeps, and the
 * training loop in progress, so a checkpoint taken at a step can continue the group exactly.
 */
export class GroupSession implements TrainingSession {
  private readonly streams: Stream[] = [];
  private readonly records = new Map<string, Snapshot>();
  private phase = -1;
  private loop: Resumable | undefined;
  /** Once a loop began, a stop waits for a step (or the group's end) instead of discarding the group's work. */
  private trained = false;
  private readonly started = performance.now();
  /** Seconds the group had run before the restart it resumes from. */
  private readonly priorSeconds: number;

  constructor(
    private readonly host: SessionHost,
    readonly units: readonly string[],
    /** Where a restart left this group, consumed when its loop resumes. */
    private resume: GroupInProgress | undefined,
  ) {
    this.priorSeconds = resume?.seconds ?? 0;
  }

  /** A seeded stream that the session tracks, so a checkpoint can put it back where it was. */
  stream(root: number, labels: Labels): Rng {
    const rng = new Rng(deriveSeed(root, ...labels));
    this.streams.push({ labels, rng, duringTraining: this.loop !== undefined });
    return rng;
  }

  /** Whether a stop must wait: some of this group's training would be lost. */
  get holdsWork(): boolean {
    return this.trained;
  }

  /** Wall seconds this group has run, over every process that worked on it. */
  get seconds(): number {
    return this.priorSeconds + (performance.now() - this.started) / 1000;
  }

  progress(fraction: number, detail?: string): void {
    this.host.progress(Math.min(Math.max(fraction, 0), 1), detail);
  }

  tick(): Promise<void> {
    return this.host.tick();
  }

  record<T extends Snapshot & object>(name: string, initial: () => T): T {
    if (this.records.has(name)) throw new Error(`session.record("${name}") was called twice in one group`);
    const saved = this.resume?.records[name];
    const value = (saved ?? initial()) as T;
    this.records.set(name, value);
    return value;
  }

  async beginTraining(state: Resumable): Promise<TrainingRun | null> {
    if (this.loop) throw new Error('beginTraining: the previous training loop of this group has not ended');
    this.phase++;
    const resume = this.resume;
    if (resume && this.phase < resume.phase) return null;
    this.loop = state;
    this.trained = true;
    if (resume) {
      await state.restore(resume.training);
      this.restoreStreams(resume);
      const unclaimed = Object.keys(resume.records).filter((name) => !this.records.has(name));
      if (unclaimed.length) throw new AxiomError('badCheckpoint', `checkpoint holds records this group never made: ${unclaimed.join(', ')}`);
      this.resume = undefined;
      this.host.log(`resumed inside training: ${this.units.length} unit(s) from ${this.units[0]}, loop ${this.phase + 1}`);
    }
    return {
      stepDone: () => this.stepDone(),
      end: () => {
        this.loop = undefined;
      },
    };
  }

  private async stepDone(): Promise<void> {
    for (const stream of this.streams) if (stream.duringTraining) stream.drawnAtNextStep ??= stream.rng.drawn;
    if (this.host.stopped()) {
      await this.host.saveCheckpoint(() => this.snapshot());
      this.host.throwStop();
    }
    if (this.host.checkpointDue()) await this.host.saveCheckpoint(() => this.snapshot());
    await this.host.tick();
  }

  private async snapshot(): Promise<GroupInProgress> {
    const carried = this.streams.find((stream) => stream.drawnAtNextStep !== undefined && stream.rng.drawn !== stream.drawnAtNextStep);
    if (carried) {
      throw new Error(
        `random stream "${carried.labels.join('/')}" was made during training and used across steps: a checkpoint cannot restore it (make it before training begins)`,
      );
    }
    return {
      units: [...this.units],
      phase: this.phase,
      seconds: this.seconds,
      streams: this.streams.filter((stream) => !stream.duringTraining).map(({ labels, rng }) => ({ labels, state: rng.state() })),
      records: Object.fromEntries(this.records),
      training: await this.loop!.save(),
    };
  }

  /** Puts every stream made before training back where it was at the checkpoint. */
  private restoreStreams(resume: GroupInProgress): void {
    const current = this.streams.filter((stream) => !stream.duringTraining);
    if (current.length !== resume.streams.length) {
      throw new AxiomError(
        'badCheckpoint',
        `checkpoint has ${resume.streams.length} random streams for this group, the group made ${current.length} before training`,
      );
    }
    current.forEach(({ labels, rng }, i) => {
      const saved = resume.streams[i]!;
      if (saved.labels.join('/') !== labels.join('/')) {
        throw new AxiomError('badCheckpoint', `checkpoint's random stream ${i} is "${saved.labels.join('/')}", the group's is "${labels.join('/')}"`);
      }
      try {
        rng.restore(saved.state);
      } catch (error) {
        throw new AxiomError('badCheckpoint', `random stream "${labels.join('/')}": ${(error as Error).message}`);
      }
    });
  }
}

/** A session for training outside a run (benchmarks, tests): no checkpoints, `tick` after every step. */
export function standaloneSession(tick: () => Promise<void> = () => Promise.resolve()): TrainingSession {
  return {
    progress: () => {},
    tick,
    record: (_name, initial) => initial(),
    beginTraining: () => Promise.resolve({ stepDone: tick, end: () => {} }),
  };
}
