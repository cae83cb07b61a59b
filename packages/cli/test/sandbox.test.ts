import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode, resultSchema } from '@axiom/runner/host';
import { axiom, scratch } from './helpers.js';

const malicious = new URL('./fixtures/malicious-experiment.mjs', import.meta.url).pathname;

// A fetched script runs with least privilege: it reads only the worker's code, writes nothing, starts
// no process and reaches no network. Each attempt is stopped, reported in one line (exit 15), and
// leaves nothing behind: no file, no request at the server, no secret in any output.
describe('the sandbox of a fetched script', () => {
  let dir: string;
  let server: Server;
  let base: string;
  let sha256: string;
  const requests: string[] = [];
  const secret = `top-secret-${randomUUID()}`;

  beforeAll(async () => {
    dir = await scratch();
    await writeFile(join(dir, 'secret.txt'), secret);
    const bundle = await axiom(['bundle', malicious, '-o', join(dir, 'malicious.mjs')]);
    expect(bundle.code, bundle.stderr).toBe(0);
    sha256 = /sha256: ([0-9a-f]{64})/.exec(bundle.stdout)![1]!;
    const script = await readFile(join(dir, 'malicious.mjs'));
    server = createServer((request, response) => {
      requests.push(request.url!);
      response.end(request.url === '/malicious.mjs' ? script : 'exfiltrated');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => server.close());

  const attempt = async (name: string) => {
    const params = { attempt: name, secret: join(dir, 'secret.txt'), target: join(dir, `${name}-marker`), url: base };
    const out = join(dir, `${name}-result.json`);
    const run = await axiom([
      'run',
      `${base}malicious.mjs`,
      '--sha256',
      sha256,
      '--seed',
      '1',
      '--params',
      JSON.stringify(params),
      '--cache-dir',
      join(dir, 'cache'),
      '--out',
      out,
    ]);
    const left = await readdir(dir);
    return { ...run, left, out };
  };

  const stopped = [
    { name: 'read', says: /tried to read .*secret\.txt/ },
    { name: 'write', says: /tried to write .*write-marker/ },
    { name: 'spawn', says: /tried to start a process/ },
    { name: 'fetch', says: /tried to reach the network through fetch/ },
    { name: 'socket', says: /tried to reach the network through net\.connect/ },
    { name: 'catch-all', says: /tried to read .*secret\.txt/ }, // the first attempt; the errors it swallows change nothing
  ];
  it.each(stopped)('$name: stopped, reported with exit 15, nothing left behind', async ({ name, says }) => {
    const run = await attempt(name);
    expect(run.code, run.stderr).toBe(ExitCode.sandboxViolation);
    const errors = run.stderr.split('\n').filter((line) => line.startsWith('axiom: error:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(says);
    expect(errors[0]).toContain('the sandbox stopped it and nothing of the run is kept');
    expect(run.left.filter((file) => file.includes('marker') || file.includes('result'))).toEqual([]);
    expect(`${run.stdout}${run.stderr}`).not.toContain(secret);
    expect(requests.filter((url) => url !== '/malicious.mjs')).toEqual([]);
  });

  // The child runs fetched code, which can speak over IPC itself: the parent trusts none of it.
  const refused = [
    { name: 'unknown-message', says: /sent a malformed message: .*type/ },
    { name: 'unknown-call', says: /sent a malformed message: .*method/ },
    { name: 'malformed-call', says: /sent a malformed checkpoints\.save call: .*experiment/ },
    { name: 'oversized', says: /sent a message of \d+ bytes \(at most 65536 for this kind\)/ },
    { name: 'flood', says: /sent messages faster than 200 a second/ },
    { name: 'forged-metrics', says: /sent a result that fails validation: its digest does not match its metrics and units/ },
    { name: 'forged-seed', says: /sent a result that fails validation: its seed 2 is not the run's 1/ },
    { name: 'forged-done', says: /ended with an outcome that does not hold: it wrote no result/ },
  ];
  it.each(refused)('$name: the message is refused, the sandbox killed, with exit 15 and nothing kept', async ({ name, says }) => {
    const run = await attempt(name);
    expect(run.code, run.stderr).toBe(ExitCode.sandboxViolation);
    const errors = run.stderr.split('\n').filter((line) => line.startsWith('axiom: error:'));
    expect(errors).toEqual([expect.stringMatching(says)]);
    expect(errors[0]).toContain('the sandbox stopped it and nothing of the run is kept');
    expect(run.left.filter((file) => file.includes('result'))).toEqual([]);
  });

  it('a worker thread, out of the guard’s reach, still gets no network: nothing arrives at the server', async () => {
    const run = await attempt('worker-fetch');
    expect(requests.filter((url) => url !== '/malicious.mjs')).toEqual([]);
    if (run.code === ExitCode.ok) {
      // Inside a network namespace workers are allowed (threaded WASM needs them); the OS refuses the connection.
      const result = resultSchema.parse(JSON.parse(await readFile(run.out, 'utf8')));
      expect(result.sandbox?.network).toBe('namespace');
      expect(result.metrics.outcome).toMatch(/ENETUNREACH|ECONNREFUSED|EACCES/);
    } else {
      // Without a namespace no worker may start at all.
      expect(run.code, run.stderr).toBe(ExitCode.sandboxViolation);
      expect(run.stderr).toMatch(/tried to start a worker thread/);
    }
  });
});
