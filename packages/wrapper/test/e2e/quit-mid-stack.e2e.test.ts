import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultSchema } from '@axiom/runner/host';
import { AXIOM } from '../simulated-slot.js';
import { BOINC, BoincClient } from './boinc-client.js';
import { ResultState, TestProject } from './test-project.js';
import { systemDependency } from '../../../../test-support/system-dependency.js';

// The default memorization-dynamics sweep (four corruption levels, one stack, 80 epochs) as a BOINC task
// under Debian's real client with the default checkpoint period (60 s): the client quits it at about 40%
// (a volunteer's client switching projects, or shutting down) and starts it again.
const seed = 20261202;
const TIMEOUT = 600_000;

const boinc = systemDependency('boinc-client', existsSync(BOINC) ? undefined : `${BOINC} is absent (apt-get install boinc-client)`);

describe.skipIf(boinc.missing)(`a default-sweep task quit by the real client inside its stack${boinc.note}`, () => {
  let project: TestProject;
  const clients: BoincClient[] = [];

  beforeAll(async () => {
    project = new TestProject(Buffer.from(`#!/bin/sh\nexec "${process.execPath}" "${AXIOM}" worker\n`));
    await project.start();
  });
  afterAll(async () => {
    for (const client of clients.reverse()) expect(await client.cleanUp(), 'processes left running').toEqual([]);
    await project.stop();
  });

  it('reports, at once after the restart, the progress it had at the quit, and ends with the uninterrupted digest', { timeout: TIMEOUT }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'axiom-quit-'));
    const reference = spawnSync(
      process.execPath,
      [AXIOM, 'run', 'memorization-dynamics', '--seed', String(seed), '--no-checkpoint', '--out', join(dir, 'reference.json')],
      {
        encoding: 'utf8',
      },
    );
    expect(reference.status, reference.stderr).toBe(0);
    const uninterrupted = resultSchema.parse(JSON.parse(await readFile(join(dir, 'reference.json'), 'utf8')));

    project.addWorkunit('wu_default', { experiment: 'memorization-dynamics', seed });
    const first = await BoincClient.start(project.masterUrl, { checkpointPeriod: 60 });
    clients.push(first);
    await first.waitForFraction(0.4, 300_000);
    const quitAt = first.fractions().at(-1)!;
    await first.stop(); // SIGTERM: the client sends <quit/> and waits for the app
    expect(first.log).toMatch(/wu_default_r0.*(exited|quit)/i);

    const second = await BoincClient.start(project.masterUrl, { dir: first.dir, checkpointPeriod: 60 });
    clients.push(second);
    await second.waitForFraction(quitAt, 60_000);
    // From its first status message on, the restarted task reports at least where it was quit.
    const resumedFractions = second.fractions();
    expect(resumedFractions[0]).toBeGreaterThanOrEqual(quitAt);
    expect(resumedFractions).toEqual([...resumedFractions].sort((a, b) => a - b));
    // Its CPU time carries on from the checkpoint's.
    const checkpointCpu = Math.max(...first.cpuTimes().map((times) => times.checkpoint));
    expect(second.cpuTimes()[0]!.current).toBeGreaterThanOrEqual(checkpointCpu);

    const report = await project.waitForReport('wu_default_r0', 400_000);
    expect(report, second.log.slice(-3000)).toMatchObject({ state: ResultState.filesUploaded, exitStatus: 0 });
    expect(report.stderr).toContain('resumed inside training');
    const result = resultSchema.parse(JSON.parse(project.uploads.get('wu_default_r0_result')!.toString('utf8')));
    expect(result.timings.resumes).toBe(1);
    expect(result.digest).toBe(uninterrupted.digest);
  });
});
