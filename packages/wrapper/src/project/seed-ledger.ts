import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AxiomError } from '@axiom/runner/host';

/** A uint32 from the operating system's CSPRNG. */
export const cryptoSeed = (): number => randomBytes(4).readUInt32BE(0);

async function readLedger(path: string): Promise<Set<number>> {
  try {
    return new Set((await readFile(path, 'utf8')).split('\n').filter(Boolean).map(Number));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
    throw error;
  }
}

/** One make-work at a time per ledger: reading the ledger and appending to it must not interleave. */
async function withLock<T>(ledgerPath: string, body: () => Promise<T>): Promise<T> {
  const lockPath = `${ledgerPath}.lock`;
  await mkdir(dirname(ledgerPath), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      await (await open(lockPath, 'wx')).close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (attempt >= 100)
        throw new AxiomError('outputUnwritable', `seed ledger ${ledgerPath} is locked (${lockPath}); remove the lock if no make-work is running`);
      await sleep(100);
    }
  }
  try {
    return await body();
  } finally {
    await rm(lockPath, { force: true });
  }
}

/**
 * The seed ledger: every seed the project ever handed out, one per line, append-only. Returns `count`
 * fresh seeds, each drawn again if it repeats one in the ledger or the batch (a 32-bit space makes
 * that likely once a project has used tens of thousands), and appends them in one fsynced write.
 */
export async function reserveSeeds(ledgerPath: string, count: number, drawSeed: () => number = cryptoSeed): Promise<number[]> {
  return withLock(ledgerPath, async () => {
    const used = await readLedger(ledgerPath);
    const seeds = new Set<number>();
    for (let draws = 0; seeds.size < count; draws++) {
      if (draws >= count * 10 + 100) throw new AxiomError('badWorkunit', `could not draw ${count} unused seeds: the seed source keeps repeating used ones`);
      const seed = drawSeed();
      if (!used.has(seed)) seeds.add(seed);
    }
    await appendSeeds(ledgerPath, [...seeds], used);
    return [...seeds];
  });
}

/** Appends seeds to the ledger, refusing any that is already in it or repeated in the batch. */
async function appendSeeds(ledgerPath: string, seeds: number[], used: Set<number>): Promise<void> {
  const batch = new Set<number>();
  for (const seed of seeds) {
    if (used.has(seed) || batch.has(seed))
      throw new AxiomError('badWorkunit', `seed ${seed} was already handed out (seed ledger ${ledgerPath}); refusing to reuse it`);
    batch.add(seed);
  }
  const handle = await open(ledgerPath, 'a');
  try {
    await handle.write(seeds.map((seed) => `${seed}\n`).join(''));
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Records seeds chosen elsewhere (e.g. imported workunits), refusing any the ledger already has. */
export async function recordSeeds(ledgerPath: string, seeds: number[]): Promise<void> {
  await withLock(ledgerPath, async () => appendSeeds(ledgerPath, seeds, await readLedger(ledgerPath)));
}
