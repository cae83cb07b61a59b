import { spawnSync } from 'node:child_process';
import { copyFile, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '@axiom/runner/host';
import { type Experiment } from '@axiom/runner';
import { builtinExperiments } from '@axiom/experiments';
import { computeGolden, goldenProblems } from '../src/golden.js';
import { axiom, scratch } from './helpers.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const smoke = ['run', 'memorization-dynamics', '--preset', 'smoke', '--seed', '17'];

describe('axiom reproduce', () => {
  it('re-runs a result and confirms a bit-identical digest; --expect-digest pins it in one line', async () => {
    const dir = await scratch();
    const first = await axiom([...smoke, '--out', join(dir, 'r.json')]);
    expect(first.code, first.stderr).toBe(0);
    const digest = JSON.parse(await readFile(join(dir, 'r.json'), 'utf8')).digest as string;

    const again = await axiom(['reproduce', join(dir, 'r.json')]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('identical: the digests match');

    expect((await axiom([...smoke, '--out', join(dir, 'pinned.json'), '--expect-digest', digest])).code).toBe(0);
    const drift = await axiom([...smoke, '--out', join(dir, 'drift.json'), '--expect-digest', 'f'.repeat(64)]);
    expect(drift.code).toBe(ExitCode.notReproduced);
    expect(drift.stderr).toContain(`digest ${digest} differs from the expected ${'f'.repeat(64)}`);
  });

  it("on another backend, compares the experiment's headline metrics within their declared tolerances", async () => {
    const dir = await scratch();
    await axiom([...smoke, '--out', join(dir, 'r.json')]);
    const cross = await axiom(['reproduce', join(dir, 'r.json'), '--backend', 'cpu']);
    expect(cross.code, cross.stdout + cross.stderr).toBe(0);
    expect(cross.stdout).toContain('on cpu instead of wasm: headline metrics must agree: byLevel.*.testAccuracy within 0.01 + 0·|value|;');
  });

  it('explains a planted change to an experiment: where the values first differ, by how much, and what changed', async () => {
    const dir = await scratch();
    await symlink(join(repo, 'node_modules'), join(dir, 'node_modules')); // the experiment imports the worker's packages
    const file = join(dir, 'experiment.mjs');
    await copyFile(join(repo, 'examples', 'custom-experiment.mjs'), file);
    const made = await axiom(['run', file, '--preset', 'smoke', '--seed', '5', '--out', join(dir, 'r.json')]);
    expect(made.code, made.stderr).toBe(0);

    const source = await readFile(file, 'utf8');
    await writeFile(file, source.replace('learningRate: 0.01', 'learningRate: 0.03'));
    const changed = await axiom(['reproduce', join(dir, 'r.json')]);
    expect(changed.code).toBe(ExitCode.notReproduced);
    expect(changed.stdout).toMatch(/value\(s\) differ; max absolute difference/);
    expect(changed.stdout).toMatch(/^ {2}metrics\.byWidth\.8\.testAccuracy: expected [\d.]+, got [\d.]+ \(Δ /m);
    expect(changed.stdout).toMatch(/script sha256: [0-9a-f]{64} → [0-9a-f]{64}/);
  });
});

describe('the CI recipe in examples/ci', () => {
  it('pins an experiment, passes while it reproduces, and fails with exit 13 once it drifts', async () => {
    const dir = await scratch();
    await symlink(join(repo, 'node_modules'), join(dir, 'node_modules'));
    const file = join(dir, 'experiment.mjs');
    await copyFile(join(repo, 'examples', 'custom-experiment.mjs'), file);
    const env = { ...process.env, EXPERIMENT: file, PINNED_RESULT: join(dir, 'pinned.json') };
    const recipe = (...args: string[]) =>
      spawnSync('bash', [join(repo, 'examples', 'ci', 'check-reproducible.sh'), ...args], { cwd: repo, env, encoding: 'utf8' });

    expect(recipe('--update').status).toBe(0);
    const check = recipe();
    expect(check.status, check.stderr).toBe(0);
    expect(check.stdout).toContain('identical');
    await writeFile(file, (await readFile(file, 'utf8')).replace('learningRate: 0.01', 'learningRate: 0.03'));
    const drifted = recipe();
    expect(drifted.status).toBe(ExitCode.notReproduced);
    expect(drifted.stdout).toMatch(/differ/);
  });
});

describe('golden digests', () => {
  // XNNPACK splits a product's output tiles between threads without changing any element's summation
  // order, so the digests must not depend on the thread count (docs/reproducibility.md).
  // The host kernels give the WASM kernels' bits: one check runs each (the dense layers' products in machine code,
  // or in WASM with AXIOM_HOST_KERNELS=off), so both paths are held to the pinned digests.
  it.each([
    { threads: 1, hostKernels: 'off' },
    { threads: 2, hostKernels: 'on' },
  ])(
    'the committed golden file pins every built-in experiment at $threads WASM thread(s), host kernels $hostKernels (this guards the science in CI)',
    async ({ threads, hostKernels }) => {
      const check = await axiom(['golden', 'check'], { env: { AXIOM_THREADS: String(threads), AXIOM_HOST_KERNELS: hostKernels } });
      expect(check.code, check.stdout + check.stderr).toBe(0);
      expect(check.stdout).toContain(`${builtinExperiments.size} experiment(s) reproduce their pinned digests`);
      const ran = check.stderr.split('\n').filter((line) => line.includes(`(wasm, ${threads} thread(s), `));
      expect(ran, check.stderr).toHaveLength(builtinExperiments.size);
    },
    600_000,
  ); // two threads spin while they wait: on a shared machine the check takes several times longer

  it('a planted change to an experiment is caught and named; with a version bump it asks for an update', async () => {
    const real = builtinExperiments.get('memorization-dynamics')!;
    const golden = await computeGolden([real], 'wasm');
    const planted: Experiment = { ...real, presets: { ...real.presets, smoke: { ...real.presets.smoke, learningRate: 0.004 } } };
    const problems = goldenProblems(golden, await computeGolden([planted], 'wasm'));
    const stillVersion = `but its version is still ${real.version.replaceAll('.', '\\.')}:`;
    expect(problems).toEqual([expect.stringMatching(new RegExp(`^memorization-dynamics: its smoke digest changed \\(.+\\) ${stillVersion}`))]);
    const bumped = goldenProblems(golden, await computeGolden([{ ...planted, version: `${real.version}-planted` }], 'wasm'));
    expect(bumped).toEqual([`memorization-dynamics: version ${real.version} → ${real.version}-planted; run \`axiom golden update\` to pin the new digest`]);
  });
});
