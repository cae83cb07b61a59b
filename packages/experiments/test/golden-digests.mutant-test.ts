import { describe, expect, it } from 'vitest';
import type { Experiment } from '@axiom/runner';
import { builtinExperiments } from '@axiom/experiments';
import { computeGolden, readGoldenFile } from '../../cli/src/golden.js';

// For `npm run mutants` only (CI checks the same digests through `axiom golden check`): a mutant that
// changes any number an experiment's smoke preset produces is caught here, in-process.
const goldenPath = new URL('../golden-digests.json', import.meta.url).pathname;

describe.each([...builtinExperiments.values()].map((experiment) => [experiment.name, experiment] as [string, Experiment]))('%s', (name, experiment) => {
  it('reproduces its pinned smoke digest', async () => {
    const golden = await readGoldenFile(goldenPath);
    const current = await computeGolden([experiment], golden.backend);
    expect(current.experiments[name]).toEqual(golden.experiments[name]);
  });
});
