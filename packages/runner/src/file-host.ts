import { access, constants, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AxiomError } from './errors.js';
import { writeJsonAtomicOrExplain } from './files.js';
import type { CheckpointStore, ResultSink } from './host.js';

/** A checkpoint kept as one JSON file, replaced atomically, so a kill never leaves half of one. */
export function fileCheckpointStore(path: string): CheckpointStore {
  return {
    async load() {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new AxiomError('badCheckpoint', `cannot read checkpoint ${path}: ${(error as Error).message}`);
      }
      try {
        return JSON.parse(text) as unknown;
      } catch (error) {
        throw new AxiomError('badCheckpoint', `checkpoint ${path} is corrupt (not JSON: ${(error as Error).message}); delete it to start over`);
      }
    },
    save: (checkpoint) => writeJsonAtomicOrExplain(path, checkpoint, 'checkpoint'),
    clear: () => rm(path, { force: true }),
  };
}

/** Writes the result as a JSON file, atomically; fails before the run if the place is not writable. */
export function fileResultSink(path: string): ResultSink {
  const unwritable = (why: string) => new AxiomError('outputUnwritable', `cannot write result to ${path}: ${why}`);
  return {
    async prepare() {
      const directory = dirname(path);
      try {
        await mkdir(directory, { recursive: true });
        await access(directory, constants.W_OK);
      } catch (error) {
        throw unwritable((error as NodeJS.ErrnoException).code ?? (error as Error).message);
      }
      const existing = await stat(path).catch(() => undefined);
      if (existing?.isDirectory()) throw unwritable('it is a directory');
    },
    async write(result) {
      await writeJsonAtomicOrExplain(path, result, 'result');
      return path;
    },
  };
}
