import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { type Result, resultDigest, resultSchema, WASM_NODE_THREADS_PATCH, type Workunit, workunitSchema, writeJsonAtomic } from '@axiom/runner/host';
import { BOINC, BoincClient } from '../../wrapper/test/e2e/boinc-client.js';
import { ResultState, TestProject } from '../../wrapper/test/e2e/test-project.js';
import { makeSlot } from '../../wrapper/test/simulated-slot.js';
import { axiom, scratch } from './helpers.js';
import { runSmokeToFile } from './results-fixture.js';
import { systemDependency } from '../../../test-support/system-dependency.js';

const ValidatorExit = { valid: 0, invalid: 1, transient: 3 };

/** `axiom boinc make-work` for memorization-dynamics smoke; returns the workunits it wrote. */
async function makeWork(dir: string, extra: string[] = []): Promise<Array<{ name: string; workunit: Workunit }>> {
  const made = await axiom([
    'boinc',
    'make-work',
    '--experiment',
    'memorization-dynamics',
    '--preset',
    'smoke',
    '--out',
    join(dir, 'batch'),
    '--ledger',
    join(dir, 'ledger.txt'),
    ...extra,
  ]);
  expect(made.code, made.stderr).toBe(0);
  const files = (await readdir(join(dir, 'batch', 'workunits'))).sort();
  return Promise.all(
    files.map(async (file) => ({
      name: file.replace(/\.json$/, ''),
      workunit: workunitSchema.parse(JSON.parse(await readFile(join(dir, 'batch', 'workunits', file), 'utf8'))),
    })),
  );
}

/** A result as BOINC stores an upload: `<result name>_<i>`, the result name starting with the workunit's. */
async function uploaded(dir: string, resultName: string, result: Result): Promise<string> {
  await mkdir(join(dir, 'upload'), { recursive: true });
  const path = join(dir, 'upload', `${resultName}_0`);
  await writeJsonAtomic(path, result);
  return path;
}

describe('axiom boinc make-work', () => {
  it('writes workunits with unique seeds, records them in the ledger, and refuses a seed the ledger has', async () => {
    const dir = await scratch();
    const workunits = await makeWork(dir, ['--count', '4', '--replicas', '3']);
    const seeds = workunits.map(({ workunit }) => workunit.seed);
    expect(new Set(seeds).size).toBe(4);
    expect((await readFile(join(dir, 'ledger.txt'), 'utf8')).trim().split('\n').map(Number).sort()).toEqual([...seeds].sort());
    const script = await readFile(join(dir, 'batch', 'create_work.sh'), 'utf8');
    // One create_work for the batch, with limits that leave room to settle a disagreement; one stdin line per workunit.
    expect(script.match(/bin\/create_work /g)).toHaveLength(1);
    expect(script).toContain('--min_quorum 3 --target_nresults 3 --max_error_results 3 --max_total_results 9 --max_success_results 6 --stdin');
    expect(script.match(/^--wu_name axiom_memorization-dynamics_s\d+ axiom_memorization-dynamics_s\d+\.json$/gm)).toHaveLength(4);

    const reused = await axiom([
      'boinc',
      'make-work',
      '--experiment',
      'memorization-dynamics',
      '--seeds',
      `12345,${seeds[2]}`,
      '--out',
      join(dir, 'again'),
      '--ledger',
      join(dir, 'ledger.txt'),
    ]);
    expect(reused.code).toBe(5);
    expect(reused.stderr).toContain(`seed ${seeds[2]} was already handed out`);
    expect(existsSync(join(dir, 'again'))).toBe(false);

    const misspelt = await axiom([
      'boinc',
      'make-work',
      '--experiment',
      'memorization-dynamics',
      '--params',
      '{"epocs":3}',
      '--count',
      '1',
      '--out',
      join(dir, 'typo'),
      '--ledger',
      join(dir, 'ledger.txt'),
    ]);
    expect([misspelt.code, misspelt.stderr]).toEqual([3, expect.stringContaining('epocs')]);
    expect((await readFile(join(dir, 'ledger.txt'), 'utf8')).trim().split('\n')).toHaveLength(4);
  });

  it('takes overridden result limits and a declared cost, and wants the cost of a fetched script declared', async () => {
    const dir = await scratch();
    await makeWork(dir, ['--count', '1', '--max-error-results', '5', '--max-success-results', '3', '--estimated-seconds', '60', '--memory-mb', '512']);
    const script = await readFile(join(dir, 'batch', 'create_work.sh'), 'utf8');
    expect(script).toContain('--max_error_results 5 --max_total_results 8 --max_success_results 3');
    const [template] = (await readdir(join(dir, 'batch', 'templates'))).filter((name) => name.startsWith('axiom_in_'));
    const input = await readFile(join(dir, 'batch', 'templates', template!), 'utf8');
    expect(input).toContain(`<rsc_fpops_est>${60 * 4e9}</rsc_fpops_est>`);
    expect(input).toContain(`<rsc_memory_bound>${512 * 2 ** 20}</rsc_memory_bound>`);

    const script2 = await axiom([
      'boinc',
      'make-work',
      '--script',
      'http://127.0.0.1:1/exp.mjs',
      '--sha256',
      'a'.repeat(64),
      '--count',
      '1',
      '--out',
      join(dir, 'scripted'),
      '--ledger',
      join(dir, 'ledger.txt'),
    ]);
    expect([script2.code, script2.stderr]).toEqual([2, expect.stringContaining('--estimated-seconds S --memory-mb MB')]);
  });
});

