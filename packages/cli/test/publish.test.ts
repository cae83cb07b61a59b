import { createServer, type Server } from 'node:http';
import { access, readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode, resultSchema } from '@axiom/runner/host';
import { axiom, scratch } from './helpers.js';

const example = new URL('../../../examples/custom-experiment.mjs', import.meta.url).pathname;

// The researcher's path from docs/security.md: keygen, bundle and sign, serve, reference from wu.json, run.
describe('publishing an experiment by URL', () => {
  let dir: string;
  let server: Server;
  let url: string;
  let served: Buffer | undefined;
  let wu: { experiment: { url: string; sha256: string; signature: string }; seed: number; preset: string };

  beforeAll(async () => {
    dir = await scratch();
    server = createServer((_, res) => (served ? res.end(served) : res.writeHead(503).end()));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/width-vs-accuracy.mjs`;

    const keygen = await axiom(['keygen', '--out-dir', dir]);
    expect(keygen.code, keygen.stderr).toBe(0);
    const bundle = await axiom(['bundle', example, '-o', join(dir, 'width-vs-accuracy.mjs'), '--sign', join(dir, 'axiom-signing-key.pem'), '--url', url]);
    expect(bundle.code, bundle.stderr).toBe(0);
    const snippet = JSON.parse(
      bundle.stdout
        .split('\n')
        .find((line) => line.startsWith('wu.json: '))!
        .slice('wu.json: '.length),
    );
    wu = { ...snippet, seed: 31337, preset: 'smoke' };
    served = await readFile(join(dir, 'width-vs-accuracy.mjs'));
    expect(bundle.stdout).toContain(`sha256: ${wu.experiment.sha256}`);
  });
  afterAll(() => server.close());

  const run = async (name: string) => {
    await writeFile(join(dir, `${name}.wu.json`), JSON.stringify(wu));
    const args = [
      'run',
      '--wu',
      join(dir, `${name}.wu.json`),
      '--trusted-key',
      join(dir, 'axiom-public-key.pem'),
      '--cache-dir',
      join(dir, 'cache'),
      '--out',
      join(dir, `${name}.json`),
    ];
    return axiom(args);
  };

  it('the bundle imports nothing from node_modules: the worker provides its API', async () => {
    const text = served!.toString();
    expect(text).not.toMatch(/from ["'](@axiom|zod)/);
    expect(text).toContain('axiom.worker-api.v1');
  });

  it('runs by URL through wu.json, verified by sha256 and signature, and records the provenance', async () => {
    const result = await run('first');
    expect(result.code, result.stderr).toBe(0);
    const recorded = resultSchema.parse(JSON.parse(await readFile(join(dir, 'first.json'), 'utf8')));
    expect(recorded.experiment).toEqual({
      name: 'width-vs-accuracy',
      version: '1.0.0',
      script: { url, sha256: wu.experiment.sha256, verification: 'sha256+ed25519', signer: expect.stringMatching(/^[0-9a-f]{16}$/) },
    });
    expect(recorded.seed).toEqual({ value: 31337, source: 'wu.json' });
  });

  it('runs again from the cache while the server is down', async () => {
    const saved = served;
    served = undefined;
    const result = await run('offline');
    served = saved;
    expect(result.code, result.stderr).toBe(0);
  });

  it('a tampered script is rejected with its exit code, and nothing runs', async () => {
    served = Buffer.concat([served!, Buffer.from('\n// injected\n')]);
    wu = { ...wu, experiment: { ...wu.experiment, sha256: (await import('node:crypto')).createHash('sha256').update(served).digest('hex') } };
    const result = await run('tampered');
    expect(result.code).toBe(ExitCode.scriptRejected);
    expect(result.stderr).toMatch(/signature does not match the project's key/);
    await expect(access(join(dir, 'tampered.json'))).rejects.toThrow();
  });
});
