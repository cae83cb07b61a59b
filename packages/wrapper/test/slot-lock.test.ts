import { spawn, type ChildProcess } from 'node:child_process';
import { access, link, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
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
/** The lock as an instance with this PID holds it: its claim file, and the lock file a link of it. */
async function heldBy(slotDir: string, pid: number): Promise<void> {
  const claim = join(slotDir, `${SLOT_LOCK_FILE}.${pid}`);
  await writeFile(claim, '');
  await link(claim, join(slotDir, SLOT_LOCK_FILE));
}
/** The PID the lock file names as its holder (its claim file is the same inode). */
async function holderOf(slotDir: string): Promise<number | undefined> {
  const { ino } = await stat(join(slotDir, SLOT_LOCK_FILE));
  for (const name of await readdir(slotDir)) {
    if (name.startsWith(`${SLOT_LOCK_FILE}.`) && (await stat(join(slotDir, name))).ino === ino) return Number(name.split('.').at(-1));
  }
  return undefined;
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
  it('is taken naming its owner, refused while another running process holds it, taken over from an ended one', async () => {
    const { slotDir } = await makeSlot(workunit);
    const lockPath = join(slotDir, SLOT_LOCK_FILE);
    const lock = await takeSlotLock(slotDir);
    expect(lock).toHaveProperty('release');
    expect(await holderOf(slotDir)).toBe(process.pid);
    await (lock as { release(): Promise<void> }).release();
    expect((await readdir(slotDir)).filter((name) => name.startsWith(SLOT_LOCK_FILE))).toEqual([]);

    const holder = otherInstance();
    await heldBy(slotDir, holder);
    expect(await takeSlotLock(slotDir)).toEqual({ heldBy: holder });
    expect(await holderOf(slotDir)).toBe(holder);

    const ended = await endedProcess();
    await rm(lockPath);
    await heldBy(slotDir, ended);
    expect(await takeSlotLock(slotDir)).toHaveProperty('release');
    expect(await holderOf(slotDir)).toBe(process.pid);
    expect(await exists(join(slotDir, `${SLOT_LOCK_FILE}.${ended}`))).toBe(false);

    // A lock file naming no holder (a crash between the two steps, or another program's) is taken over too.
    await rm(lockPath);
    await writeFile(lockPath, '');
    expect(await takeSlotLock(slotDir)).toHaveProperty('release');
  });

  it('a worker started while another instance runs in the slot waits for it, then exits temporarily without touching the task', async () => {
    const slot = await makeSlot(workunit);
    const holder = otherInstance();
    await heldBy(slot.slotDir, holder);
    const { code, lines, waits } = await runWorker(slot.slotDir);
    expect(code).toBe(0);
    expect(waits).toEqual([SLOT_LOCK_WAIT_SECONDS]);
    expect(lines.join('\n')).toContain(`held by PID ${holder}`);
    expect(await readFile(join(slot.slotDir, TEMPORARY_EXIT_FILE), 'utf8')).toBe(
      '600\nWaiting to acquire slot directory lock.  Another instance may be running.\n',
    );
    expect(await exists(slot.resultPath)).toBe(false);
    expect(await holderOf(slot.slotDir)).toBe(holder); // still the other's
  });

  it('a worker restarted after a crash takes the dead occupant’s lock, runs the task, and releases the lock at the end', async () => {
    const slot = await makeSlot(workunit);
    await heldBy(slot.slotDir, await endedProcess());
    const { code, lines, waits } = await runWorker(slot.slotDir);
    expect(code, lines.join('\n')).toBe(0);
    expect(waits).toEqual([]);
    expect(await exists(slot.resultPath)).toBe(true);
    expect((await readdir(slot.slotDir)).filter((name) => name.startsWith(SLOT_LOCK_FILE))).toEqual([]);
  });
});
