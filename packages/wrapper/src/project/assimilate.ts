import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resultSchema, writeJsonAtomic } from '@axiom/runner/host';

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
    const existing = await readFile(target, 'utf8').then((text) => resultSchema.parse(JSON.parse(text)), () => undefined);
    if (existing?.digest !== result.digest) await writeJsonAtomic(target, result);
    stored.push(target);
  }
  return stored;
}
