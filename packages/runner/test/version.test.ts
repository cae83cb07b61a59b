import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { WORKER_VERSION } from '@axiom/runner/host';

it('WORKER_VERSION matches the runner package version', async () => {
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  expect(WORKER_VERSION).toBe(pkg.version);
});
