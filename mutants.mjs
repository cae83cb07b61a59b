// `npm run mutants -- [experiment ...]`: mutation testing (StrykerJS) of the built-in experiments
// against their fast tests: each experiment file is mutated and its own test file, the data
// generators' tests and the in-process golden digests must kill the mutants. Not part of CI (it takes long); the score is in docs/reliability.md.
//
// Survivors of the last full run (2026-12-02; 482 of 556 detected, 86.7%) and why they are left:
// - Headline flags (`strongGradientDominates`, `cleanFirstAtEveryLevel`, `ckaIncreasesWithWidth`,
//   `dataScalingFitsPowerLaw`, `dataIsTheBottleneck`, …): `every` → `some`, `>` → `>=`, a condition → true.
//   At the smoke presets every width and level agrees and no two values tie, so these give the same
//   result there; only a run where the finding fails would tell them apart (a control, issue #18 item 2).
// - Equivalent mutants: initial values overwritten before use (`let accuracyStrongDestroyed = []`);
//   `optimizer: 'adam'` → '' and the probe's loss 'cross-entropy' → '' (the defaults are the same);
//   `epoch < 0` → `<= 0` (epochs count from 1); cleanFirstRate's `++` → `--` (every count negated, the ratio
//   unchanged); `validationLoss <` → `<=` (no exact ties in float losses); optional chaining on fits that exist.
// - Stacking keys (`width=…`, the padded group): they decide which units train in one stack, and stacked
//   training gives the same numbers as training alone (stacked.test.ts), so the digests do not move.
// - curriculum-learning's levelOrderAgreement (7 survivors): now tested directly (curriculum-learning.test.ts);
//   a re-run of its lines killed all 20 of its mutants.
import { Stryker } from '@stryker-mutator/core';

const experiments = ['curriculum-learning', 'feature-competition', 'memorization-dynamics', 'micro-scaling-laws', 'representation-alignment'];
const chosen = process.argv.slice(2);
const unknown = chosen.filter((name) => !experiments.includes(name));
if (unknown.length) {
  console.error(`mutants: unknown experiment(s) ${unknown.join(', ')}; choose from ${experiments.join(', ')}`);
  process.exit(2);
}
const names = chosen.length ? chosen : experiments;
// Read by vitest.mutants.config.ts in Stryker's test-runner processes.
process.env.AXIOM_MUTANT_TESTS = [
  ...names.map((name) => `packages/experiments/test/${name}.test.ts`),
  'packages/experiments/test/data.test.ts',
  'packages/experiments/test/golden-digests.mutant-test.ts',
].join(',');

const stryker = new Stryker({
  mutate: names.map((name) => `packages/experiments/src/${name}.ts`),
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutants.config.ts', related: false },
  coverageAnalysis: 'perTest',
  // Module-level code (param schemas, presets, names) is configuration; the golden digests pin what
  // it changes, but Stryker's vitest runner ran no test for such "static" mutants here, so they are left out.
  ignoreStatic: true,
  // Two shared cores: one mutant at a time, each test file on the WASM backend's single thread.
  concurrency: Number(process.env.AXIOM_MUTANT_CONCURRENCY ?? 1),
  timeoutMS: 60_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  ignorePatterns: ['bench-results', 'reports', 'results', 'examples', 'docs'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
});
const results = await stryker.runMutationTest();
const count = (...statuses) => results.filter((mutant) => statuses.includes(mutant.status)).length;
const detected = count('Killed', 'Timeout');
const valid = detected + count('Survived', 'NoCoverage');
console.log(`mutants: ${names.join(', ')}: ${detected} of ${valid} detected (${((100 * detected) / valid).toFixed(1)}%)`);
