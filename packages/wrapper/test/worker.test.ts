import { spawn, spawnSync } from 'node:child_process';
import { access, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode, resultSchema, sha256Hex } from '@axiom/runner/host';
import { CHECKPOINT_FILE, EXIT_ABORTED_BY_CLIENT, jobXml } from '@axiom/wrapper';
import { AXIOM, makeSlot, processesIn, savedCheckpoint, SimulatedClient, uninterruptedDigest } from './simulated-slot.js';

const workunit = {
  experiment: 'memorization-dynamics',
  seed: 987654321,
  preset: 'smoke',
  // ~3 s of training with the host kernels: a control message, sent with the task held still until the worker reads
  // it (`controlHeld`), lands mid-run when sent on a status that is up to a second old. Stacked: all four levels train
  // as one group, so a quit lands inside its training.
  params: { corruptionLevels: [0, 0.2, 0.4, 0.6], epochs: 480 },
};
/** The client's checkpoint period: a checkpoint inside training every second. */
const init = { checkpoint_period: 1 };
const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

// The worker against a simulated client: the protocol as boinc.md and the BOINC sources describe it.
// The end-to-end test with the real client lives in packages/wrapper/test/e2e.
describe('axiom worker in a BOINC slot', () => {
  let reference: string;

  it('runs the workunit, reports status, writes the result through the link file, and calls finish', async () => {
    const slot = await makeSlot(workunit, init);
    const client = new SimulatedClient(slot.slotDir);
    expect(await client.exited, client.stderr).toBe(0);
    const result = resultSchema.parse(JSON.parse(await readFile(slot.resultPath, 'utf8')));
    reference = result.digest;
    expect(result.seed).toEqual({ value: 987654321, source: 'wu.json' });
    expect(result.status).toBe('ok');
    // Status, message, and the third line (empty: not a notice) without which the client ignores the message.
    expect(await readFile(join(slot.slotDir, 'boinc_finish_called'), 'utf8')).toMatch(/^0\nmemorization-dynamics: ok, digest [0-9a-f]{64}\n\n$/);
    expect(client.statuses.length).toBeGreaterThan(1);
    expect(client.statuses.at(-1)!.fraction, 'the final status reaches the client before the exit').toBe(1);
    const fractions = client.statuses.map((s) => s.fraction);
    expect(fractions).toEqual([...fractions].sort((a, b) => a - b)); // never goes backwards
    expect(client.latest()!.fraction).toBeGreaterThan(0.5);
    expect(client.latest()!.cpu).toBeGreaterThan(0);
  });

  it('pauses on suspend without using CPU, and carries on after resume', async () => {
    const slot = await makeSlot(workunit, init);
    const client = new SimulatedClient(slot.slotDir);
    await client.until((s) => s.fraction > 0.1);
    const { paused, later } = await client.suspend();
    expect(later.fraction).toBe(paused.fraction);
    expect(later.cpu - paused.cpu).toBeLessThan(0.2);
    client.control('resume');
    expect(await client.exited, client.stderr).toBe(0);
    expect(resultSchema.parse(JSON.parse(await readFile(slot.resultPath, 'utf8'))).digest).toBe(reference);
  });

  it('on quit, checkpoints and exits 0 without finishing; restarted, it resumes to the same digest', async () => {
    const slot = await makeSlot(workunit, init);
    const first = new SimulatedClient(slot.slotDir);
    await first.until((s) => s.checkpointCpu > 0 && s.fraction > 0.3);
    await first.controlHeld('quit');
    expect(await first.exited, first.stderr).toBe(0);
    expect(await exists(join(slot.slotDir, 'boinc_finish_called'))).toBe(false);
    expect(await exists(slot.resultPath)).toBe(false);
    // The quit was taken at the next step: inside the stack, past what the client had been told. The stack of
    // four trains in two parts of two (`stackParts`).
    const checkpoint = await savedCheckpoint(slot.slotDir);
    expect(checkpoint.inProgress[0]?.units).toHaveLength(2);
    expect(checkpoint.fractionDone).toBeGreaterThan(0.3);

    const second = new SimulatedClient(slot.slotDir);
    expect(await second.exited, second.stderr).toBe(0);
    expect(second.stderr).toContain('resumed inside training');
    // Progress carries on from the checkpoint, from the first status on, and only grows.
    const fractions = second.statuses.map((status) => status.fraction);
    expect(fractions[0]).toBeGreaterThanOrEqual(checkpoint.fractionDone - 1e-6); // statuses carry 6 digits (%e, as BOINC's)
    expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
    expect(resultSchema.parse(JSON.parse(await readFile(slot.resultPath, 'utf8'))).digest).toBe(reference ?? (await uninterruptedDigest(workunit)));
  });

  it('on abort, exits at once with the aborted status', async () => {
    const slot = await makeSlot(workunit, init);
    const client = new SimulatedClient(slot.slotDir);
    await client.until((s) => s.fraction > 0.05);
    const statusesBefore = client.statuses.length;
    await client.controlHeld('abort');
    expect(await client.exited).toBe(EXIT_ABORTED_BY_CLIENT);
    // At once: the worker exits in the round of the protocol that reads the abort, before that round's
    // status. At most two more arrive: one sent before the abort and not yet read, and one from a round
    // under way as the abort was sent. Running on (the run has seconds to go) sends one a second.
    expect(client.statuses.length - statusesBefore).toBeLessThanOrEqual(2);
  });

  it('fails fast, with the reason in stderr, when the workunit has no usable seed', async () => {
    const slot = await makeSlot('');
    const client = new SimulatedClient(slot.slotDir);
    expect(await client.exited).toBe(ExitCode.badWorkunit);
    expect(client.stderr).toMatch(/--require-seed: .*wu\.json .*is empty/);
    expect(await readFile(join(slot.slotDir, 'boinc_finish_called'), 'utf8')).toMatch(/^5\n/);
  });

  it('ends a task past its deadline with a partial result, reported rather than failed', async () => {
    const slot = await makeSlot({ ...workunit, deadlineSeconds: 0.5 });
    const client = new SimulatedClient(slot.slotDir);
    expect(await client.exited, client.stderr).toBe(0);
    const result = resultSchema.parse(JSON.parse(await readFile(slot.resultPath, 'utf8')));
    expect(result.status).toBe('partial');
    expect(result.statusReason).toMatch(/deadline/);
  });
});

