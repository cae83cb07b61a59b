import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The fast tests of the experiments, for `npm run mutants` (Stryker runs them against each mutant):
 * the files named in AXIOM_MUTANT_TESTS, else every experiment test but the soak.
 */
const named = process.env.AXIOM_MUTANT_TESTS?.split(',').filter(Boolean);

export default mergeConfig(
  base,
  defineConfig({
    test: {
      include: named ?? ['packages/experiments/test/**/*.test.ts'],
      exclude: ['packages/experiments/test/soak.test.ts'],
      reporters: ['default'],
    },
  }),
);
