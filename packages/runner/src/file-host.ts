import { access, constants, mkdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AxiomError } from './errors.js';
import { writeJsonAtomicOrExplain } from './files.js';
import type { ResultSink } from './host.js';
import type { Result } from './schemas.js';

/**
 * Writes the result as a JSON file, atomically; fails before the run if the place is not writable.
 * The path may be named from the result itself (a fetched script's name is known only once it ran).
 */
export function fileResultSink(path: string | { directory: string; name(result: Result): string }): ResultSink {
  const directory = typeof path === 'string' ? dirname(path) : path.directory;
  const unwritable = (why: string) => new AxiomError('outputUnwritable', `cannot write result to ${typeof path === 'string' ? path : directory}: ${why}`);
  return {
    async prepare() {
      try {
        await mkdir(directory, { recursive: true });
        await access(directory, constants.W_OK);
      } catch (error) {
        throw unwritable((error as NodeJS.ErrnoException).code ?? (error as Error).message);
      }
      const existing = typeof path === 'string' ? await stat(path).catch(() => undefined) : undefined;
      if (existing?.isDirectory()) throw unwritable('it is a directory');
    },
    async write(result) {
      const file = typeof path === 'string' ? path : join(directory, path.name(result));
      await writeJsonAtomicOrExplain(file, result, 'result');
      return file;
    },
  };
}
