import { link, readdir, rm, stat, writeFile } from 'node:fs/promises';
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

/** The claim file naming `pid` as the lock's holder: `boinc_lockfile.<pid>`. */
const claimOf = (path: string, pid: number) => `${path}.${pid}`;

/** The PID whose claim file is the lock file itself (the same inode), if any. */
async function holderOf(slotDir: string, path: string): Promise<number | undefined> {
  const lock = await stat(path).catch(() => undefined);
  if (!lock) return undefined;
  for (const name of await readdir(slotDir)) {
    const pid = name.startsWith(`${SLOT_LOCK_FILE}.`) ? Number(name.slice(SLOT_LOCK_FILE.length + 1)) : NaN;
    if (Number.isInteger(pid) && pid > 0 && (await stat(join(slotDir, name)).catch(() => undefined))?.ino === lock.ino) return pid;
  }
  return undefined;
}

/**
 * Takes the slot's lock, or says which running process holds it. BOINC's app takes an fcntl write lock on
 * boinc_lockfile, which the kernel drops when the process ends; Node has no fcntl locks, so here the lock
 * is the file itself, made atomically as a hard link of the owner's claim file `boinc_lockfile.<pid>`,
 * which names the holder. Both are empty, so a full disk does not stop it (an inode is all they take). A
 * lock whose holder no longer runs, or names none, is a dead occupant's and is taken over, as the kernel
 * would have dropped its lock. Released by deleting both, as boinc_finish deletes the lock file.
 */
export async function takeSlotLock(slotDir: string): Promise<SlotLock> {
  const path = join(slotDir, SLOT_LOCK_FILE);
  const claim = claimOf(path, process.pid);
  await writeFile(claim, '');
  for (;;) {
    try {
      await link(claim, path);
      return { release: () => Promise.all([rm(path, { force: true }), rm(claim, { force: true })]).then(() => undefined) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        await rm(claim, { force: true });
        throw error;
      }
    }
    const holder = await holderOf(slotDir, path);
    if (holder !== undefined && holder !== process.pid && running(holder)) {
      await rm(claim, { force: true });
      return { heldBy: holder };
    }
    await Promise.all([rm(path, { force: true }), holder !== undefined && holder !== process.pid ? rm(claimOf(path, holder), { force: true }) : undefined]);
  }
}
