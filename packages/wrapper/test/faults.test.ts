import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { backendLoaders, ExitCode, resultSchema } from '@axiom/runner/host';
import { CHECKPOINT_FILE, TEMPORARY_EXIT_FILE } from '@axiom/wrapper';
import { makeSlot, runWorkerInProcess, savedCheckpoint, SimulatedClient, type Slot } from './simulated-slot.js';
import { systemDependency } from '../../../test-support/system-dependency.js';

/** Two units: the smallest sweep with a checkpoint between units. */
// Unstacked: a checkpoint after every unit, which the memory-bound case needs to stop between units.
const workunit = { experiment: 'memorization-dynamics', seed: 5150, preset: 'smoke', params: { epochs: 3, stacking: 'off' } };
const readIfPresent = (path: string) => readFile(path, 'utf8').catch(() => undefined);

async function runWorker(slot: Slot) {
  const client = new SimulatedClient(slot.slotDir);
  return { code: await client.exited, stderr: client.stderr };
}

/** Points the slot's result link file at `path`, as a project whose output lives elsewhere would. */
const linkResultTo = (slot: Slot, path: string) => writeFile(join(slot.slotDir, 'result.json'), `<soft_link>${path}</soft_link>\n`);

// Small tmpfs mounts stand in for a full disk and a read-only file system; they need root.
const mounts: string[] = [];
function mountTmpfs(dir: string, options: string): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
  mounts.push(dir);
}
const mount = systemDependency(
  'root with mount(8)',
  (() => {
    if (process.getuid?.() !== 0) return 'tmpfs mounts need root (CI runs as root)';
    try {
      execFileSync('mount', ['--version']);
      return undefined;
    } catch (error) {
      return `mount(8) does not run: ${(error as Error).message} (apt-get install mount)`;
    }
  })(),
);
afterEach(() => {
  // Lazily: the simulated client still maps the slot's boinc_mmap_file.
  for (const dir of mounts.splice(0)) execFileSync('umount', ['--lazy', dir]);
});

