import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '@axiom/runner/host';
import { axiom, scratch } from './helpers.js';

/** Every code docs/reliability.md documents; 1 (internal error) is documented too, but means a bug. */
const documentedCodes = new Set<number>(Object.values(ExitCode).filter((code) => code !== ExitCode.internal));

// Commands that stay fast whatever their arguments ("golden" would run every experiment).
const subcommands = ['run', 'reproduce', 'worker', 'list', 'analyze', 'report', 'upload', 'bundle', 'keygen', 'help', 'nonsense'];
const options = [
  '--seed',
  '--wu',
  '--params',
  '--preset',
  '--out',
  '--backend',
  '--threads',
  '--sha256',
  '--checkpoint',
  '--json',
  '--csv',
  '-o',
  '--flush',
  '--require-seed',
  '--version',
  '--help',
  '--bogus',
];
const value = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer().map(String),
  fc.constantFrom(
    '-1',
    '4294967296',
    '1e3',
    '{',
    '{"epochs":-1}',
    '[]',
    'smoke',
    'cpu',
    '.',
    '/dev/null',
    '/nonexistent/x.json',
    'http://127.0.0.1:9/x.mjs',
    'file:///etc/passwd',
    '',
  ),
);
const argv = fc
  .tuple(fc.constantFrom(...subcommands), fc.array(fc.oneof(fc.constantFrom(...options), value), { maxLength: 5 }))
  .map(([command, rest]) => [command, ...rest]);

describe('fuzz: CLI arguments (the built axiom, spawned)', () => {
  it('ends every random command line with a documented exit code and a one-line error, never a stack trace', async () => {
    const samples = fc.sample(argv, { numRuns: Number(process.env.AXIOM_FUZZ_CLI_RUNS ?? 12), seed: 20261125 });
    const concurrency = 4;
    for (let start = 0; start < samples.length; start += concurrency) {
      await Promise.all(
        samples.slice(start, start + concurrency).map(async (args) => {
          const cwd = await scratch();
          // A scratch home and caches: nothing outside the scratch directory is read or written.
          const finished = await axiom(args, {
            cwd,
            env: { HOME: cwd, XDG_CACHE_HOME: cwd, AXIOM_CACHE_DIR: undefined, AXIOM_SPOOL_DIR: undefined, AXIOM_TRUSTED_KEY: undefined },
          });
          const context = `axiom ${JSON.stringify(args)} → ${finished.code}: ${finished.stderr}`;
          expect(documentedCodes.has(finished.code ?? -1), context).toBe(true);
          if (finished.code === ExitCode.ok) return;
          expect(finished.stderr, context).not.toMatch(/\n\s+at /);
          // `axiom help <not a command>` is a usage error that shows the usage instead (commander's way).
          if (finished.code === ExitCode.usage && finished.stderr.startsWith('Usage: axiom')) return;
          expect(
            finished.stderr
              .trim()
              .split('\n')
              .filter((line) => line.startsWith('axiom: error')).length,
            context,
          ).toBe(1);
        }),
      );
    }
  });
});
