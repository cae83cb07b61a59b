import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Checkpoint, checkpointSchema, decodeCheckpoint, resultSchema } from '@axiom/runner/host';
import { builtinExperiments } from '@axiom/experiments';
import { defaultGoldenPath, GOLDEN_SEED, readGoldenFile } from '../src/golden.js';
import { axiom, scratch, startAxiom } from './helpers.js';

/**
 * How many times each run is killed: each time at the first checkpoint inside training that the new run writes
 * past the previous kill's (early stopping may jump a run's progress, so no fixed fraction is sure to be seen).
 */
const KILLS = 3;

/** The newest checkpoint in `path`, or undefined while there is none (or it is being replaced). */
async function newestCheckpoint(path: string): Promise<Checkpoint | undefined> {
  const bytes = await readFile(path).catch(() => undefined);
  return bytes && checkpointSchema.parse(decodeCheckpoint(bytes, path));
}

/**
 * `axiom run` killed with SIGKILL (no chance to save anything) as soon as it has left a checkpoint inside
 * training past `fraction` done; resolves with that checkpoint. Polls the file: the process writes one per step.
 */
async function killInsideTraining(args: string[], checkpointPath: string, fraction: number): Promise<Checkpoint> {
  // The previous run's checkpoint is not this run's: only a write after it counts.
  let lastWrite = (await stat(checkpointPath).catch(() => undefined))?.mtimeMs ?? 0;
  const { child, finished } = startAxiom(args);
  for (;;) {
    const done = await Promise.race([finished, new Promise<undefined>((resolve) => setTimeout(resolve, 5))]);
    if (done) throw new Error(`the run ended (exit ${done.code}) before a checkpoint inside training past ${fraction}:\n${done.stderr}`);
    const written = (await stat(checkpointPath).catch(() => undefined))?.mtimeMs ?? 0;
    if (written === lastWrite) continue;
    lastWrite = written;
    const checkpoint = await newestCheckpoint(checkpointPath).catch(() => undefined);
    if (checkpoint?.inProgress.length && checkpoint.fractionDone > fraction) {
      child.kill('SIGKILL');
      await finished;
      return checkpoint;
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
      '--out',
      out,
    ];

    let previous = 0;
    for (let kill = 0; kill < KILLS; kill++) {
      const killedAt = await killInsideTraining(args, checkpointPath, previous);
      // Each run resumed from the last one's checkpoint, not from the start, and got further.
      expect(killedAt.resumes).toBe(kill);
      previous = killedAt.fractionDone;
    }
    const last = await axiom(args);
    expect(last.code, last.stderr).toBe(0);
    expect(last.stderr).toMatch(/resuming from checkpoint at \d+\.\d%/);
    const result = resultSchema.parse(JSON.parse(await readFile(out, 'utf8')));
    expect(result.timings.resumes).toBe(KILLS);
    expect(result.digest).toBe(golden.digest);
    await expect(stat(checkpointPath)).rejects.toThrow(); // a finished run leaves no checkpoint
  });
});
