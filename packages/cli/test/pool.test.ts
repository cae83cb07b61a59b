import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Checkpoint, checkpointSchema, decodeCheckpoint, ExitCode, type Result, resultSchema, WASM_NODE_THREADS_PATCH } from '@axiom/runner/host';
import { axiom, scratch, startAxiom } from './helpers.js';

/**
 * `axiom run --workers N`: a sweep's groups trained side by side in worker processes. Curriculum-learning's
 * smoke preset with stacking off is a sweep of four groups (one per ordering), each trained on its own.
 */
const sweep = (params: object) => ['run', 'curriculum-learning', '--preset', 'smoke', '--params', JSON.stringify(params), '--seed', '11', '--backend', 'wasm'];
const SWEEP = sweep({ stacking: 'off' });

const readResult = async (path: string): Promise<Result> => resultSchema.parse(JSON.parse(await readFile(path, 'utf8')));

/** The checkpoint in `path`, or undefined while there is none (or it is being replaced). */
async function readCheckpoint(path: string): Promise<Checkpoint | undefined> {
  const bytes = await readFile(path).catch(() => undefined);
  return bytes && checkpointSchema.safeParse(decodeCheckpoint(bytes, path)).data;
}

/**
 * Starts `axiom run` and, once its checkpoint holds `inTraining` groups inside training (it writes one at
 * every step with `--checkpoint-period 0`), calls `act` with the process and that checkpoint.
 */
async function actInsideTraining(args: string[], checkpointPath: string, inTraining: number, act: (run: ReturnType<typeof startAxiom>) => void) {
  const run = startAxiom(args);
  let lastWrite = 0;
  for (;;) {
    const done = await Promise.race([run.finished, new Promise<undefined>((resolve) => setTimeout(resolve, 5))]);
    if (done) throw new Error(`the run ended (exit ${done.code}) before ${inTraining} groups were in training:\n${done.stderr}`);
    const written = (await stat(checkpointPath).catch(() => undefined))?.mtimeMs ?? 0;
    if (written === lastWrite) continue;
    lastWrite = written;
    const checkpoint = await readCheckpoint(checkpointPath);
    if (checkpoint && checkpoint.inProgress.length >= inTraining) {
      act(run);
      return { checkpoint, finished: await run.finished };
    }
  }
}

