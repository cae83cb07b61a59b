import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the sources; the CLI tests spawn the built `axiom` (npm test builds first).
    // Exact matches: '@axiom/runner' must not also catch '@axiom/runner/host'.
    alias: [
      { find: /^@axiom\/runner$/, replacement: source('./packages/runner/src/index.ts') },
      { find: /^@axiom\/runner\/host$/, replacement: source('./packages/runner/src/host-entry.ts') },
      { find: /^@axiom\/experiments$/, replacement: source('./packages/experiments/src/index.ts') },
      { find: /^@axiom\/wrapper$/, replacement: source('./packages/wrapper/src/index.ts') },
    ],
  },
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    pool: 'forks',
    globalSetup: ['./vitest.global-setup.ts'],
    testTimeout: 120_000,
    // Hooks that run experiments to set up take as long as tests on a busy machine.
    hookTimeout: 120_000,
    // Test files run side by side on a few cores: a spin-waiting WASM thread pool would only fight them.
    // The threaded build has its own tests, which ask for threads explicitly.
    env: { AXIOM_THREADS: '1' },
    reporters: ['default', './vitest.summary.ts'],
  },
});
