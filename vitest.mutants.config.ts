import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The fast tests of the experiments, for `npm run mutants` (Stryker runs them against each mutant):
 * the files named in AXIOM_MUTANT_TESTS, else every experiment test but the soak. The rest is the
 * main config's (its `include` is replaced, not merged).
 */
const named = process.env.AXIOM_MUTANT_TESTS?.split(',').filter(Boolean);

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: named ?? ['packages/experiments/test/**/*.test.ts'],
    exclude: ['packages/experiments/test/soak.test.ts'],
    reporters: ['default'],
  },
});
