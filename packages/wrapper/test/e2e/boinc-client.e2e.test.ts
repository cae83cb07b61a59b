import { existsSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Result, resultSchema } from '@axiom/runner/host';
import { AXIOM } from '../simulated-slot.js';
import { BOINC, BoincClient } from './boinc-client.js';
import { ResultState, TestProject } from './test-project.js';
import { systemDependency } from '../../../../test-support/system-dependency.js';

// The worker under Debian's real BOINC client, against a test project server on 127.0.0.1.
// .ci/run installs boinc-client; without it CI fails, a developer machine skips these and says why.
const boinc = systemDependency('boinc-client', existsSync(BOINC) ? undefined : `${BOINC} is absent (apt-get install boinc-client)`);
const workunit = (seed: number) => ({
  experiment: 'memorization-dynamics',
  seed,
  preset: 'smoke',
  // Long enough (~20 s idle with the native kernels) that a quit, which takes the client and the worker ~3 s to pass on,
  // lands mid-run.
  // Unstacked: a checkpoint after every unit, so a stopped client finds finished units to resume from.
  params: { corruptionLevels: [0, 0.2, 0.4, 0.6], epochs: 600, stacking: 'off' },
});
const TIMEOUT = 240_000;

describe.skipIf(boinc.missing)(`the worker under the real BOINC client${boinc.note}`, () => {
  let project: TestProject;
  const clients: BoincClient[] = [];
  const uploaded = (name: string): Result => resultSchema.parse(JSON.parse(project.uploads.get(`${name}_r0_result`)!.toString('utf8')));
  const startClient = async (options?: Parameters<typeof BoincClient.start>[1]) => {
    const client = await BoincClient.start(project.masterUrl, options);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    // The app version's main program: a launcher that starts the worker in the slot.
    project = new TestProject(Buffer.from(`#!/bin/sh\nexec "${process.execPath}" "${AXIOM}" worker\n`));
    await project.start();
  });
  afterEach(async () => {
    // A restarted client shares its data directory with the one before it: stop them all, then look.
    const stopped = clients.splice(0).reverse();
    for (const client of stopped) await client.stop();
    for (const client of stopped) expect(await client.cleanUp(), 'processes left running').toEqual([]);
  });
  afterAll(() => project.stop());

  let reference: Result;

  it('downloads the workunit, runs the worker, uploads a valid result with the seed from wu.json', { timeout: TIMEOUT }, async () => {
    project.addWorkunit('wu_complete', workunit(31415));
    const client = await startClient();
    const report = await project.waitForReport('wu_complete_r0', TIMEOUT - 10_000);
    expect(report, `${JSON.stringify(report)}\n${client.log.slice(-3000)}`).toMatchObject({ state: ResultState.filesUploaded, exitStatus: 0 });
    reference = uploaded('wu_complete');
    expect(reference.seed).toEqual({ value: 31415, source: 'wu.json' });
    expect(reference.status).toBe('ok');
    expect(reference.backend.name).toBe('wasm');
    expect(client.log).toMatch(/\[checkpoint\] result wu_complete_r0 checkpointed/);
    expect(client.fractions().some((f) => f > 0 && f < 1)).toBe(true);
  });

  it('suspends and resumes the task', { timeout: TIMEOUT }, async () => {
    project.addWorkunit('wu_suspend', workunit(31415));
    const client = await startClient({ leaveAppsInMemory: true }); // so suspend is <suspend/>, not <quit/>
    await client.waitForLog(/Starting task wu_suspend_r0/, 120_000);
    await client.waitForFraction(0.1, 60_000);
    await client.command('--task', project.masterUrl, 'wu_suspend_r0', 'suspend');
    await client.waitForLog(/sent <suspend\/> to wu_suspend_r0/, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const whileSuspended = client.fractions().length;
    const frozen = client.fractions().at(-1);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(
      client
        .fractions()
        .slice(whileSuspended)
        .every((f) => f === frozen),
    ).toBe(true);
    await client.command('--task', project.masterUrl, 'wu_suspend_r0', 'resume');
    const report = await project.waitForReport('wu_suspend_r0', 120_000);
    expect(report).toMatchObject({ state: ResultState.filesUploaded, exitStatus: 0 });
    expect(uploaded('wu_suspend').digest).toBe(reference.digest);
  });

  it('stopped mid-task and restarted, the client resumes the task from its checkpoint to the same digest', { timeout: TIMEOUT }, async () => {
    project.addWorkunit('wu_restart', workunit(31415));
    const first = await startClient();
    await first.waitForLog(/\[checkpoint\] result wu_restart_r0 checkpointed/, 150_000);
    await first.stop();
    expect(first.leftoverProcesses()).toEqual([]);
    const second = await startClient({ dir: first.dir });
    const report = await project.waitForReport('wu_restart_r0', 150_000);
    expect(report, second.log.slice(-3000)).toMatchObject({ state: ResultState.filesUploaded, exitStatus: 0 });
    expect(report.stderr).toContain('resuming from checkpoint');
    expect(uploaded('wu_restart').digest).toBe(reference.digest);
  });

  it('aborted, the worker exits promptly and nothing is left running', { timeout: TIMEOUT }, async () => {
    project.addWorkunit('wu_abort', workunit(27182));
    const client = await startClient();
    await client.waitForFraction(0.1, 150_000);
    await client.command('--task', project.masterUrl, 'wu_abort_r0', 'abort');
    await client.waitForLog(/sent <abort\/> to wu_abort_r0/, 30_000);
    const report = await project.waitForReport('wu_abort_r0', 60_000);
    expect(report.state).toBe(ResultState.aborted);
    const start = Date.now();
    while (client.leftoverProcesses().length && Date.now() - start < 5000) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(client.leftoverProcesses()).toEqual([]);
  });
});
