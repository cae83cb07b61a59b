import { fork, type ChildProcess } from 'node:child_process';
import { freemem } from 'node:os';
import { setTimeout as sleep, setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { AxiomError } from './errors.js';
import { groupLabel, YIELD_INTERVAL_MS, type SweepGroup } from './groups.js';
import type { SelfLauncher } from './host.js';
import { describeZodError } from './params.js';
import { fromPoolWorkerSchema, type PoolStart, type ToPoolWorker } from './pool-protocol.js';
import type { GroupInProgress, UnitResult } from './schemas.js';

/**
 * A pool of worker processes that train a sweep's groups side by side. Each worker runs the experiment's
 * code up to its sweep (the same code, parameters and seed as the run), then the groups handed to it; the
 * run's process hands groups out in the sweep's order, keeps their results, and writes every checkpoint:
 * every finished unit and the state inside training of every group in flight. A group's results depend
 * only on its units and the seed, so they are the same whichever worker ran it, and the run assembles them
 * in the sweep's order: the digest does not depend on the number of workers.
 */

/** Resident memory a pool worker may take (WASM backend, the built-in experiments' default sweeps, measured ≤ 200 MiB). */
export const WORKER_MEMORY_BUDGET_BYTES = 300 * 2 ** 20;

export interface PoolSizing {
  workers: number;
  /** Why fewer than requested, when so. */
  why?: string;
}

/**
 * Workers for `groups` groups: as many as the host asked for (its choice of cores: all of them locally,
 * BOINC's ncpus), but no more than the free memory holds at the budget each, nor than the groups.
 */
export function poolSize(requested: number, groups: number, freeBytes = freemem()): PoolSizing {
  const limits = [
    {
      workers: Math.max(1, Math.floor(freeBytes / WORKER_MEMORY_BUDGET_BYTES)),
      why: `${Math.round(freeBytes / 2 ** 20)} MiB of free memory at ${WORKER_MEMORY_BUDGET_BYTES / 2 ** 20} MiB a worker`,
    },
    { workers: groups, why: `${groups} group(s) to train` },
  ];
  const binding = limits.reduce((least, limit) => (limit.workers < least.workers ? limit : least), { workers: requested, why: '' });
  return binding.workers < requested ? { workers: binding.workers, why: `${requested} requested, but ${binding.why}` } : { workers: requested };
}

export type PoolGroup = SweepGroup & { resume?: GroupInProgress };

/** A pool worker's CPU seconds and peak resident memory so far. */
export interface WorkerUsage {
  cpuSeconds: number;
  maxRssBytes: number;
}

/** What the pool needs from the run around it. */
export interface PoolRun {
  launcher: SelfLauncher;
  workers: number;
  start: PoolStart;
  /** The groups still to train, in the order they are handed out. */
  groups: PoolGroup[];
  /** Whether the run was stopped (interrupted, deadline). */
  stopped(): boolean;
  /** Resolves when the host lets the run go on (not suspended). */
  whenRunnable(): Promise<void>;
  checkpointDue(): boolean;
  /** Keeps a group's state inside training for the checkpoints to come. */
  keep(state: GroupInProgress): void;
  /** Writes a checkpoint: every finished unit and every state kept. */
  save(): Promise<void>;
  groupDone(group: PoolGroup, results: UnitResult[], seconds: number): void;
  /** Units done in the groups in flight (a group's fraction times its units), with what they are. */
  progress(unitsInFlight: number, unit: string | undefined, detail?: string): void;
  /** What a worker has used so far. */
  usage(worker: number, usage: WorkerUsage): void;
  log(message: string): void;
  childStarted?(pid: number): void;
}

interface Worker {
  index: number;
  child: ChildProcess;
  group?: PoolGroup;
  fraction: number;
  /** Sent the run to do (after its first `ready`). */
  started: boolean;
  /** Set once it was told to finish or it stopped: its exit is expected. */
  ending: boolean;
  /** Its process ended and every message it sent was handled. */
  closed: boolean;
  maxRssBytes: number;
}

const describeExit = (code: number | null, signal: NodeJS.Signals | null) => (signal ? `was killed by ${signal}` : `exited with code ${code}`);

/**
 * Trains `run.groups` on `run.workers` worker processes. Resolves `'done'` when every group finished, or
 * `'stopped'` when the run was stopped (each worker saved its group's state, and the checkpoint was written).
 * A worker that fails or dies fails the run, after the others stopped and the checkpoint was written.
 */
export async function runPool(run: PoolRun): Promise<'done' | 'stopped'> {
  const queue = [...run.groups];
  const workers: Worker[] = [];
  let stopping = false;
  let failure: Error | undefined;
  /** The workers whose answer the checkpoint being gathered waits for. */
  let round: Set<Worker> | undefined;
  let saving: Promise<void> = Promise.resolve();
  const save = () => (saving = saving.then(() => run.save()));
  let wake: (() => void) | undefined;
  const live = () => workers.filter((worker) => !worker.closed);

  const send = (worker: Worker, message: ToPoolWorker) => {
    if (worker.child.connected) worker.child.send(message);
  };
  const answered = (worker: Worker) => {
    if (!round?.delete(worker) || round.size > 0) return;
    round = undefined;
    void save();
  };
  const report = (detail?: string) => {
    const busy = workers.filter((worker) => worker.group);
    run.progress(
      busy.reduce((sum, worker) => sum + worker.fraction * worker.group!.group.length, 0),
      busy.map((worker) => groupLabel(worker.group!)).join(', ') || undefined,
      detail,
    );
  };
  // Stopped at once where signals can (a worker still starting up reaches no step for seconds), else at each one's next step.
  const suspendAll = (suspend: boolean) => {
    for (const worker of live()) {
      if (process.platform !== 'win32') worker.child.kill(suspend ? 'SIGSTOP' : 'SIGCONT');
      send(worker, { type: suspend ? 'suspend' : 'resume' });
    }
  };
  const stopAll = () => {
    if (stopping) return;
    stopping = true;
    for (const worker of live()) send(worker, { type: 'stop' });
  };
  const fail = (error: Error) => {
    failure ??= error;
    stopAll();
  };
  const training = (worker: Worker) => (worker.group ? `while training ${worker.group.group.map((unit) => unit.key).join(', ')}` : 'between groups');

  const onMessage = (worker: Worker, raw: unknown) => {
    const parsed = fromPoolWorkerSchema.safeParse(raw);
    if (!parsed.success)
      return fail(new Error(`pool worker ${worker.index} sent a malformed message: ${describeZodError(parsed.error, fromPoolWorkerSchema)}`));
    const message = parsed.data;
    if ('cpuSeconds' in message) {
      run.usage(worker.index, { cpuSeconds: message.cpuSeconds, maxRssBytes: message.maxRssBytes });
      worker.maxRssBytes = message.maxRssBytes;
    }
    switch (message.type) {
      case 'ready': {
        if (!worker.started) {
          worker.started = true;
          return send(worker, run.start);
        }
        const next = stopping ? undefined : queue.shift();
        worker.group = next;
        worker.fraction = 0;
        if (!next) {
          worker.ending = true;
          return send(worker, { type: 'finish' });
        }
        return send(worker, { type: 'group', key: next.key, units: next.group.map((unit) => unit.key), ...(next.resume && { resume: next.resume }) });
      }
      case 'progress':
        worker.fraction = message.fraction;
        return report(message.detail);
      case 'log':
        return run.log(`worker ${worker.index}: ${message.message}`);
      case 'state':
        if (message.state) run.keep(message.state);
        return answered(worker);
      case 'done':
        run.groupDone(worker.group!, message.results, message.seconds);
        worker.group = undefined;
        report();
        answered(worker);
        return wake?.();
      case 'stopped':
        worker.ending = true;
        return;
      case 'failed': {
        worker.ending = true;
        return fail(message.kind ? new AxiomError(message.kind, message.message) : new Error(message.message));
      }
    }
  };
  const onClose = (worker: Worker, code: number | null, signal: NodeJS.Signals | null) => {
    if (!worker.ending) {
      fail(
        new Error(
          `pool worker ${worker.index} (pid ${worker.child.pid}) ${describeExit(code, signal)} ${training(worker)}; the run stops, its checkpoint keeps what was saved`,
        ),
      );
    }
    worker.closed = true;
    round?.delete(worker);
    wake?.();
  };

  for (let index = 1; index <= run.workers; index++) {
    const child = fork(run.launcher.entry, run.launcher.args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    const worker: Worker = { index, child, fraction: 0, started: false, ending: false, closed: false, maxRssBytes: 0 };
    workers.push(worker);
    if (child.pid !== undefined) run.childStarted?.(child.pid);
    child.on('message', (raw: unknown) => onMessage(worker, raw));
    child.on('error', (error) => fail(new Error(`pool worker ${index} cannot be started: ${error.message}`)));
    child.on('close', (code, signal) => onClose(worker, code, signal));
  }
  run.log(`training ${run.groups.length} group(s) on ${run.workers} worker processes (pids ${workers.map((worker) => worker.child.pid).join(', ')})`);

  try {
    // Between messages: suspend and resume the workers with the host, stop them with the run, gather checkpoints.
    while (live().length > 0) {
      await Promise.race([sleep(YIELD_INTERVAL_MS), new Promise<void>((resolve) => (wake = resolve))]);
      if (run.stopped()) stopAll();
      if (stopping) continue;
      // A stop (BOINC's quit) ends a suspension: the host then lets the run go on to save its work.
      let runnable = false;
      const whenRunnable = run.whenRunnable().then(() => (runnable = true));
      await yieldToEventLoop();
      if (!runnable) {
        suspendAll(true);
        await whenRunnable;
        suspendAll(false);
        continue;
      }
      if (!round && run.checkpointDue()) {
        round = new Set(workers.filter((worker) => worker.group));
        if (round.size === 0) {
          round = undefined;
          void save();
        } else for (const worker of round) send(worker, { type: 'checkpoint' });
      }
    }
  } finally {
    for (const worker of live()) worker.child.kill('SIGKILL');
  }
  await saving;
  const peaks = workers.map((worker) => `${Math.round(worker.maxRssBytes / 2 ** 20)}`).join('/');
  run.log(`pool: ${run.workers} workers ended; peak resident memory ${peaks} MiB`);
  if (failure || stopping) await save();
  if (failure) throw failure;
  return stopping ? 'stopped' : 'done';
}
