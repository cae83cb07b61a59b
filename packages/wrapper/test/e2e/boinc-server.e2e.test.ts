import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Result, resultDigest, resultSchema } from '@axiom/runner/host';
import { estimateCost } from '@axiom/wrapper';
import { BOINC, BoincClient } from './boinc-client.js';
import { BoincProject } from './boinc-server.js';

// The whole project side on a real BOINC server (release 1.6.2, built by build-boinc-server.sh): the
// project's own tools register the app version and create the work, its daemons validate and
// assimilate, and Debian's real client runs the worker. On CI nothing here may skip: a missing
// package fails the test and names it. A developer machine without the client skips.
const runnable = process.env.CI === 'true' || existsSync(BOINC);
const EXAMPLE_BIN = fileURLToPath(new URL('../../../../examples/boinc-project/bin', import.meta.url));
const PLAN_CLASS_SPEC = fileURLToPath(new URL('../../../../examples/boinc-project/plan_class_spec.xml', import.meta.url));
const PLATFORM = 'x86_64-pc-linux-gnu';
/** Seeds of the three workunits: agreeing replicas, a planted disagreement, a failing assimilation. */
const SEEDS = { agree: 1101, disagree: 2202, failing: 3303 } as const;
const MT_SEED = 5505;
const wuName = (seed: number) => `axiom_memorization-dynamics_s${seed}`;
/** Result server states and outcomes (db/boinc_db_types.h); validate states. */
const Result = { over: 5, success: 1, valid: 1, invalid: 2 } as const;
const ASSIMILATED = 2;
const POLL_MS = 1000;
const firstCell = (rows: string[][]) => rows[0]?.[0];

