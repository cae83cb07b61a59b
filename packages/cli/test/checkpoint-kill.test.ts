import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Checkpoint, checkpointSchema, decodeCheckpoint, resultSchema } from '@axiom/runner/host';
import { builtinExperiments } from '@axiom/experiments';
import { defaultGoldenPath, GOLDEN_SEED, readGoldenFile } from '../src/golden.js';
import { axiom, scratch, startAxiom } from './helpers.js';

/**
 * How many times each run is killed, at most: each time at the first checkpoint inside training that the new run
 * writes past what the previous kill left (early stopping may jump a run's progress, so no fixed fraction is sure
 * to be seen). Fewer when a kill left too little to train for the next run to be caught inside it.
 */
const KILLS = 3;

/** The newest checkpoint in `path`, or undefined while there is none (or it is being replaced). */
async function newestCheckpoint(path: string): Promise<Checkpoint | undefined> {
  const bytes = await readFile(path).catch(() => undefined);
  return bytes && checkpointSchema.parse(decodeCheckpoint(bytes, path));
}

/**
 * `axiom run` killed with SIGKILL (no chance to save anything) as soon as it has left a checkpoint inside
 * training past `fraction` done; resolves with that checkpoint and the one the kill left (the process may train
 * a few more steps between writing the file and the kill). Polls the file: the process writes one per step.
 * Resolves `finished` when the run ended first: after a kill that landed a few steps from the end (CI's runs
 * once had one), the next run can finish what was left before it writes a checkpoint past `fraction`.
 */
async function killInsideTraining(
  args: string[],
  checkpointPath: string,
  fraction: number,
): Promise<{ killedAt: Checkpoint; left: Checkpoint } | { finished: Awaited<ReturnType<typeof startAxiom>['finished']> }> {
  // The previous run's checkpoint is not this run's: only a write after it counts.
  let lastWrite = (await stat(checkpointPath).catch(() => undefined))?.mtimeMs ?? 0;
  const { child, finished } = startAxiom(args);
  for (;;) {
    const done = await Promise.race([finished, new Promise<undefined>((resolve) => setTimeout(resolve, 5))]);
    if (done) return { finished: done };
    const written = (await stat(checkpointPath).catch(() => undefined))?.mtimeMs ?? 0;
    if (written === lastWrite) continue;
    lastWrite = written;
    const checkpoint = await newestCheckpoint(checkpointPath).catch(() => undefined);
    if (checkpoint?.inProgress.length && checkpoint.fractionDone > fraction) {
      child.kill('SIGKILL');
      await finished;
      return { killedAt: checkpoint, left: (await newestCheckpoint(checkpointPath))! };
    }
  }
}

describe('axiom run killed (SIGKILL) inside training and run again', () => {
  it.each([...builtinExperiments.keys()])('%s resumes after each kill and ends with the golden digest', async (name) => {
    const golden = (await readGoldenFile(defaultGoldenPath())).experiments[name]!;
    const dir = await scratch();
    const checkpointPath = join(dir, 'run.ckpt');
    const out = join(dir, 'result.json');
    const args = [
      'run',
      name,
      '--preset',
      'smoke',
      '--seed',
      String(GOLDEN_SEED),
      '--backend',
      'wasm',
      '--checkpoint',
      checkpointPath,
      '--checkpoint-period',
      '0',
      // One process, which writes a checkpoint at every step itself. A pool's checkpoints are rounds among its
      // workers, and a smoke group of a few tenths of a second can end between two (CI's runs once had none
      // inside training); the pool's kills and resumes are tested in pool.test.ts.
      '--workers',
      '1',
      '--out',
      out,
    ];

    let previous = 0;
    let kills = 0;
    let last: Awaited<ReturnType<typeof axiom>> | undefined;
    while (kills < KILLS) {
      const outcome = await killInsideTraining(args, checkpointPath, previous);
      if ('finished' in outcome) {
        // Only a resumed run may finish before its kill: the first must be caught inside training.
        expect(kills, outcome.finished.stderr).toBeGreaterThan(0);
        last = outcome.finished;
        break;
      }
      // Each run resumed from the last one's checkpoint, not from the start, and got further.
      expect(outcome.killedAt.resumes).toBe(kills);
      previous = outcome.left.fractionDone;
      kills++;
    }
    last ??= await axiom(args);
    expect(last.code, last.stderr).toBe(0);
    expect(last.stderr).toMatch(/resuming from checkpoint at \d+\.\d%/);
    const result = resultSchema.parse(JSON.parse(await readFile(out, 'utf8')));
    expect(result.timings.resumes).toBe(kills);
    expect(result.digest).toBe(golden.digest);
    await expect(stat(checkpointPath)).rejects.toThrow(); // a finished run leaves no checkpoint
  });
});
