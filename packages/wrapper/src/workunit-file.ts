import { open, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { AxiomError, describeZodError, errorMessage, uint32Schema, workunitBodySchema, type WorkunitFile } from '@axiom/runner/host';

const SOFT_LINK = /^\s*<soft_link>([^<]*)<\/soft_link>/;

/**
 * BOINC puts a *link file* in the slot where an app expects a file unless the template says
 * `<copy_file/>`: `<soft_link>../../projects/host/name</soft_link>`, relative to the slot.
 * Returns the path of the file that holds the data: the link's target, or the path itself.
 * A missing file resolves to itself (as `boinc_resolve_filename` does), so callers see ENOENT.
 */
export async function resolveLinkFile(path: string): Promise<string> {
  let head: string;
  try {
    const handle = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(4096);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      head = buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return path;
    throw error;
  }
  const link = SOFT_LINK.exec(head);
  return link ? resolve(dirname(path), link[1]!.trim()) : path;
}

/**
 * Reads a `wu.json` (following a BOINC link file): its body when usable, its seed when valid, and
 * otherwise why not, for `resolveSeed`.
 */
export async function loadWorkunitFile(path: string): Promise<WorkunitFile> {
  const resolvedPath = await resolveLinkFile(path);
  let text: string;
  try {
    text = await readFile(resolvedPath, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw new AxiomError('badWorkunit', `${path}: cannot read workunit file (${code ?? errorMessage(error)})`);
    const linked = resolvedPath !== path;
    return {
      path,
      resolvedPath,
      seedProblem: linked
        ? { code: 'wu-link-broken', message: `${path} is a BOINC link file whose target ${resolvedPath} does not exist` }
        : { code: 'wu-missing', message: `${path} does not exist` },
    };
  }
  const where = resolvedPath === path ? path : `${path} (linked to ${resolvedPath})`;
  if (text.trim() === '') {
    return { path, resolvedPath, seedProblem: { code: 'wu-empty', message: `${where} is empty (${text.length} bytes)` } };
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return {
      path,
      resolvedPath,
      seedProblem: { code: 'wu-invalid-json', message: `${where} is not valid JSON: ${(error as Error).message}` },
    };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { path, resolvedPath, seedProblem: { code: 'wu-invalid-json', message: `${where} must hold a JSON object` } };
  }
  const { seed, ...rest } = data as Record<string, unknown>;
  const body = workunitBodySchema.safeParse(rest);
  if (!body.success) {
    throw new AxiomError('badWorkunit', `${where}: ${describeZodError(body.error, workunitBodySchema)}`);
  }
  if (seed === undefined) {
    return { path, resolvedPath, body: body.data, seedProblem: { code: 'wu-seed-missing', message: `${where} has no "seed"` } };
  }
  const parsedSeed = uint32Schema.safeParse(seed);
  if (!parsedSeed.success) {
    return {
      path,
      resolvedPath,
      body: body.data,
      seedProblem: {
        code: 'wu-seed-invalid',
        message: `${where}: "seed" must be an unsigned 32-bit integer (0..4294967295), got ${JSON.stringify(seed)}`,
      },
    };
  }
  return { path, resolvedPath, body: body.data, seed: parsedSeed.data };
}