describe('axiom worker given several CPUs (the mt plan class)', () => {
  // Four groups (one per ordering, stacking off): the task's two CPUs train two at a time, one worker process each.
  const sweep = { experiment: 'curriculum-learning', seed: 424242, preset: 'smoke', params: { stacking: 'off', epochs: 240 } }; // long enough that a suspend lands before the sweep ends on a busy machine

  it('suspend pauses every pool worker; quit keeps each group in training; restarted on 1 CPU it resumes to the uninterrupted digest', async () => {
    const slot = await makeSlot(sweep, { checkpoint_period: 1, ncpus: 2 });
    const first = new SimulatedClient(slot.slotDir);
    // Once a checkpoint holds a group inside its training (the workers' start-up is slow on a busy machine).
    while (!(await savedCheckpoint(slot.slotDir).catch(() => undefined))?.inProgress.length) await new Promise((resolve) => setTimeout(resolve, 100));
    const { paused, later } = await first.suspend();
    expect(later.fraction).toBe(paused.fraction);
    // The task's CPU time counts the workers' (read from /proc): it stands still too.
    expect(later.cpu - paused.cpu).toBeLessThan(0.2);
    first.control('quit');
    expect(await first.exited, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/training \d group\(s\) on 2 worker processes/);
    const checkpoint = await savedCheckpoint(slot.slotDir);

    const initData = join(slot.slotDir, 'init_data.xml');
    await writeFile(initData, (await readFile(initData, 'utf8')).replace('<ncpus>2</ncpus>', '<ncpus>1</ncpus>'));
    const second = new SimulatedClient(slot.slotDir);
    expect(await second.exited, second.stderr).toBe(0);
    expect(second.stderr.match(/resumed inside training/g)).toHaveLength(checkpoint.inProgress.length);
    const result = resultSchema.parse(JSON.parse(await readFile(slot.resultPath, 'utf8')));
    expect(result.timings.resumes).toBe(1);
    expect(result.digest).toBe(await uninterruptedDigest(sweep, { ncpus: 2 }));
  }, 600_000); // three runs of the sweep, each starting two worker processes
});

