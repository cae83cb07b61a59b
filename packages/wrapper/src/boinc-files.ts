import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Files an app writes in its slot for the client (api/boinc_api.cpp). */
export const BOINC_FINISH_CALLED_FILE = 'boinc_finish_called';
export const TEMPORARY_EXIT_FILE = 'boinc_temporary_exit';
/** lib/common_defs.h: the exit status of an app the client told to abort. */
export const EXIT_ABORTED_BY_CLIENT = 194;

/** Logical names in wu.json/result templates; the slot holds link files (or copies) under these names. */
export const WORKUNIT_FILE = 'wu.json';
export const RESULT_FILE = 'result.json';
export const CHECKPOINT_FILE = 'axiom_checkpoint.bin';

/** Written just before a finished app exits; without it the client takes an exit as premature and restarts the task. */
export async function writeFinishCalled(slotDir: string, status: number, message?: string): Promise<void> {
  await writeFile(join(slotDir, BOINC_FINISH_CALLED_FILE), `${status}\n${message ? `${message.replace(/\n/g, ' ')}\n` : ''}`);
}

/** Asks the client to restart the task after `delaySeconds` (then exit 0): for trouble that may pass. */
export async function writeTemporaryExit(slotDir: string, delaySeconds: number, reason: string): Promise<void> {
  await writeFile(join(slotDir, TEMPORARY_EXIT_FILE), `${Math.round(delaySeconds)}\n${reason.replace(/\n/g, ' ')}\n`);
}
