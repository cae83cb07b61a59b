import { link, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** lib/app_ipc.h: the file an app locks in its slot, so that no second instance of it runs there. */
export const SLOT_LOCK_FILE = 'boinc_lockfile';
/** api/boinc_api.cpp (LOCKFILE_TIMEOUT_PERIOD): seconds a second instance gives a previous occupant to time out and exit. */
export const SLOT_LOCK_WAIT_SECONDS = 35;
/** api/boinc_api.cpp: what an app that still cannot take the lock tells the client, restarting in 600 s. */
export const SLOT_LOCK_BUSY_MESSAGE = 'Waiting to acquire slot directory lock.  Another instance may be running.';

export type SlotLock = { release(): Promise<void> } | { heldBy: number };

/** Whether a process with this PID exists (EPERM: it does, as another user's). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the slot's lock, or says which running process holds it. BOINC's app takes an fcntl write lock on
 * boinc_lockfile, which the kernel drops when the process ends; Node has no fcntl locks, so here the lock
 * is the file itself, created atomically with the owner's PID in it (a hard link of a complete file, so no
 * reader sees it empty). A file whose PID no longer runs is a dead occupant's and is taken over, as the
 * kernel would have dropped its lock. Released by deleting it, as boinc_finish does.
 */
export async function takeSlotLock(slotDir: string): Promise<SlotLock> {
  const path = join(slotDir, SLOT_LOCK_FILE);
  const claim = `${path}.${process.pid}`;
  await writeFile(claim, `${process.pid}\n`);
  try {
    for (;;) {
      try {
        await link(claim, path);
        return { release: () => rm(path, { force: true }) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
      if (holder > 0 && holder !== process.pid && running(holder)) return { heldBy: holder };
      await rm(path, { force: true });
    }
  } finally {
    await rm(claim, { force: true });
  }
}
