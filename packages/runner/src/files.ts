import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { AxiomError } from './errors.js';

/** Write to a temporary file in the same directory, fsync, rename: readers see the old file or the new one, never half. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, { fsync: true });
}

/** Errors of a full disk or quota: space may be freed, so the same write may succeed later. */
const NO_SPACE_CODES = new Set(['ENOSPC', 'EDQUOT']);

/**
 * An atomic write, with a failure turned into `outputUnwritable` (exit 6) naming what and where:
 * transient when the disk is full (a BOINC host exits temporarily and retries), permanent otherwise
 * (read-only file system, no permission). The old file is untouched either way.
 */
export async function writeJsonAtomicOrExplain(path: string, value: unknown, what: string): Promise<void> {
  await writeAtomicOrExplain(path, `${JSON.stringify(value, null, 2)}\n`, what);
}

/** `writeJsonAtomicOrExplain` for any bytes; makes the directory if it is missing. */
export async function writeAtomicOrExplain(path: string, data: string | Buffer, what: string): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, data, { fsync: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new AxiomError('outputUnwritable', `cannot write ${what} to ${path}: ${code ?? (error as Error).message}`, {
      cause: error,
      transient: NO_SPACE_CODES.has(code ?? ''),
    });
  }
}
