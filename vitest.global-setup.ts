import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Every scratch directory the tests make (they use os.tmpdir()) goes under one directory, removed at the end. */
export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'axiom-tests-'));
  process.env.TMPDIR = root; // inherited by the test workers and the processes they spawn
  return () => rmSync(root, { recursive: true, force: true });
}
