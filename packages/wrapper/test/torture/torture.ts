import { watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import seedrandom from 'seedrandom';
import { checkpointSchema, decodeCheckpoint, resultSchema } from '@axiom/runner/host';
import { BOINC_FINISH_CALLED_FILE, CHECKPOINT_FILE } from '@axiom/wrapper';
import { makeSlot, SimulatedClient, type Slot } from '../simulated-slot.js';

/** Four units of fifteen epochs: a few seconds uninterrupted, with a checkpoint after each unit. */
export const tortureWorkunit = {
  experiment: 'memorization-dynamics',
  seed: 424242,
  preset: 'smoke',
  // Unstacked: a checkpoint after every unit, so kills land between and during many checkpoint writes.
  params: { corruptionLevels: [0, 0.2, 0.4, 0.6], stacking: 'off' },
};

/**
 * When a kill lands: after a random delay from the start, or the moment a write of the checkpoint or
 * the result begins (inotify sees write-file-atomic's temporary file appear), plus a few random ms.
 */
export const killTimings = ['random-delay', 'checkpoint-write', 'result-write'] as const;
export type KillTiming = (typeof killTimings)[number];

export interface KillRecord {
  timing: KillTiming;
  /** Whether the worker was still running when the signal was sent (it may have just finished). */
  landed: boolean;
}

export interface TrialOutcome {
  trialSeed: string;
  kills: KillRecord[];
  digest: string;
  /** Files found and parsed in the slot after each kill and at the end. */
  inspections: number;
}

/** Kills per trial before the worker is left to finish, so every trial ends. */
const MAX_KILLS_PER_TRIAL = 6;
const RANDOM_DELAY_MAX_MS = 3000;

/** Throws, naming the file, when a checkpoint, result or finish file in the slot is truncated or unparsable. */
export async function assertSlotFilesIntact(slot: Slot, context: string): Promise<number> {
  const problems: string[] = [];
  const readIfPresent = (path: string) => readFile(path).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? undefined : Promise.reject(error)));
  const checks: Array<[string, (bytes: Buffer) => unknown]> = [
    [join(slot.slotDir, CHECKPOINT_FILE), (bytes) => checkpointSchema.parse(decodeCheckpoint(bytes, CHECKPOINT_FILE))],
    [slot.resultPath, (bytes) => resultSchema.parse(JSON.parse(bytes.toString('utf8')))],
    [
      join(slot.slotDir, BOINC_FINISH_CALLED_FILE),
      (bytes) => {
        const text = bytes.toString('utf8');
        if (!/^\d+\n/.test(text)) throw new Error(`not "<status>\\n…": ${JSON.stringify(text)}`);
      },
    ],
  ];
  let inspected = 0;
  for (const [path, parse] of checks) {
    const text = await readIfPresent(path);
    if (text === undefined) continue;
    inspected++;
    try {
      parse(text);
    } catch (error) {
      problems.push(`${path} (${text.length} bytes): ${(error as Error).message.slice(0, 300)}`);
    }
  }
  if (problems.length) throw new Error(`${context}: damaged file(s):\n${problems.join('\n')}`);
  return inspected;
}

/** Resolves when a file whose name starts with `prefix` appears or changes in `dir`; `cancel` stops watching. */
function whenWriteStarts(dir: string, prefix: string): { started: Promise<void>; cancel(): void } {
  let cancel = () => {};
  const started = new Promise<void>((resolve) => {
    const watcher = watch(dir, (_event, name) => {
      if (name?.startsWith(prefix)) {
        watcher.close();
        resolve();
      }
    });
    cancel = () => watcher.close();
  });
  return { started, cancel };
}

/**
 * One trial: start `axiom worker` in a fresh slot, SIGKILL it at moments drawn from a PRNG seeded with
 * `trialSeed` (so a failure replays), inspect the slot's files after every kill, restart it in the same
 * slot, and let it finish once the kill budget is spent. Returns the final digest and what happened.
 */
export async function runTortureTrial(trialSeed: string): Promise<TrialOutcome> {
  const random = seedrandom(trialSeed);
  const slot = await makeSlot(tortureWorkunit);
  const kills: KillRecord[] = [];
  let inspections = 0;
  const killsWanted = 1 + Math.floor(random() * MAX_KILLS_PER_TRIAL);
  for (;;) {
    const client = new SimulatedClient(slot.slotDir);
    if (kills.length < killsWanted) {
      const timing = killTimings[Math.floor(random() * killTimings.length)]!;
      const jitterMs = Math.floor(random() * 5);
      const trigger =
        timing === 'random-delay'
          ? { started: new Promise<void>((resolve) => setTimeout(resolve, Math.floor(random() * RANDOM_DELAY_MAX_MS))), cancel: () => {} }
          : timing === 'checkpoint-write'
            ? whenWriteStarts(slot.slotDir, CHECKPOINT_FILE)
            : whenWriteStarts(slot.projectDir, 'wu_1_0_r0');
      const finishedFirst = await Promise.race([trigger.started.then(() => false), client.exited.then(() => true)]);
      trigger.cancel();
      if (!finishedFirst) {
        if (jitterMs) await new Promise((resolve) => setTimeout(resolve, jitterMs));
        const landed = client.child.exitCode === null && client.child.kill('SIGKILL');
        kills.push({ timing, landed });
        await client.exited;
        inspections += await assertSlotFilesIntact(slot, `trial ${trialSeed}, after kill ${kills.length} (${timing})`);
        if (landed) continue;
      }
    }
    const code = await client.exited;
    if (code !== 0) throw new Error(`trial ${trialSeed}: worker exited ${code}: ${client.stderr}`);
    inspections += await assertSlotFilesIntact(slot, `trial ${trialSeed}, at the end`);
    const result = resultSchema.parse(JSON.parse(await readFile(slot.resultPath, 'utf8')));
    if (result.status !== 'ok') throw new Error(`trial ${trialSeed}: result status ${result.status}: ${result.statusReason}`);
    return { trialSeed, kills, digest: result.digest, inspections };
  }
}
