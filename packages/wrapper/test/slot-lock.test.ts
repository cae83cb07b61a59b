import { spawn, type ChildProcess } from 'node:child_process';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AxiomError } from '@axiom/runner/host';
import { builtinExperiments } from '@axiom/experiments';
import { runBoincWorker, SLOT_LOCK_FILE, SLOT_LOCK_WAIT_SECONDS, takeSlotLock, TEMPORARY_EXIT_FILE } from '@axiom/wrapper';
import { AXIOM, makeSlot } from './simulated-slot.js';

const workunit = { experiment: 'memorization-dynamics', seed: 4242, preset: 'smoke', params: { epochs: 2 } };
const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/** A process that stays alive until killed: another instance of the app, as far as the lock is concerned. */
const others: ChildProcess[] = [];
function otherInstance(): number {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  others.push(child);
  return child.pid!;
}
/** The PID of a process that has ended: a crashed occupant's. */
async function endedProcess(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => child.on('close', resolve));
  return child.pid!;
}
afterEach(() => others.splice(0).forEach((child) => child.kill('SIGKILL')));

/** `axiom worker` in this process; every wait it asks for is recorded, not slept. */
async function runWorker(slotDir: string) {
  const lines: string[] = [];
  const waits: number[] = [];
  const code = await runBoincWorker(
    slotDir,
    { builtins: builtinExperiments, sandbox: { entry: AXIOM, args: ['sandboxed-run'] }, poolWorker: { entry: AXIOM, args: ['pool-worker'] } },
    {
      stderr: (line) => lines.push(line),
      exit: (status) => {
        throw new AxiomError('internal', `unexpected exit ${status}`);
      },
      wait: (seconds) => Promise.resolve(void waits.push(seconds)),
    },
  );
  return { code, lines, waits };
}

describe('the slot lock (boinc_lockfile)', () => {
  it('is taken with the owner’s PID in it, refused while another running process holds it, taken over from an ended one', async () => {
    const { slotDir } = await makeSlot(workunit);
    const lockPath = join(slotDir, SLOT_LOCK_FILE);
    const lock = await takeSlotLock(slotDir);
    expect(lock).toHaveProperty('release');
    expect(await readFile(lockPath, 'utf8')).toBe(`${process.pid}\n`);
    await (lock as { release(): Promise<void> }).release();
    expect(await exists(lockPath)).toBe(false);

    const holder = otherInstance();
    await writeFile(lockPath, `${holder}\n`);
    expect(await takeSlotLock(slotDir)).toEqual({ heldBy: holder });

    await writeFile(lockPath, `${await endedProcess()}\n`);
    expect(await takeSlotLock(slotDir)).toHaveProperty('release');
    expect(await readFile(lockPath, 'utf8')).toBe(`${process.pid}\n`);
  });

  it('a worker started while another instance runs in the slot waits for it, then exits temporarily without touching the task', async () => {
    const slot = await makeSlot(workunit);
    const holder = otherInstance();
    await writeFile(join(slot.slotDir, SLOT_LOCK_FILE), `${holder}\n`);
    const { code, lines, waits } = await runWorker(slot.slotDir);
    expect(code).toBe(0);
    expect(waits).toEqual([SLOT_LOCK_WAIT_SECONDS]);
    expect(lines.join('\n')).toContain(`held by PID ${holder}`);
    expect(await readFile(join(slot.slotDir, TEMPORARY_EXIT_FILE), 'utf8')).toBe(
      '600\nWaiting to acquire slot directory lock.  Another instance may be running.\n',
    );
    expect(await exists(slot.resultPath)).toBe(false);
    expect(await readFile(join(slot.slotDir, SLOT_LOCK_FILE), 'utf8')).toBe(`${holder}\n`); // still the other's
  });

  it('a worker restarted after a crash takes the dead occupant’s lock, runs the task, and releases the lock at the end', async () => {
    const slot = await makeSlot(workunit);
    await writeFile(join(slot.slotDir, SLOT_LOCK_FILE), `${await endedProcess()}\n`);
    const { code, lines, waits } = await runWorker(slot.slotDir);
    expect(code, lines.join('\n')).toBe(0);
    expect(waits).toEqual([]);
    expect(await exists(slot.resultPath)).toBe(true);
    expect(await exists(join(slot.slotDir, SLOT_LOCK_FILE))).toBe(false);
  });
});
