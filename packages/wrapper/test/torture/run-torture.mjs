#!/usr/bin/env node
// `npm run torture -- --trials N [--seed S]`: the crash-torture test with more trials than CI runs.
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { trials: { type: 'string', default: '20' }, seed: { type: 'string' } } });
if (!/^[1-9]\d*$/.test(values.trials)) {
  console.error(`run-torture: --trials must be a positive integer, got "${values.trials}"`);
  process.exit(2);
}
const env = { ...process.env, AXIOM_TORTURE_TRIALS: values.trials, ...(values.seed && { AXIOM_TORTURE_SEED: values.seed }) };
// A long run must not be cut short by the CI test timeout.
const testTimeoutMs = String(60_000 + Number(values.trials) * 60_000);
const vitest = spawnSync('npx', ['vitest', 'run', 'packages/wrapper/test/torture/torture.test.ts', '--testTimeout', testTimeoutMs], { stdio: 'inherit', env });
process.exit(vitest.status ?? 1);
