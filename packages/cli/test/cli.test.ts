import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ExitCode, type Result, resultSchema } from '@axiom/runner/host';
import { builtinExperiments } from '@axiom/experiments';
import { axiom, scratch, startAxiom } from './helpers.js';

const smoke = ['run', 'memorization-dynamics', '--preset', 'smoke'];
const WITHOUT_NATIVE_TFJS = fileURLToPath(new URL('./fixtures/without-native-tfjs.mjs', import.meta.url));

async function readResult(path: string): Promise<Result> {
  return resultSchema.parse(JSON.parse(await readFile(path, 'utf8')));
}

describe('determinism across processes', () => {
  it('the same seed and backend give the same digest; another seed gives another', async () => {
    const dir = await scratch();
    const runs = await Promise.all([7, 7, 8].map((seed, i) => axiom([...smoke, '--seed', String(seed), '--out', join(dir, `r${i}.json`)])));
    runs.forEach((run) => expect(run.code, run.stderr).toBe(0));
    const [a, b, c] = await Promise.all([0, 1, 2].map((i) => readResult(join(dir, `r${i}.json`))));
    expect(a!.digest).toBe(b!.digest);
    expect(a!.digest).not.toBe(c!.digest);
    expect(a!.resultId).not.toBe(b!.resultId);
    expect(runs[0]!.stdout).toContain(`digest: ${a!.digest}`);
    expect(a!.seed).toEqual({ value: 7, source: 'cli' });
    // The summary names the headline metrics for people and fits an 80-column terminal (the result path aside).
    expect(runs[0]!.stdout).toMatch(/^ {2}corruption 0\.4 · test accuracy: 0\.\d{4}$/m);
    expect(runs[0]!.stdout).toMatch(/^ {2}corruption 0\.4 · clean-first rate: 0\.\d{4}$/m);
    expect(runs[0]!.stdout).not.toContain('byLevel');
    expect(runs[0]!.stdout.split('\n').filter((line) => !line.startsWith('result: ') && line.length > 80)).toEqual([]);
  });

  it('the plain JS backend is bit-reproducible too', async () => {
    const dir = await scratch();
    const runs = await Promise.all([0, 1].map((i) => axiom([...smoke, '--seed', '3', '--backend', 'cpu', '--out', join(dir, `cpu${i}.json`)])));
    runs.forEach((run) => expect(run.code, run.stderr).toBe(0));
    const [a, b] = await Promise.all([0, 1].map((i) => readResult(join(dir, `cpu${i}.json`))));
    expect(a!.backend.name).toBe('cpu');
    expect(a!.digest).toBe(b!.digest);
  });
});