describe('axiom boinc validate and assimilate', () => {
  const validateInit = (dir: string, file: string) => axiom(['boinc', 'validate', 'init', '--workunits', join(dir, 'batch', 'workunits'), file]);
  const compare = (first: string, second: string) => axiom(['boinc', 'validate', 'compare', first, second]);

  it('accepts real results of the workunit; rejects tampered, failed, seed-mismatched and crypto-fallback ones', async () => {
    const dir = await scratch();
    const [first, second] = await makeWork(dir, ['--count', '2']);
    const { result } = await runSmokeToFile(dir, 'memorization-dynamics', { value: first!.workunit.seed, source: 'wu.json', warnings: [] });
    const valid = await validateInit(dir, await uploaded(dir, `${first!.name}_0_r101`, result));
    expect(valid.code, valid.stderr).toBe(ValidatorExit.valid);

    const tampered = structuredClone(result);
    tampered.metrics.testAccuracyFallsWithCorruption = !tampered.metrics.testAccuracyFallsWithCorruption;
    const rejectedTampered = await validateInit(dir, await uploaded(dir, `${first!.name}_1_r102`, tampered));
    expect(rejectedTampered.code).toBe(ValidatorExit.invalid);
    expect(rejectedTampered.stderr).toContain('digest does not match metrics and units: the values differ from the ones digested');
    expect(rejectedTampered.stderr).not.toContain('altered'); // a digest proves equality, not tampering

    const failed = await validateInit(dir, await uploaded(dir, `${first!.name}_2_r103`, { ...result, status: 'failed', statusReason: 'boom' }));
    expect([failed.code, failed.stderr]).toEqual([ValidatorExit.invalid, expect.stringContaining('status failed (boom)')]);

    // The first workunit's honest result, uploaded as the second workunit's: the seeds differ.
    const mismatched = await validateInit(dir, await uploaded(dir, `${second!.name}_0_r104`, result));
    expect([mismatched.code, mismatched.stderr]).toEqual([ValidatorExit.invalid, expect.stringContaining(`is not the workunit's ${second!.workunit.seed}`)]);

    const fallback = (
      await runSmokeToFile(dir, 'memorization-dynamics', {
        value: second!.workunit.seed,
        source: 'crypto-fallback',
        fallbackReason: 'wu-missing',
        warnings: [],
      })
    ).result;
    const rejectedFallback = await validateInit(dir, await uploaded(dir, `${second!.name}_1_r105`, fallback));
    expect([rejectedFallback.code, rejectedFallback.stderr]).toEqual([
      ValidatorExit.invalid,
      expect.stringContaining('seed came from crypto-fallback (wu-missing)'),
    ]);

    const notJson = join(dir, 'upload', `${first!.name}_3_r106_0`); // upload/ exists: made by the uploads above
    await writeFile(notJson, '{"truncated": ');
    expect((await validateInit(dir, notJson)).code).toBe(ValidatorExit.invalid);
    const unknownWorkunit = await validateInit(dir, await uploaded(dir, 'axiom_other_s1_0_r107', result));
    expect(unknownWorkunit.code, 'a missing workunit is the server’s problem: retry').toBe(ValidatorExit.transient);
    const explicit = await axiom([
      'boinc',
      'validate',
      'init',
      '--wu',
      join(dir, 'batch', 'workunits', `${first!.name}.json`),
      join(dir, 'upload', `${first!.name}_0_r101_0`),
    ]);
    expect(explicit.code, explicit.stderr).toBe(ValidatorExit.valid);
  });

  it('compares replicas: equal digests on one backend; within the tolerance across backends; otherwise no match', async () => {
    const dir = await scratch();
    const [workunit] = await makeWork(dir, ['--count', '1']);
    const seed = { value: workunit!.workunit.seed, source: 'wu.json' as const, warnings: [] };
    const replicaA = await runSmokeToFile(dir, 'memorization-dynamics', seed);
    const replicaB = await runSmokeToFile(dir, 'memorization-dynamics', seed);
    expect(replicaB.result.resultId).not.toBe(replicaA.result.resultId);
    const agree = await compare(replicaA.file, replicaB.file);
    expect([agree.code, agree.stderr]).toEqual([ValidatorExit.valid, expect.stringContaining('equal digests on wasm')]);

    // A replica from another seed (another machine that got the seed wrong) computes something else.
    const other = await runSmokeToFile(dir, 'memorization-dynamics', { ...seed, value: (seed.value + 1) >>> 0 });
    const disagree = await compare(replicaA.file, other.file);
    expect([disagree.code, disagree.stderr]).toEqual([ValidatorExit.invalid, expect.stringContaining('digests differ on the same backend (wasm)')]);

    // Derived from the real replica: the same numbers reported from another backend, a headline metric nudged
    // within and beyond its declared tolerance (0.01).
    const onCpu = (nudge: number): Result => {
      const moved = structuredClone(replicaB.result);
      moved.backend.name = 'cpu';
      const level = (moved.metrics.byLevel as Record<string, Record<string, number>>)['0.4']!;
      level.testAccuracy = level.testAccuracy! + nudge;
      moved.digest = resultDigest(moved.metrics, moved.units);
      return moved;
    };
    const close = await uploaded(dir, 'close', onCpu(0.001));
    const far = await uploaded(dir, 'far', onCpu(0.5));
    const within = await compare(replicaA.file, close);
    expect([within.code, within.stderr]).toEqual([ValidatorExit.valid, expect.stringContaining('agree within tolerance (wasm vs cpu')]);
    const beyond = await compare(replicaA.file, far);
    expect([beyond.code, beyond.stderr]).toEqual([ValidatorExit.invalid, expect.stringContaining('metrics.byLevel.0.4.testAccuracy')]);

    // A replica altered after the run, keeping the honest digest, is caught before any digest is trusted.
    const altered = structuredClone(replicaB.result);
    altered.units[0]!.metrics.finalTestAccuracy = (altered.units[0]!.metrics.finalTestAccuracy as number) + 0.125; // a change whatever the seed gave
    const rejected = await compare(replicaA.file, await uploaded(dir, 'altered', altered));
    expect([rejected.code, rejected.stderr]).toEqual([ValidatorExit.invalid, expect.stringContaining('digest does not match')]);
  });

  it('assimilates results into a store, once per resultId, that axiom analyze reads', async () => {
    const dir = await scratch();
    const store = join(dir, 'store');
    const files = await Promise.all(
      [3, 4].map(async (seed) => (await runSmokeToFile(dir, 'memorization-dynamics', { value: seed, source: 'wu.json', warnings: [] })).file),
    );
    for (const file of [...files, files[0]!]) {
      const stored = await axiom(['boinc', 'assimilate', '--store', store, file]);
      expect(stored.code, stored.stderr).toBe(0);
    }
    const inStore = await readdir(store);
    expect(inStore).toHaveLength(2);
    for (const name of inStore) expect(name).toBe(`${resultSchema.parse(JSON.parse(await readFile(join(store, name), 'utf8'))).resultId}.json`);
    const analysis = await axiom(['analyze', store, '--json']);
    expect(analysis.code, analysis.stderr).toBe(0);
    expect(analysis.stdout).toMatch(/"n": 2/);

    const failedWorkunit = await axiom(['boinc', 'assimilate', '--store', store, '--error', '8', '42']);
    expect([failedWorkunit.code, failedWorkunit.stderr]).toEqual([0, expect.stringContaining('workunit 42 failed (error mask 8)')]);
    expect(await readdir(store)).toHaveLength(2);
  });

  it('a failed assimilation exits 0 (script_assimilator would stop), logs it and keeps the files for a rerun', async () => {
    const dir = await scratch();
    const store = join(dir, 'store');
    const { file, result } = await runSmokeToFile(dir, 'memorization-dynamics', { value: 5, source: 'wu.json', warnings: [] });
    await mkdir(join(store, `${result.resultId}.json`), { recursive: true });
    const failed = await axiom(['boinc', 'assimilate', '--store', store, file]);
    expect([failed.code, failed.stderr]).toEqual([0, expect.stringMatching(/assimilation failed for .*\n.*kept .* as .*store\.failed/)]);
    const rerun = await axiom(['boinc', 'assimilate', '--store', join(dir, 'store2'), join(`${store}.failed`, basename(file))]);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(await readdir(join(dir, 'store2'))).toEqual([`${result.resultId}.json`]);
  });
});