describe.skipIf(!runnable)('a real BOINC server, its daemons and two real clients', () => {
  let project: BoincProject;
  const clients: BoincClient[] = [];
  const results = () => join(project.scratch, 'results');

  /** Polls the database up to `attempts` times for a condition. */
  const waitForSql = async (what: string, query: string, done: (rows: string[][]) => boolean, attempts: number) => {
    let rows: string[][] = [];
    for (let attempt = 0; attempt < attempts; attempt++) {
      rows = await project.sql(query);
      if (done(rows)) return rows;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    const logs = await Promise.all(
      ['transitioner.log', 'script_validator.log', 'script_assimilator.log', 'feeder.log'].map(
        async (name) => `--- ${name}\n${(await project.log(name)).slice(-1500)}`,
      ),
    );
    throw new Error(`${what}: still ${JSON.stringify(rows)}\n${clients.map((client) => client.log.slice(-1500)).join('\n')}\n${logs.join('\n')}`);
  };
  const resultsOf = (seed: number) =>
    project.sql(
      `SELECT r.id, r.name, r.server_state, r.outcome, r.validate_state FROM result r JOIN workunit w ON r.workunitid = w.id WHERE w.name = '${wuName(seed)}' ORDER BY r.id`,
    );
  /** A client that reports `ncpus` CPUs to the scheduler (cc_config.xml's <ncpus>) and runs that many tasks' CPUs. */
  const startClient = async (user: string, ncpus = 1) => {
    const client = await BoincClient.start(project.masterUrl, { authenticator: await project.createAccount(user), ncpus });
    clients.push(client);
    return client;
  };
  /** Stops the clients so far: their work is done, and they must not fetch the work created next. */
  const stopClients = async () => {
    for (const client of clients.splice(0)) await client.cleanUp();
  };
  /** A batch of work, as the admin makes it: `axiom boinc make-work` into `axiom/<batch>`, then its create_work.sh. */
  const makeWork = async (batch: string, args: string[]) => {
    await project.axiom([
      'boinc',
      'make-work',
      ...args,
      '--out',
      join(project.root, 'axiom', batch),
      '--workunits',
      join(project.root, 'axiom', 'workunits'),
      '--ledger',
      join(project.root, 'axiom', 'ledger.txt'),
    ]);
    await project.tool(`axiom/${batch}/create_work.sh`, []);
  };
  /** A result's uploaded output file: `<result name>_r<random>_0` (tools/backend_lib.cpp) in the upload hierarchy. */
  const uploadedFile = async (resultName: string) => {
    const upload = join(project.root, 'upload');
    for (const dir of await readdir(upload)) {
      const file = (await readdir(join(upload, dir))).find((name) => name.startsWith(`${resultName}_r`) && name.endsWith('_0'));
      if (file) return join(upload, dir, file);
    }
    throw new Error(`no upload of ${resultName}`);
  };
  const readResult = async (path: string): Promise<Result> => resultSchema.parse(JSON.parse(await readFile(path, 'utf8')));
  /** The results the assimilator stored (the failing workunit's target is a directory named like one). */
  const storedResults = async () => {
    const stored = await Promise.all(
      (await readdir(results())).filter((file) => file.endsWith('.json')).map((file) => readFile(join(results(), file), 'utf8').catch(() => undefined)),
    );
    return stored.filter((text) => text !== undefined).map((text) => resultSchema.parse(JSON.parse(text)));
  };

  beforeAll(async () => {
    project = await BoincProject.create();
    // The app, as the project admin adds it: project.xml, bin/xadd; the worker's app version, signed by
    // bin/update_versions with the project's code-signing key (keys/code_sign_private).
    const projectXml = join(project.root, 'project.xml');
    await writeFile(
      projectXml,
      (await readFile(projectXml, 'utf8')).replace(
        '</boinc>',
        '    <app>\n        <name>axiom</name>\n        <user_friendly_name>Axiom</user_friendly_name>\n    </app>\n</boinc>',
      ),
    );
    await project.tool('bin/xadd', []);
    await project.axiom(['boinc', 'app-version', '--platform', PLATFORM, '--out', project.root]);
    await project.tool('bin/update_versions', ['--noconfirm']);
    // The example project's validator and assimilator scripts, in the project's bin/.
    for (const script of await readdir(EXAMPLE_BIN)) {
      await copyFile(join(EXAMPLE_BIN, script), join(project.root, 'bin', script));
      await chmod(join(project.root, 'bin', script), 0o755);
    }
    // Each replica of a workunit goes to a different volunteer (the clients below are three users).
    const config = await project.readConfig();
    expect(config, 'make_project writes the option, off').toContain('<one_result_per_user_per_wu>0</one_result_per_user_per_wu>');
    await project.writeConfig(
      config.replace('<one_result_per_user_per_wu>0</one_result_per_user_per_wu>', '<one_result_per_user_per_wu>1</one_result_per_user_per_wu>'),
    );
    // The work, with the project's make-work: one batch, one create_work call.
    await makeWork('batch-1', ['--experiment', 'memorization-dynamics', '--preset', 'smoke', '--seeds', Object.values(SEEDS).join(','), '--replicas', '2']);
    // Feeder, transitioner and file deleter now; the validator and assimilator once the planted faults are in place.
    await project.tool('bin/start', []);
  }, 1_800_000);

  afterAll(async () => {
    for (const client of clients) await client.cleanUp();
    await project?.stop();
  }, 180_000);

  it('registers the app version signed with the project key and creates work with limits that can settle a disagreement', async () => {
    const [[xmlDoc]] = (await project.sql("SELECT av.xml_doc FROM app_version av JOIN app a ON av.appid = a.id WHERE a.name = 'axiom'")) as [[string]];
    expect(xmlDoc).toContain('<file_signature>');
    const rows = await project.sql(
      `SELECT name, min_quorum, target_nresults, max_error_results, max_total_results, max_success_results FROM workunit ORDER BY name`,
    );
    expect(rows).toEqual(Object.values(SEEDS).map((seed) => [wuName(seed), '2', '2', '3', '7', '4']));
  });

  it('two clients run both replicas; the planted disagreement and the failing store are put in place before validation', { timeout: 600_000 }, async () => {
    await startClient('alice');
    await startClient('bob');
    const all = `SELECT COUNT(*) FROM result WHERE server_state = ${Result.over} AND outcome = ${Result.success}`;
    await waitForSql('six results reported', all, (rows) => firstCell(rows) === '6', 480);
    // A disagreement: one replica's metrics changed and its digest recomputed, so it passes the
    // validator's per-result check (schema, digest, seed) but no longer matches its twin.
    const [[, planted]] = (await resultsOf(SEEDS.disagree)) as [[string, string]];
    const plantedPath = await uploadedFile(planted);
    const original = await readResult(plantedPath);
    const metrics = { ...original.metrics, planted: 1 };
    await writeFile(plantedPath, JSON.stringify({ ...original, metrics, digest: resultDigest(metrics, original.units) }));
    // A failing assimilation: the store's target for both replicas of this workunit is a directory.
    for (const [, name] of await resultsOf(SEEDS.failing))
      await mkdir(join(results(), `${(await readResult(await uploadedFile(name!))).resultId}.json`), { recursive: true });
    // The validator and the assimilator as the example project's config-daemons.xml gives them.
    const daemons = (await readFile(join(EXAMPLE_BIN, '..', 'config-daemons.xml'), 'utf8')).replace(/<!--[\s\S]*?-->\n?/g, '');
    await project.writeConfig((await project.readConfig()).replace('<daemons>', `<daemons>\n${daemons}`));
    await project.tool('bin/start', []);
  });

  it('the agreeing replicas reach quorum 2, validate, and the assimilated result records the seed', { timeout: 300_000 }, async () => {
    await waitForSql(
      'agreeing workunit assimilated',
      `SELECT assimilate_state FROM workunit WHERE name = '${wuName(SEEDS.agree)}'`,
      (rows) => firstCell(rows) === String(ASSIMILATED),
      240,
    );
    expect((await resultsOf(SEEDS.agree)).map((row) => row[4])).toEqual([String(Result.valid), String(Result.valid)]);
    expect((await storedResults()).map((result) => result.seed)).toContainEqual({ value: SEEDS.agree, source: 'wu.json' });
  });

  it('a disagreement gets a third replica, from a third client, which settles it: the planted replica is invalid', { timeout: 400_000 }, async () => {
    await waitForSql(
      'a third replica created',
      `SELECT COUNT(*) FROM result r JOIN workunit w ON r.workunitid = w.id WHERE w.name = '${wuName(SEEDS.disagree)}'`,
      (rows) => firstCell(rows) === '3',
      240,
    );
    await startClient('carol');
    await waitForSql(
      'disagreeing workunit assimilated',
      `SELECT assimilate_state FROM workunit WHERE name = '${wuName(SEEDS.disagree)}'`,
      (rows) => firstCell(rows) === String(ASSIMILATED),
      300,
    );
    const [planted, twin, third] = (await resultsOf(SEEDS.disagree)).map((row) => row[4]);
    expect({ planted, twin, third }).toEqual({ planted: String(Result.invalid), twin: String(Result.valid), third: String(Result.valid) });
  });

  it('a failing assimilation is logged, its files kept, and the daemon goes on to assimilate later work', async () => {
    const log = await project.log('script_assimilator.log');
    expect(log).toMatch(new RegExp(`assimilation failed for \\S*${wuName(SEEDS.failing)}`));
    expect(log).not.toMatch(/exiting/);
    const kept = await readdir(`${results()}.failed`);
    expect(kept.some((file) => file.startsWith(wuName(SEEDS.failing)))).toBe(true);
    // The disagreement was assimilated after this failure (it needed the third client): the daemon survived.
    expect((await project.sql(`SELECT assimilate_state FROM workunit WHERE name = '${wuName(SEEDS.failing)}'`))[0]).toEqual([String(ASSIMILATED)]);
  });

  it('the official C++ wrapper, built from the same source, runs the worker in job.xml mode under a real client', { timeout: 400_000 }, async () => {
    await stopClients(); // the next client is the one to look at
    // A second app whose main program is BOINC's wrapper; job.xml (logical name job.xml) runs the launcher
    // with `worker --wrapped`; the launcher and the worker are the axiom app version's own files.
    const projectXml = join(project.root, 'project.xml');
    await writeFile(
      projectXml,
      (await readFile(projectXml, 'utf8')).replace(
        '</boinc>',
        '    <app>\n        <name>axiom_wrapped</name>\n        <user_friendly_name>Axiom (wrapper)</user_friendly_name>\n    </app>\n</boinc>',
      ),
    );
    await project.tool('bin/xadd', []);
    const native = join(project.root, 'apps', 'axiom', '1.0', PLATFORM);
    const wrapped = join(project.root, 'apps', 'axiom_wrapped', '1.0', PLATFORM);
    await mkdir(wrapped, { recursive: true });
    await copyFile(join(project.build, 'samples', 'wrapper', `wrapper__${PLATFORM}`), join(wrapped, 'axiom_wrapper_1.0'));
    await chmod(join(wrapped, 'axiom_wrapper_1.0'), 0o755);
    await copyFile(join(project.root, 'wrapper', 'job.xml'), join(wrapped, 'axiom_job_1.0.xml'));
    const files = [...(await readFile(join(native, 'version.xml'), 'utf8')).matchAll(/<physical_name>([^<]+)<\/physical_name>/g)].map((match) => match[1]!);
    for (const file of files) await copyFile(join(native, file), join(wrapped, file));
    for (const file of files) await chmod(join(wrapped, file), (await stat(join(native, file))).mode);
    await writeFile(
      join(wrapped, 'version.xml'),
      [
        '<version>',
        '  <file>\n    <physical_name>axiom_wrapper_1.0</physical_name>\n    <main_program/>\n  </file>',
        '  <file>\n    <physical_name>axiom_job_1.0.xml</physical_name>\n    <logical_name>job.xml</logical_name>\n  </file>',
        ...files.map((file) => `  <file>\n    <physical_name>${file}</physical_name>\n  </file>`),
        '  <api_version>7.20.0</api_version>',
        '</version>',
        '',
      ].join('\n'),
    );
    await project.tool('bin/update_versions', ['--noconfirm']);
    // One workunit, one replica, long enough (~15 s idle with the native kernels) that the wrapper reports progress and
    // checkpoints on the way.
    const name = 'axiom_wrapped_s4404';
    const workunit = join(project.root, 'axiom', `${name}.json`);
    await writeFile(workunit, JSON.stringify({ experiment: 'memorization-dynamics', seed: 4404, preset: 'smoke', params: { epochs: 600 } }));
    await project.tool('bin/stage_file', ['--copy', workunit]);
    const inputTemplate = (await readdir(join(project.root, 'templates'))).find((file) => file.startsWith('axiom_in_'))!;
    await project.tool('bin/create_work', [
      '--appname',
      'axiom_wrapped',
      '--wu_name',
      name,
      '--wu_template',
      `templates/${inputTemplate}`,
      '--result_template',
      'templates/axiom_out',
      '--min_quorum',
      '1',
      '--target_nresults',
      '1',
      `${name}.json`,
    ]);
    await startClient('dave');
    const [[resultName]] = (await waitForSql(
      'the wrapped task reported',
      `SELECT r.name FROM result r JOIN workunit w ON r.workunitid = w.id WHERE w.name = '${name}' AND r.server_state = ${Result.over} AND r.outcome = ${Result.success}`,
      (rows) => rows.length === 1,
      300,
    )) as [[string]];
    const result = await readResult(await uploadedFile(resultName));
    expect([result.status, result.seed]).toEqual(['ok', { value: 4404, source: 'wu.json' }]);
    // Progress and checkpoints reached the client through the wrapper (from the worker's files).
    const [client] = clients as [BoincClient];
    expect(client.log).toMatch(new RegExp(`\\[checkpoint\\] result ${resultName} checkpointed`));
    expect(client.fractions().some((fraction) => fraction > 0 && fraction < 1)).toBe(true);
    const [[stderr]] = (await project.sql(`SELECT stderr_out FROM result WHERE name = '${resultName}'`)) as [[string]];
    expect(stderr).toMatch(/wrapper/);
  });

  it(
    'a 2-CPU host gets the mt app version through plan_class_spec.xml, with avg_ncpus 2, and its result records 2 pool workers',
    { timeout: 400_000 },
    async () => {
      await stopClients(); // 1-CPU clients: this work is for a client with 2
      // The admin adds the mt app version beside the plain one and installs the shipped plan classes; the
      // scheduler (a CGI program, run per request) reads plan_class_spec.xml from the project directory.
      await project.axiom(['boinc', 'app-version', '--platform', PLATFORM, '--plan-class', 'mt', '--out', project.root]);
      await project.tool('bin/update_versions', ['--noconfirm']);
      await copyFile(PLAN_CLASS_SPEC, join(project.root, 'plan_class_spec.xml'));
      // Between usable versions the scheduler takes the fastest by projected FLOPS (mt: 2 CPUs' worth), each
      // scaled by 1 + version_select_random_factor × a normal deviate (sched/sched_version.cpp, default 1):
      // with the factor 0 the choice is the faster version, every time.
      const config = await project.readConfig();
      expect(config.match(/<config>/g), 'one <config> section').toHaveLength(1);
      await project.writeConfig(config.replace('<config>', '<config>\n    <version_select_random_factor>0</version_select_random_factor>'));
      // Four groups (stacking off), so the task's CPUs each train some: one pool worker per CPU.
      await makeWork('mt', [
        '--experiment',
        'curriculum-learning',
        '--preset',
        'smoke',
        '--params',
        '{"stacking":"off"}',
        '--seeds',
        String(MT_SEED),
        '--replicas',
        '1',
      ]);
      const client = await startClient('erin', 2);
      const name = `axiom_curriculum-learning_s${MT_SEED}`;
      const [[planClass, stderr]] = (await waitForSql(
        'the mt task reported',
        `SELECT av.plan_class, r.stderr_out FROM result r JOIN workunit w ON r.workunitid = w.id JOIN app_version av ON r.app_version_id = av.id WHERE w.name = '${name}' AND r.server_state = ${Result.over} AND r.outcome = ${Result.success}`,
        (rows) => rows.length === 1,
        300,
      )) as [[string, string]];
      expect(planClass).toBe('mt');
      // What the scheduler sent, as the client keeps it: avg_ncpus 2 (the host's CPUs, under max_threads 8) and
      // the command line the spec's memory figures add (300 + 2 × 300 MB), which BOINC's built-in mt class has not.
      const state = await readFile(join(client.dir, 'client_state.xml'), 'utf8');
      const mtVersion = [...state.matchAll(/<app_version>[\s\S]*?<\/app_version>/g)]
        .map(([text]) => text)
        .find((text) => text.includes('<plan_class>mt</plan_class>'));
      expect(Number(/<avg_ncpus>([^<]+)<\/avg_ncpus>/.exec(mtVersion ?? '')?.[1])).toBe(2);
      expect(mtVersion).toMatch(/<cmdline>\s*--memory_size_mb 900<\/cmdline>/);
      expect(stderr).toMatch(/training 4 group\(s\) on 2 worker processes/);
      // Validated (a quorum of one) and assimilated: the stored result records the 2 workers.
      await waitForSql(
        'the mt workunit assimilated',
        `SELECT assimilate_state FROM workunit WHERE name = '${name}'`,
        (rows) => firstCell(rows) === String(ASSIMILATED),
        240,
      );
      const stored = (await storedResults()).find((result) => result.seed.value === MT_SEED);
      expect([stored?.status, stored?.seed.source, stored?.timings.workers]).toEqual(['ok', 'wu.json', 2]);
    },
  );

  it('work for each built-in experiment carries its own estimates from the cost model', { timeout: 300_000 }, async () => {
    await stopClients();
    const experiments = ['memorization-dynamics', 'feature-competition', 'curriculum-learning', 'representation-alignment', 'micro-scaling-laws'];
    const seeds = experiments.map((_, index) => 9000 + index);
    for (const [index, experiment] of experiments.entries())
      await makeWork(`estimates-${index}`, ['--experiment', experiment, '--preset', 'smoke', '--seeds', String(seeds[index]), '--replicas', '2']);
    const stored = await Promise.all(
      experiments.map(async (experiment, index) => {
        const [row] = await project.sql(
          `SELECT rsc_fpops_est, rsc_fpops_bound, rsc_memory_bound, rsc_disk_bound FROM workunit WHERE name = 'axiom_${experiment}_s${seeds[index]}'`,
        );
        return row!.map(Number);
      }),
    );
    for (const [index, experiment] of experiments.entries()) {
      const cost = estimateCost(experiment, 'smoke', undefined);
      expect(stored[index], experiment).toEqual([cost.fpopsEstimate, cost.fpopsBound, cost.memoryBoundBytes, cost.diskBoundBytes]);
    }
    expect(new Set(stored.map(([fpops]) => fpops)).size).toBe(experiments.length);
  });
});
