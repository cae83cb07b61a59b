import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { errorMessage, resultSchema, writeJsonAtomic } from '@axiom/runner/host';

/**
 * script_assimilator's script: copies each canonical result into the results store, one file per
 * resultId, written atomically. Storing the same result again is a no-op, so a retried assimilation
 * (BOINC retries after any failure) never duplicates it. `axiom analyze STORE` reads the store.
 */
export async function assimilateResults(paths: string[], storeDir: string): Promise<string[]> {
  await mkdir(storeDir, { recursive: true });
  const stored: string[] = [];
  for (const path of paths) {
    const result = resultSchema.parse(JSON.parse(await readFile(path, 'utf8')));
    const target = join(storeDir, `${result.resultId}.json`);
    const existing = await readFile(target, 'utf8').then(
      (text) => resultSchema.parse(JSON.parse(text)),
      () => undefined,
    );
    if (existing?.digest !== result.digest) await writeJsonAtomic(target, result);
    stored.push(target);
  }
  return stored;
}

/**
 * script_assimilator exits, stopping assimilation for the whole project, when its script exits non-zero
 * (sched/assimilator.cpp), and the file deleter later removes the workunit's files. So a failed
 * assimilation is logged and its files are copied to `failedDir`, from where an operator reruns
 * `axiom boinc assimilate` on them; what cannot be copied is named in the log.
 */
export async function assimilateOrKeep(paths: string[], storeDir: string, failedDir: string, log: (line: string) => void): Promise<string[]> {
  try {
    return await assimilateResults(paths, storeDir);
  } catch (error) {
    log(`assimilation failed for ${paths.join(' ')}: ${errorMessage(error)}`);
    await mkdir(failedDir, { recursive: true });
    for (const path of paths) {
      const kept = join(failedDir, basename(path));
      await copyFile(path, kept).then(
        () => log(`kept ${path} as ${kept}: rerun axiom boinc assimilate on it`),
        (copyError: unknown) => log(`could not keep ${path} in ${failedDir}: ${errorMessage(copyError)}`),
      );
    }
    return [];
  }
}