/** `axiom boinc app-version` into a scratch directory; returns the version directory. */
async function buildAppVersion(dir: string, node: 'host' | 'bundled', planClass = 'cpu'): Promise<string> {
  const built = await axiom([
    'boinc',
    'app-version',
    '--platform',
    'x86_64-pc-linux-gnu',
    '--node',
    node,
    '--plan-class',
    planClass,
    '-o',
    join(dir, 'project'),
  ]);
  expect(built.code, built.stderr).toBe(0);
  return join(dir, 'project', 'apps', 'axiom', '1.0', `x86_64-pc-linux-gnu${planClass === 'cpu' ? '' : `__${planClass}`}`);
}

describe('axiom boinc app-version', () => {
  it("with the host's node and the mt plan class: version.xml, job.xml, and the launcher runs the bundle in a slot far from any node_modules on the CPUs it is given", async () => {
    const dir = await scratch();
    const versionDir = await buildAppVersion(dir, 'host', 'mt');
    const versionXml = await readFile(join(versionDir, 'version.xml'), 'utf8');
    expect(versionXml).toMatch(/<physical_name>axiom_launcher_1\.0__mt\.sh<\/physical_name>\s*<main_program\/>/);
    const planClasses = await readFile(fileURLToPath(new URL('../../../examples/boinc-project/plan_class_spec.xml', import.meta.url)), 'utf8');
    expect(planClasses, 'the example plan_class_spec.xml has the mt class').toMatch(
      /<name>mt<\/name>\s*<min_ncpus>2<\/min_ncpus>\s*<max_threads>8<\/max_threads>/,
    );
    expect(versionXml).toContain('<api_version>7.20.0</api_version>');
    // Every physical name carries a version: BOINC never lets one change content between app versions.
    for (const file of ['axiom_worker_1.0.mjs', 'tfjs4.22.0_tfjs-backend-wasm-simd.wasm', 'tfjs4.22.0_tfjs-backend-wasm-threaded-simd.worker.js']) {
      expect(versionXml).toContain(`<physical_name>${file}</physical_name>`);
    }
    expect(versionXml).not.toMatch(/<physical_name>tfjs-backend/);
    // The host kernels built here, for this platform, under a name that carries their hash.
    expect(versionXml).toMatch(/<physical_name>axiom-host-kernels_[0-9a-f]{16}\.node<\/physical_name>/);
    const jobXml = await readFile(join(dir, 'project', 'wrapper', 'job.xml'), 'utf8');
    expect(jobXml).toMatch(/<application>axiom_launcher_1\.0__mt\.sh<\/application>\s*<command_line>worker --wrapped<\/command_line>/);
    expect(jobXml, 'the worker starts child processes').toContain('<multi_process/>');

    // Where the client keeps app files: a project directory holding only the app version's files.
    const slot = await makeSlot({ experiment: 'memorization-dynamics', seed: 4242, preset: 'smoke' }, { ncpus: 2 });
    await cp(versionDir, slot.projectDir, { recursive: true });
    expect(existsSync(join(slot.root, 'node_modules')) || existsSync(join(slot.root, '..', 'node_modules'))).toBe(false);
    // With the arguments a client appends for a plan class (client/app_start.cpp), which the launcher drops.
    await promisify(execFile)(join(slot.projectDir, 'axiom_launcher_1.0__mt.sh'), ['--nthreads', '2', '--device', '0'], { cwd: slot.slotDir });
    const result = resultSchema.parse(JSON.parse(await readFile(slot.resultPath, 'utf8')));
    expect([result.status, result.seed.source, result.seed.value, result.backend.name]).toEqual(['ok', 'wu.json', 4242, 'wasm']);
    // ncpus (the mt plan class's avg_ncpus) threads on the threaded build, recorded: its worker files ship beside the bundle.
    expect(result.backend.threads).toBe(2);
    expect(result.backend.patches).toContain(WASM_NODE_THREADS_PATCH);
    expect(result.backend.patches, 'the bundle loads the host kernels shipped beside it').toContainEqual(expect.stringContaining('axiom-host-dense'));
    expect(result.warnings).toEqual([]);
  });
});