describe('axiom worker --wrapped (under the C++ wrapper)', () => {
  it('reports progress in the fraction-done file, touches the checkpoint file, and leaves finishing to the wrapper', async () => {
    const slot = await makeSlot(workunit, init);
    await rm(join(slot.slotDir, 'boinc_mmap_file')); // the wrapper, not the worker, talks to the client
    const child = spawn(process.execPath, [AXIOM, 'worker', '--wrapped'], { cwd: slot.slotDir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const fractions: number[] = [];
    const checkpointTimes = new Set<number>();
    const sampler = setInterval(() => {
      readFile(join(slot.slotDir, 'axiom_fraction_done'), 'utf8').then(
        (text) => fractions.push(Number(text)),
        () => {},
      );
      stat(join(slot.slotDir, CHECKPOINT_FILE)).then(
        (s) => checkpointTimes.add(s.mtimeMs),
        () => {},
      );
    }, 100);
    const code = await new Promise((resolve) => child.on('close', resolve));
    clearInterval(sampler);
    expect(code, stderr).toBe(0);
    expect(fractions.some((f) => f > 0 && f < 1)).toBe(true);
    expect(fractions.every((f) => f >= 0 && f <= 1)).toBe(true);
    expect(checkpointTimes.size).toBeGreaterThanOrEqual(2); // a new modification time per checkpoint
    expect(await exists(join(slot.slotDir, 'boinc_finish_called'))).toBe(false);
    expect(resultSchema.parse(JSON.parse(await readFile(slot.resultPath, 'utf8'))).seed.source).toBe('wu.json');
  });

  it('generates the matching job.xml', () => {
    const xml = jobXml({ application: 'node', arguments: ['axiom-worker.mjs'] });
    expect(xml).toContain('<command_line>axiom-worker.mjs worker --wrapped</command_line>');
    expect(xml).toContain('<fraction_done_filename>axiom_fraction_done</fraction_done_filename>');
    expect(xml).toContain(`<checkpoint_filename>${CHECKPOINT_FILE}</checkpoint_filename>`);
  });
});

describe('axiom worker with a fetched script', () => {
  const example = fileURLToPath(new URL('../../../examples/custom-experiment.mjs', import.meta.url));
  let server: Server;
  let fetched: { experiment: { url: string; sha256: string }; seed: number; preset: string; params: Record<string, unknown> };
  let longer: typeof fetched;

  beforeAll(async () => {
    const bundle = join(await mkdtemp(join(tmpdir(), 'axiom-bundle-')), 'width.mjs');
    const bundled = spawnSync(process.execPath, [AXIOM, 'bundle', example, '-o', bundle], { encoding: 'utf8' });
    expect(bundled.status, bundled.stderr).toBe(0);
    const script = await readFile(bundle);
    server = createServer((_, response) => response.end(script));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/width.mjs`;
    fetched = { experiment: { url, sha256: sha256Hex(script) }, seed: 4242, preset: 'smoke', params: { widths: [8, 16, 32, 64], epochs: 150 } };
    // ~4.5 s of training with the host kernels, so the sandbox is seen at work (CPU, suspend, quit, abort) for a few
    // statuses: at 150 epochs a quit sent on a status a second old, read by the worker up to a second later, once
    // came after the end on CI.
    longer = { ...fetched, params: { ...fetched.params, epochs: 450 } };
  });
  afterAll(() => server.close());

  it('runs it in the sandbox: the result records it, and the sandbox’s CPU counts as the task’s', async () => {
    const slot = await makeSlot(longer, init);
    const client = new SimulatedClient(slot.slotDir);
    await client.until((s) => s.fraction > 0.05);
    expect(processesIn(slot.slotDir)).toHaveLength(2); // the worker and the sandbox it started
    const { paused, later } = await client.suspend();
    expect(later.fraction).toBe(paused.fraction);
    expect(later.cpu - paused.cpu).toBeLessThan(0.2); // the sandbox waits too (its CPU counts as the task's)
    client.control('resume');
    expect(await client.exited, client.stderr).toBe(0);
    const result = resultSchema.parse(JSON.parse(await readFile(slot.resultPath, 'utf8')));
    expect(result.status).toBe('ok');
    expect(result.experiment.script).toMatchObject({ url: fetched.experiment.url, sha256: fetched.experiment.sha256, verification: 'sha256' });
    expect(result.sandbox?.fsRead).toHaveLength(1);
    // The sandbox did the training: the worker's report to the client (its own CPU plus the sandbox's) exceeds the sandbox's alone.
    expect(client.latest()!.cpu).toBeGreaterThan(result.timings.cpuSeconds);
    expect(processesIn(slot.slotDir)).toEqual([]);
  });

  it('does not fetch the script while the client says network activity is suspended', async () => {
    let requests = 0;
    server.on('request', () => requests++);
    const slot = await makeSlot({ ...fetched, seed: 5151, params: { widths: [8], epochs: 5 } });
    const client = new SimulatedClient(slot.slotDir);
    client.heartbeatExtra = '<suspend_network/>';
    await client.until(() => client.statuses.length >= 3);
    expect(requests).toBe(0);
    expect(client.stderr).toContain('network activity is suspended');
    client.heartbeatExtra = '';
    expect(await client.exited, client.stderr).toBe(0);
    expect(requests).toBe(1);
  });

  it('on abort, the worker and its sandbox are gone at once', async () => {
    const slot = await makeSlot(longer, init);
    const client = new SimulatedClient(slot.slotDir);
    await client.until((s) => s.fraction > 0.02);
    await client.controlHeld('abort');
    expect(await client.exited).toBe(EXIT_ABORTED_BY_CLIENT);
    // The sandbox writes to the worker's stderr, so `exited` (that pipe closed) already waited for it to
    // exit; the kernel may still be tearing it down: look a bounded number of times.
    for (let looks = 0; looks < 20 && processesIn(slot.slotDir).length > 0; looks++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(processesIn(slot.slotDir)).toEqual([]);
  });

  it('quit inside the script’s training: the sandbox saves it through the worker; restarted, it resumes there to the same digest', async () => {
    const slot = await makeSlot(longer, init);
    const first = new SimulatedClient(slot.slotDir);
    await first.until((s) => s.fraction > 0.02); // inside the first of four widths
    await first.controlHeld('quit');
    expect(await first.exited, first.stderr).toBe(0);
    expect(await exists(slot.resultPath), 'the quit came after the run had ended').toBe(false);
    const checkpoint = await savedCheckpoint(slot.slotDir);
    expect(checkpoint.inProgress[0]?.records).toHaveProperty('testAccuracy');

    const second = new SimulatedClient(slot.slotDir);
    expect(await second.exited, second.stderr).toBe(0);
    expect(second.stderr).toContain('resumed inside training');
    expect(second.statuses[0]!.fraction).toBeGreaterThanOrEqual(checkpoint.fractionDone - 1e-6);
    const result = resultSchema.parse(JSON.parse(await readFile(slot.resultPath, 'utf8')));
    expect(result.sandbox).toBeDefined();
    expect(result.digest).toBe(await uninterruptedDigest(longer, init));
  });
});
