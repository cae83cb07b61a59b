import { describe, expect, it } from 'vitest';
import { uninterruptedDigest } from '../simulated-slot.js';
import { killTimings, runTortureTrial, tortureWorkunit, type TrialOutcome } from './torture.js';

// CI runs a few trials; `npm run torture -- --trials N [--seed S]` runs more (see run-torture.mjs).
const trials = Number(process.env.AXIOM_TORTURE_TRIALS ?? 5);
const baseSeed = process.env.AXIOM_TORTURE_SEED ?? 'axiom-torture';

describe('crash torture: axiom worker SIGKILLed at random moments and restarted in the same slot', () => {
  it(`ends each of ${trials} trial(s) with a valid result of the uninterrupted digest, never a damaged file`, async () => {
    const reference = await uninterruptedDigest(tortureWorkunit);
    const outcomes: TrialOutcome[] = [];
    for (let trial = 0; trial < trials; trial++) {
      // Replay one failing trial with AXIOM_TORTURE_SEED=<its seed> AXIOM_TORTURE_TRIALS=1 … the seed is `${base}/0`.
      const outcome = await runTortureTrial(`${baseSeed}/${trial}`);
      expect(outcome.digest, `trial ${outcome.trialSeed}`).toBe(reference);
      outcomes.push(outcome);
    }
    const kills = outcomes.flatMap((outcome) => outcome.kills);
    const landed = kills.filter((kill) => kill.landed);
    const summary = {
      trials,
      kills: landed.length,
      killsByTiming: Object.fromEntries(killTimings.map((timing) => [timing, landed.filter((kill) => kill.timing === timing).length])),
      fileInspections: outcomes.reduce((sum, outcome) => sum + outcome.inspections, 0),
    };
    console.log(`torture: ${JSON.stringify(summary)}`);
    expect(landed.length).toBeGreaterThanOrEqual(trials);
  });
});