describe('axiom run --workers', () => {
  let uninterrupted: Result | undefined;

  it('gives the same digest with 1, 2 and 3 workers, and records the pool', async () => {
    const dir = await scratch();
    const results: Result[] = [];
    for (const workers of [1, 2, 3]) {
      const out = join(dir, `workers-${workers}.json`);
      // Two threads asked for (the tests' default is one), which only a sweep trained in one process gets.
      const run = await axiom([...SWEEP, '--workers', String(workers), '--no-checkpoint', '--out', out], { env: { AXIOM_THREADS: '2' } });
      expect(run.code, run.stderr).toBe(0);
      results.push(await readResult(out));
    }
    expect(results.map((result) => result.units.length)).toEqual([4, 4, 4]);
    expect(results.map((result) => result.timings.workers)).toEqual([undefined, 2, 3]);
    expect(new Set(results.map((result) => result.digest)).size).toBe(1);
    // With a pool the run's own process only hands out groups: it brings up its backend on one thread, not on all cores.
    expect(results.map((result) => result.backend.patches.includes(WASM_NODE_THREADS_PATCH))).toEqual([true, false, false]);
    uninterrupted = results[0];
  });

  it("a sweep of one group trains in the run's own process on the threads asked for, even where the declaration has more stacks", async () => {
    // lottery-ticket declares a stack per pruning round, but one group trains them all.
    const out = join(await scratch(), 'lottery.json');
    const run = await axiom(
      ['run', 'lottery-ticket', '--preset', 'smoke', '--seed', '1', '--backend', 'wasm', '--workers', '2', '--no-checkpoint', '--out', out],
      {
        env: { AXIOM_THREADS: '2' },
      },
    );
    expect(run.code, run.stderr).toBe(0);
    const result = await readResult(out);
    expect([result.timings.workers, result.backend.threads, result.backend.patches.includes(WASM_NODE_THREADS_PATCH)]).toEqual([undefined, 2, true]);
  });

  // feature-competition's smoke preset: two stacks, width=32 then width=128 in the sweep's order.
  const FEATURES = ['run', 'feature-competition', '--preset', 'smoke', '--seed', '3', '--backend', 'wasm'];
  let featuresDigest: string | undefined;

  it('hands out the longest group first by the declared work, with the digest of one worker', async () => {
    const dir = await scratch();
    const args = (workers: number) => [...FEATURES, '--workers', String(workers), '--no-checkpoint'];
    const [one, two] = [await axiom([...args(1), '--out', join(dir, 'one.json')]), await axiom([...args(2), '--out', join(dir, 'two.json')])];
    expect([one.code, two.code], two.stderr).toEqual([0, 0]);
    expect(two.stderr).toContain('groups handed out longest first, by the declared work: width=128, width=32');
    expect(one.stderr).not.toContain('longest first');
    const [alone, pooled] = [await readResult(join(dir, 'one.json')), await readResult(join(dir, 'two.json'))];
    expect(pooled.timings.workers).toBe(2);
    expect(pooled.digest).toBe(alone.digest);
    featuresDigest = alone.digest;
  });

  it('splits a sweep that is one long stack in two parts on one worker and on two, with one digest', async () => {
    // memorization-dynamics' smoke preset at 150 epochs: one stack of about 20 declared seconds, the whole sweep.
    const dir = await scratch();
    const args = (workers: number) => [
      ...['run', 'memorization-dynamics', '--preset', 'smoke', '--params', '{"epochs":150}', '--seed', '5', '--backend', 'wasm'],
      ...['--workers', String(workers), '--no-checkpoint', '--out', join(dir, `${workers}.json`)],
    ];
    const [one, two] = [await axiom(args(1)), await axiom(args(2))];
    expect([one.code, two.code], `${one.stderr}\n${two.stderr}`).toEqual([0, 0]);
    // The same groups on one worker: a checkpoint names them whatever the worker count.
    expect([one.stderr, two.stderr].map((stderr) => stderr.includes('stack hidden=64x64 trains in 2 parts'))).toEqual([true, true]);
    const [alone, pooled] = [await readResult(join(dir, '1.json')), await readResult(join(dir, '2.json'))];
    expect(pooled.timings.workers).toBe(2);
    expect(pooled.digest).toBe(alone.digest);
  });

  it('a group resumed inside training is handed out before the longest, and the log names that order', async () => {
    // One worker trains in the sweep's order, so its checkpoint catches width=32, which the pool would hand out last.
    const dir = await scratch();
    const checkpointPath = join(dir, 'run.ckpt');
    const out = join(dir, 'result.json');
    const args = [...FEATURES, '--checkpoint', checkpointPath, '--checkpoint-period', '0', '--out', out];
    const { finished } = await actInsideTraining([...args, '--workers', '1'], checkpointPath, 1, ({ child }) => child.kill('SIGINT'));
    expect(finished.code, finished.stderr).toBe(ExitCode.interrupted);
    const caught = (await readCheckpoint(checkpointPath))!.inProgress.flatMap((group) => group.units);
    expect(caught.length > 0 && caught.every((key) => key.startsWith('width=32/')), caught.join(', ')).toBe(true);

    const resumed = await axiom([...args, '--workers', '2']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('groups handed out resumed first, then longest first, by the declared work: width=32, width=128');
    expect(resumed.stderr.match(/resumed inside training/g)).toHaveLength(1);
    expect((await readResult(out)).digest).toBe(featuresDigest);
  });

  it('a killed worker fails the run naming its units; the checkpoint it leaves resumes to the same digest', async () => {
    const dir = await scratch();
    const checkpointPath = join(dir, 'run.ckpt');
    const out = join(dir, 'result.json');
    const args = [...SWEEP, '--workers', '2', '--checkpoint', checkpointPath, '--checkpoint-period', '0', '--out', out];
    const { checkpoint, finished } = await actInsideTraining(args, checkpointPath, 1, ({ stderr }) => {
      // The pool's pids are in its first log line; the first worker is killed outright.
      process.kill(Number(/worker processes \(pids (\d+)/.exec(stderr())![1]), 'SIGKILL');
    });
    expect(finished.code, finished.stderr).toBe(ExitCode.experimentFailed);
    const failed = await readResult(out);
    expect(failed.status).toBe('failed');
    expect(failed.statusReason).toMatch(
      /^pool worker 1 \(pid \d+\) was killed by SIGKILL (while training ordering=[a-z-]+\/width=64\/learningRate=0\.05|between groups)/,
    );
    // Nothing that was checkpointed is lost: the checkpoint left holds at least what the one before the kill held.
    const left = (await readCheckpoint(checkpointPath))!;
    expect(left.units.length + left.inProgress.length).toBeGreaterThanOrEqual(checkpoint.units.length + checkpoint.inProgress.length);

    const resumed = await axiom([...SWEEP, '--workers', '1', '--checkpoint', checkpointPath, '--out', out]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming from checkpoint at \d+\.\d%/);
    expect((await readResult(out)).digest).toBe(uninterrupted?.digest);
  });

  it('Ctrl-C with groups in training keeps each; a restart on 3 workers resumes them to the same digest', async () => {
    // Groups of 60 epochs, not 12: the checkpoint must catch both workers in training. With 12 (a few tenths of a
    // second each) one worker once trained the whole queue before the other was up, on CI's loaded cores; now it
    // would have to start more than three groups' training (several seconds) late.
    const busy = sweep({ stacking: 'off', epochs: 60 });
    const dir = await scratch();
    const whole = await axiom([...busy, '--workers', '1', '--no-checkpoint', '--out', join(dir, 'whole.json')]);
    expect(whole.code, whole.stderr).toBe(0);
    const checkpointPath = join(dir, 'run.ckpt');
    const out = join(dir, 'result.json');
    const args = [...busy, '--checkpoint', checkpointPath, '--checkpoint-period', '0', '--out', out];
    const { finished } = await actInsideTraining([...args, '--workers', '2'], checkpointPath, 2, ({ child }) => child.kill('SIGINT'));
    expect(finished.code, finished.stderr).toBe(ExitCode.interrupted);
    // Both were in training when it was stopped; one may have finished its group (and begun the next) before its next step.
    const stopped = (await readCheckpoint(checkpointPath))!;
    expect(stopped.inProgress.length).toBeGreaterThanOrEqual(1);

    const resumed = await axiom([...args, '--workers', '3']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr.match(/resumed inside training/g)).toHaveLength(stopped.inProgress.length);
    const result = await readResult(out);
    expect(result.timings.resumes).toBe(1);
    expect(result.digest).toBe((await readResult(join(dir, 'whole.json'))).digest);
  });
});