describe('seed provenance', () => {
  it('takes experiment, preset and seed from a wu.json reached through a BOINC link file', async () => {
    const dir = await scratch();
    await mkdir(join(dir, 'projects'));
    await writeFile(join(dir, 'projects', 'wu_1.json'), JSON.stringify({ experiment: 'memorization-dynamics', seed: 4242, preset: 'smoke', replicate: 3 }));
    await writeFile(join(dir, 'wu.json'), '<soft_link>projects/wu_1.json</soft_link>');
    const run = await axiom(['run', '--wu', 'wu.json', '--out', 'result.json'], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    const result = await readResult(join(dir, 'result.json'));
    expect(result.seed).toEqual({ value: 4242, source: 'wu.json' });
    expect(result).toMatchObject({ preset: 'smoke', workunit: { replicate: 3 }, warnings: [] });
  });

  it('an empty wu.json falls back to a recorded crypto seed with named warnings on stderr and in the result', async () => {
    const dir = await scratch();
    await writeFile(join(dir, 'wu.json'), '');
    const run = await axiom([...smoke, '--wu', join(dir, 'wu.json'), '--out', join(dir, 'r.json')]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('warning [wu-empty]');
    expect(run.stderr).toContain('warning [seed-crypto-fallback]');
    const result = await readResult(join(dir, 'r.json'));
    expect(result.seed.source).toBe('crypto-fallback');
    expect(result.seed.fallbackReason).toContain('is empty');
    expect(result.warnings.map((w) => w.code)).toEqual(['wu-empty', 'seed-crypto-fallback']);
  });

  it('AXIOM_SEED is used, and recorded as from the environment', async () => {
    const dir = await scratch();
    const run = await axiom([...smoke, '--out', join(dir, 'r.json')], { env: { AXIOM_SEED: '99' } });
    expect(run.code, run.stderr).toBe(0);
    expect((await readResult(join(dir, 'r.json'))).seed).toEqual({ value: 99, source: 'env' });
  });
});

describe('bad input: one clear line, a distinct exit code, no partial file', () => {
  const cases: Array<{ name: string; args: (dir: string) => Promise<string[]> | string[]; env?: Record<string, string>; code: number; message: RegExp }> = [
    {
      name: 'unknown experiment',
      args: () => ['run', 'memorisation'],
      code: ExitCode.unknownExperiment,
      message: /unknown experiment "memorisation" \(built in: [^)]*memorization-dynamics/,
    },
    {
      name: 'a misspelt parameter',
      args: () => [...smoke, '--seed', '1', '--params', '{"epoch": 3}'],
      code: ExitCode.badParams,
      message: /unknown field "epoch" \(allowed: corruptionLevels, .*epochs/,
    },
    {
      name: 'a parameter out of range',
      args: () => [...smoke, '--seed', '1', '--params', '{"corruptionLevels": [1.5]}'],
      code: ExitCode.badParams,
      message: /params\.corruptionLevels\[0\]/,
    },
    {
      name: 'an unknown preset',
      args: () => [...smoke.slice(0, 2), '--preset', 'quick', '--seed', '1'],
      code: ExitCode.badParams,
      message: /unknown preset "quick" \(available: smoke\)/,
    },
    {
      name: 'an unwritable output path',
      args: async (dir) => {
        await writeFile(join(dir, 'a-file'), '');
        return [...smoke, '--seed', '1', '--out', join(dir, 'a-file', 'result.json')];
      },
      code: ExitCode.outputUnwritable,
      message: /cannot write result to .*a-file\/result\.json: (ENOTDIR|EEXIST)/,
    },
    {
      name: 'a file that is not a checkpoint',
      args: async (dir) => {
        await writeFile(join(dir, 'ckpt.json'), '{"formatVersion": 1, "units": [');
        return [...smoke, '--seed', '1', '--checkpoint', join(dir, 'ckpt.json'), '--out', join(dir, 'r.json')];
      },
      code: ExitCode.badCheckpoint,
      message: /checkpoint .*ckpt\.json is not an Axiom checkpoint .*run with --restart to discard it and start over/,
    },
    {
      name: '--require-seed with an empty wu.json',
      args: async (dir) => {
        await writeFile(join(dir, 'wu.json'), '');
        return [...smoke, '--wu', join(dir, 'wu.json'), '--require-seed', '--out', join(dir, 'r.json')];
      },
      code: ExitCode.badWorkunit,
      message: /--require-seed: .*wu\.json is empty \(0 bytes\) \[wu-empty\]/,
    },
    {
      name: 'a forced backend that is not installed',
      args: (dir) => [...smoke, '--seed', '1', '--backend', 'tfjs-node', '--out', join(dir, 'r.json')],
      env: { NODE_OPTIONS: `--import=${WITHOUT_NATIVE_TFJS}` },
      code: ExitCode.backendUnavailable,
      message: /backend "tfjs-node" cannot be used: @tensorflow\/tfjs-node is not installed/,
    },
    {
      name: 'a seed that is not a uint32',
      args: () => [...smoke, '--seed', '-4'],
      code: ExitCode.usage,
      message: /--seed: seed must be an unsigned 32-bit integer/,
    },
    { name: 'an unknown option', args: () => [...smoke, '--sede', '4'], code: ExitCode.usage, message: /unknown option '--sede'/ },
    {
      name: 'help for an unknown command',
      args: () => ['help', 'golden', 'nosuch'],
      code: ExitCode.usage,
      message: /^axiom: error: unknown command 'golden nosuch' \(see axiom --help\)$/m,
    },
  ];

  it.each(cases)('$name', async ({ args, env, code, message }) => {
    const dir = await scratch();
    const run = await axiom(await args(dir), { cwd: dir, env });
    expect(run.code, run.stderr).toBe(code);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const left = await readdir(dir);
    expect(left.filter((name) => name.endsWith('.json') && name !== 'wu.json' && name !== 'ckpt.json')).toEqual([]);
  });
});

describe('interruption and checkpoints', () => {
  // One stack of four networks, long enough (~10 s idle) that Ctrl-C at the first progress line naming an
  // epoch (plain lines come every 5 s) lands inside its training. It trains in two parts of two (`stackParts`),
  // one after the other on one worker, so the first checkpoint is taken inside the first part.
  const runArgs = (seed: number) => [
    'run',
    'memorization-dynamics',
    '--preset',
    'smoke',
    '--seed',
    String(seed),
    '--params',
    '{"corruptionLevels":[0,0.2,0.4,0.6],"epochs":150}',
    '--workers',
    '1',
  ];
  const args = runArgs(5);

  it('Ctrl-C inside a stack saves a checkpoint, writes a partial result and exits 130; the same command again resumes to the same digest', async () => {
    const dir = await scratch();
    const reference = await axiom([...args, '--no-checkpoint', '--out', join(dir, 'reference.json')]);
    expect(reference.code, reference.stderr).toBe(0);

    // A checkpoint at every step (the period does not name the run): Ctrl-C once the first one inside the stack exists.
    const command = [...args, '--checkpoint-period', '0', '--out', join(dir, 'r.json')];
    const { child, finished } = startAxiom(command);
    let exited = false;
    void finished.then(() => (exited = true));
    while (!exited && !(await readdir(join(dir, '.checkpoints')).catch(() => [])).some((name) => name.endsWith('.ckpt'))) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    child.kill('SIGINT');
    const interrupted = await finished;
    expect(interrupted.code, interrupted.stderr).toBe(ExitCode.interrupted);
    expect(interrupted.stdout).toMatch(/checkpoint: .*\.checkpoints\/memorization-dynamics-[0-9a-f]{16}\.ckpt \(run the same command again to resume\)/);
    expect((await readResult(join(dir, 'r.json'))).status).toBe('partial');

    const resumed = await axiom(command);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming from checkpoint at \d+\.\d%: 0 unit\(s\) done, inside training of 2 more/);
    const result = await readResult(join(dir, 'r.json'));
    expect(result.timings.resumes).toBe(1);
    expect(result.digest).toBe((await readResult(join(dir, 'reference.json'))).digest);
    expect(await readdir(join(dir, '.checkpoints'))).toEqual([]); // a finished run leaves none behind
  });

  it('a torn checkpoint or one from another run stops the run (exit 7) until --restart starts it over', async () => {
    const dir = await scratch();
    const checkpoint = join(dir, 'run.ckpt');
    const withCheckpoint = (seed: number) => [...runArgs(seed), '--checkpoint', checkpoint, '--out', join(dir, 'r.json')];
    const { child, finished } = startAxiom(withCheckpoint(5));
    child.stderr!.once('data', () => child.kill('SIGINT'));
    expect((await finished).code).toBe(ExitCode.interrupted);
    const saved = await readFile(checkpoint);

    await writeFile(checkpoint, saved.subarray(0, saved.length - 100));
    const torn = await axiom(withCheckpoint(5));
    expect(torn.code).toBe(ExitCode.badCheckpoint);
    expect(torn.stderr).toMatch(/is corrupt: its checksum does not match .*run with --restart/);

    await writeFile(checkpoint, saved);
    const otherSeed = await axiom(withCheckpoint(6));
    expect(otherSeed.code).toBe(ExitCode.badCheckpoint);
    expect(otherSeed.stderr).toMatch(/checkpoint belongs to another run: its seed is 5, this run's is 6/);

    const restarted = await axiom([...withCheckpoint(6), '--restart']);
    expect(restarted.code, restarted.stderr).toBe(0);
    expect(restarted.stderr).not.toContain('resuming');
  });
});

describe('experiments from local files', () => {
  it('runs the example experiment a researcher copies', async () => {
    const example = new URL('../../../examples/custom-experiment.mjs', import.meta.url).pathname;
    const dir = await scratch();
    const run = await axiom(['run', example, '--preset', 'smoke', '--seed', '1', '--out', join(dir, 'r.json')]);
    expect(run.code, run.stderr).toBe(0);
    expect((await readResult(join(dir, 'r.json'))).experiment).toEqual({
      name: 'width-vs-accuracy',
      version: '1.0.0',
      script: { url: `file://${example}`, sha256: expect.stringMatching(/^[0-9a-f]{64}$/), verification: 'local-file' },
    });
  });

  it('rejects a module that is not an experiment, saying what is wrong', async () => {
    const dir = await scratch();
    await writeFile(join(dir, 'bad.mjs'), 'export default { name: "Bad Name", run: 42 };');
    const run = await axiom(['run', join(dir, 'bad.mjs'), '--seed', '1']);
    expect(run.code).toBe(ExitCode.unknownExperiment);
    expect(run.stderr).toMatch(/bad\.mjs: not an experiment: "name" must be a kebab-case string; "version" must be a string/);
  });
});

describe('axiom list and help', () => {
  it('lists the experiments one line each, and one experiment with its parameters and presets', async () => {
    const run = await axiom(['list']);
    expect(run.code).toBe(0);
    for (const experiment of builtinExperiments.values()) {
      expect(run.stdout.split('\n').filter((line) => line.startsWith(`${experiment.name} `))).toHaveLength(1);
    }
    const one = await axiom(['list', 'memorization-dynamics']);
    expect(one.stdout).toMatch(/^memorization-dynamics \(v\d/);
    expect(one.stdout).toContain('corruptionLevels = [0,0.2,0.4,0.6]');
    expect(one.stdout).toContain('presets: smoke');
    for (const output of [run.stdout, one.stdout]) expect(output.split('\n').filter((line) => line.length > 80)).toEqual([]); // fits an 80-column terminal
    const unknown = await axiom(['list', 'no-such-experiment']);
    expect([unknown.code, unknown.stderr]).toEqual([ExitCode.unknownExperiment, expect.stringContaining('no built-in experiment "no-such-experiment"')]);
    const catalogue = JSON.parse((await axiom(['list', '--json'])).stdout) as Array<{
      name: string;
      params: Array<{ name: string; default: unknown }>;
      headline: unknown[];
    }>;
    const memorization = catalogue.find((experiment) => experiment.name === 'memorization-dynamics')!;
    expect(memorization.params.find((param) => param.name === 'epochs')!.default).toBe(80); // the real sweep, as the bench's PyTorch side reads it
    expect(memorization.headline).toContainEqual({ metric: 'byLevel.*.testAccuracy', tolerance: { absolute: 0.01, relative: 0 } });
  });

  it('--help documents the commands and exit codes', async () => {
    const run = await axiom(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Exit codes:');
    expect(run.stdout).toMatch(/run \[options\] \[experiment\]/);
  });
});