/** Fills a tmpfs mounted at `dir` until writes fail with ENOSPC; returns the filler's path. */
async function fill(dir: string): Promise<string> {
  const filler = join(dir, 'filler');
  await writeFile(filler, '');
  for (;;) {
    try {
      await writeFile(filler, Buffer.alloc(4096), { flag: 'a' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOSPC') return filler;
      throw error;
    }
  }
}

describe('resource faults in a BOINC slot', () => {
  it.skipIf(mount.missing)(`disk full when the result is written: temporary exit, checkpoint kept; with space again it finishes${mount.note}`, async () => {
    const slot = await makeSlot(workunit);
    const full = join(slot.root, 'full');
    await mkdir(full);
    mountTmpfs(full, 'size=64k');
    const filler = await fill(full);
    await linkResultTo(slot, join(full, 'result.json'));

    const first = await runWorker(slot);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/temporary failure.*cannot write result to .*ENOSPC/);
    expect(await readIfPresent(join(slot.slotDir, TEMPORARY_EXIT_FILE))).toMatch(/^\d+\n/);
    expect(await readIfPresent(join(slot.slotDir, 'boinc_finish_called'))).toBeUndefined();
    expect((await savedCheckpoint(slot.slotDir)).units).toHaveLength(2);

    await rm(filler);
    await rm(join(slot.slotDir, TEMPORARY_EXIT_FILE)); // as the client does before the restart
    const second = await runWorker(slot);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain('resuming from checkpoint at 100.0%: 2 unit(s) done');
    expect(resultSchema.parse(JSON.parse((await readIfPresent(join(full, 'result.json')))!)).status).toBe('ok');
  });

  it.skipIf(mount.missing)(`disk full when a checkpoint is written: temporary exit, not a failed task${mount.note}`, async () => {
    const slot = await makeSlot(workunit);
    // The slot itself on a tiny file system holding only what the client put there.
    const files = await Promise.all(
      ['wu.json', 'result.json', 'init_data.xml', 'boinc_mmap_file'].map(async (name) => [name, await readFile(join(slot.slotDir, name))] as const),
    );
    mountTmpfs(slot.slotDir, 'size=64k');
    for (const [name, bytes] of files) await writeFile(join(slot.slotDir, name), bytes);
    await fill(slot.slotDir);

    const run = await runWorker(slot);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/temporary failure.*cannot write checkpoint to .*ENOSPC/);
    expect(run.stderr).toMatch(/cannot write boinc_temporary_exit \(ENOSPC\); exiting without it/);
    expect(await readIfPresent(join(slot.slotDir, 'boinc_finish_called'))).toBeUndefined();
  });

  it.skipIf(mount.missing)(`read-only output location: error exit 6 before any computing, reason in stderr and the finish file${mount.note}`, async () => {
    const slot = await makeSlot(workunit);
    const readOnly = join(slot.root, 'read-only');
    await mkdir(readOnly);
    mountTmpfs(readOnly, 'ro,size=64k');
    await linkResultTo(slot, join(readOnly, 'result.json'));

    const run = await runWorker(slot);
    expect(run.code).toBe(ExitCode.outputUnwritable);
    expect(run.stderr).toMatch(/error: cannot write result to .*read-only\/result\.json: EROFS/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(await readIfPresent(join(slot.slotDir, 'boinc_finish_called'))).toMatch(/^6\n/);
  });

  it.each([
    ['corrupt', '{"formatVersion": 2, "units": ['],
    [
      'from the older format version 1',
      JSON.stringify({
        formatVersion: 1,
        experiment: 'memorization-dynamics',
        experimentVersion: '1',
        seed: 5150,
        paramsDigest: '0'.repeat(64),
        units: [],
        unitSeconds: {},
      }),
    ],
  ])('a checkpoint that is %s is discarded with a warning; the task starts over and finishes', async (_kind, text) => {
    const slot = await makeSlot(workunit);
    await writeFile(join(slot.slotDir, CHECKPOINT_FILE), text);
    const run = await runWorker(slot);
    expect(run.code, run.stderr).toBe(0);
    const result = resultSchema.parse(JSON.parse((await readIfPresent(slot.resultPath))!));
    expect(result.status).toBe('ok');
    expect(result.warnings.map((w) => w.code)).toContain('checkpoint-discarded');
    expect(run.stderr).toMatch(/warning \[checkpoint-discarded\]: checkpoint .*; starting the task over/);
  });

  it('over rsc_memory_bound after a unit: checkpoints and exits temporarily; restarted, it resumes', async () => {
    const slot = await makeSlot(workunit, { rsc_memory_bound: 10_000_000 }); // below any Node process
    const first = await runWorker(slot);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/over the task's rsc_memory_bound of 10 MiB; checkpointing and exiting temporarily/);
    expect(await readIfPresent(join(slot.slotDir, TEMPORARY_EXIT_FILE))).toMatch(/^60\nover rsc_memory_bound/);
    expect((await savedCheckpoint(slot.slotDir)).units).toHaveLength(1);
    expect(await readIfPresent(slot.resultPath)).toBeUndefined();

    // Each restart finishes at least one more unit, so the task ends.
    await rm(join(slot.slotDir, TEMPORARY_EXIT_FILE));
    const second = await runWorker(slot);
    expect(second.stderr).toContain('resuming from checkpoint at 50.0%: 1 unit(s) done');
    expect(second.code, second.stderr).toBe(0);
    // Over the bound again after the last unit, but the run is complete: it finishes, not restarts.
    expect(resultSchema.parse(JSON.parse((await readIfPresent(slot.resultPath))!)).status).toBe('ok');
    expect(await readIfPresent(join(slot.slotDir, 'boinc_finish_called'))).toMatch(/^0\n/);
  });

  it('no backend can initialise: error exit 8 with the reasons, not a crash', async () => {
    const slot = await makeSlot(workunit);
    const saved = { ...backendLoaders };
    for (const name of Object.keys(backendLoaders) as Array<keyof typeof backendLoaders>) {
      backendLoaders[name] = async () => {
        throw new Error(`${name} failed to load (simulated)`);
      };
    }
    const lines: string[] = [];
    try {
      const code = await runWorkerInProcess(slot.slotDir, lines);
      expect(code).toBe(ExitCode.backendUnavailable);
    } finally {
      Object.assign(backendLoaders, saved);
    }
    expect(lines.join('\n')).toMatch(/error: no backend could be loaded: .*wasm: wasm failed to load \(simulated\)/);
    expect(await readIfPresent(join(slot.slotDir, 'boinc_finish_called'))).toMatch(/^8\n/);
  });
});