// The app version with its own Node, served by the e2e test project to Debian's real client.
const boinc = systemDependency('boinc-client', existsSync(BOINC) ? undefined : `${BOINC} is absent (apt-get install boinc-client)`);
describe.skipIf(boinc.missing)(`the built app version under the real BOINC client${boinc.note}`, () => {
  let project: TestProject | undefined;
  let client: BoincClient | undefined;
  afterAll(async () => {
    if (client) expect(await client.cleanUp(), 'processes left running').toEqual([]);
    await project?.stop();
  });

  it('runs the bundled worker on the shipped Node and uploads a result that validates and assimilates', { timeout: 240_000 }, async () => {
    const dir = await scratch();
    const versionDir = await buildAppVersion(dir, 'bundled');
    expect(await readFile(join(versionDir, 'version.xml'), 'utf8')).toContain(`<physical_name>node_${process.versions.node}</physical_name>`);
    const [{ name, workunit }] = (await makeWork(dir, ['--count', '1', '--replicas', '1'])) as [{ name: string; workunit: Workunit }];
    project = await TestProject.fromAppVersionDirectory(versionDir);
    await project.start();
    project.addWorkunit(name, workunit);
    client = await BoincClient.start(project.masterUrl);
    const report = await project.waitForReport(`${name}_r0`, 200_000);
    expect(report, `${JSON.stringify(report)}\n${client.log.slice(-3000)}`).toMatchObject({ state: ResultState.filesUploaded, exitStatus: 0 });

    const uploadedPath = join(dir, `${name}_r0_result`);
    await writeFile(uploadedPath, project.uploads.get(`${name}_r0_result`)!);
    const result = resultSchema.parse(JSON.parse(await readFile(uploadedPath, 'utf8')));
    expect(result.seed).toEqual({ value: workunit.seed, source: 'wu.json' });
    expect(result.backend.name).toBe('wasm');
    const valid = await axiom(['boinc', 'validate', 'init', '--workunits', join(dir, 'batch', 'workunits'), uploadedPath]);
    expect(valid.code, valid.stderr).toBe(0);
    const stored = await axiom(['boinc', 'assimilate', '--store', join(dir, 'store'), uploadedPath]);
    expect(stored.code, stored.stderr).toBe(0);
    expect(await readdir(join(dir, 'store'))).toEqual([`${result.resultId}.json`]);
  });
});
