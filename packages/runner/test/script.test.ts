import { generateKeyPairSync, sign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as zod from 'zod';
import * as runner from '@axiom/runner';
import { AxiomError, type HttpPolicy, installWorkerApi, type ScriptOptions, sha256Hex } from '@axiom/runner/host';
import { importScriptExperiment, obtainScript, type ScriptSource } from '../src/script.js';

/** What the worker does with a script, in one process: obtain (fetch, verify, cache), then import the verified bytes. */
async function loadScriptExperiment(source: ScriptSource, options: ScriptOptions) {
  const obtained = await obtainScript(source, options);
  return { ...obtained, experiment: await importScriptExperiment(await readFile(obtained.path), source.url) };
}

// A script as `axiom bundle` emits it: the worker's modules come from the global the worker installs.
const SCRIPT = `
const api = globalThis[Symbol.for('axiom.worker-api.v1')];
globalThis.__scriptExecutions = (globalThis.__scriptExecutions ?? 0) + 1;
const { z } = api.zod;
export default api['@axiom/runner'].defineExperiment({
  name: 'fetched', version: '2.0.0', description: 'fetched by URL',
  params: z.strictObject({ n: z.number().default(1) }), presets: { smoke: {} },
  async run(ctx) { return { n: ctx.params.n }; },
});
`;
const scriptBytes = Buffer.from(SCRIPT);
const scriptSha = sha256Hex(scriptBytes);
const executions = () => (globalThis as { __scriptExecutions?: number }).__scriptExecutions ?? 0;

const hits = new Map<string, number>();
let server: Server;
let base: string;
let flakyFailures = 0;

beforeAll(async () => {
  installWorkerApi({ '@axiom/runner': runner, '@axiom/experiments': {}, zod });
  server = createServer((req, res) => {
    const path = req.url!.split('?')[0]!;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    switch (path) {
      case '/ok.mjs':
        return res.end(scriptBytes);
      case '/flaky.mjs':
        if (flakyFailures-- > 0) return res.writeHead(500).end('try later');
        return res.end(scriptBytes);
      case '/busy.mjs':
        if (hits.get(path) === 1) return res.writeHead(429, { 'retry-after': '0' }).end();
        return res.end(scriptBytes);
      case '/stall.mjs':
        return; // accept, never answer
      case '/truncated.mjs':
        res.writeHead(200, { 'content-length': String(scriptBytes.length) });
        res.write(scriptBytes.subarray(0, 40));
        return setTimeout(() => res.destroy(), 20);
      case '/resumable.mjs': {
        // Cut short the first time; a Range request gets the rest.
        const from = Number(/^bytes=(\d+)-\d*$/.exec(req.headers.range ?? '')?.[1] ?? 0);
        if (from === 0) {
          res.writeHead(200, { 'content-length': String(scriptBytes.length), etag: '"v1"' });
          res.write(scriptBytes.subarray(0, 40));
          return setTimeout(() => res.destroy(), 20);
        }
        res.writeHead(206, {
          'content-range': `bytes ${from}-${scriptBytes.length - 1}/${scriptBytes.length}`,
          'content-length': String(scriptBytes.length - from),
          etag: '"v1"',
        });
        return res.end(scriptBytes.subarray(from));
      }
      case '/big.mjs':
        return res.end(Buffer.alloc(2048, 32));
      case '/loop':
        return res.writeHead(302, { location: '/loop' }).end();
      case '/hop':
        return res.writeHead(302, { location: `/hop?n=${Number(new URL(req.url!, 'http://x').searchParams.get('n') ?? 0) + 1}` }).end();
      case '/moved.mjs':
        return res.writeHead(301, { location: '/ok.mjs' }).end();
      default:
        return res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const http: HttpPolicy = {
  connectTimeoutMs: 1000,
  headersTimeoutMs: 300,
  bodyTimeoutMs: 300,
  attemptTimeoutMs: 2000,
  retries: 2,
  backoffBaseMs: 10,
  backoffMaxMs: 50,
  maxBytes: 1024,
  maxRedirections: 3,
};
let options: ScriptOptions;
beforeEach(async () => {
  hits.clear();
  options = { cacheDir: await mkdtemp(join(tmpdir(), 'axiom-cache-')), http };
});

async function expectRejected(source: Parameters<typeof loadScriptExperiment>[0], kind: string, message: RegExp, opts = options) {
  const before = executions();
  const error = await loadScriptExperiment(source, opts).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AxiomError);
  expect((error as AxiomError).kind).toBe(kind);
  expect((error as AxiomError).message).toMatch(message);
  expect(executions()).toBe(before); // nothing was executed
  return error as AxiomError;
}

describe('experiment scripts by URL', () => {
  it('fetches, verifies, caches, and loads; a re-run uses the cache without the network', async () => {
    const loaded = await loadScriptExperiment({ url: `${base}/ok.mjs`, sha256: scriptSha }, options);
    expect(loaded.experiment.name).toBe('fetched');
    expect(loaded.provenance).toEqual({ url: `${base}/ok.mjs`, sha256: scriptSha, verification: 'sha256' });
    expect(await readFile(join(options.cacheDir, `${scriptSha}.mjs`))).toEqual(scriptBytes);
    // Offline: the URL is now unreachable, the cache still serves.
    const again = await loadScriptExperiment({ url: 'http://127.0.0.1:9/ok.mjs', sha256: scriptSha }, options);
    expect(again.experiment.version).toBe('2.0.0');
    expect(hits.get('/ok.mjs')).toBe(1);
  });

  it('refetches a corrupt cache entry, with a warning', async () => {
    await writeFile(join(options.cacheDir, `${scriptSha}.mjs`), 'export default 1; // tampered');
    const loaded = await loadScriptExperiment({ url: `${base}/ok.mjs`, sha256: scriptSha }, options);
    expect(loaded.warnings.map((w) => w.code)).toEqual(['script-cache-corrupt']);
    expect(loaded.experiment.name).toBe('fetched');
  });

  it('a 404 is permanent: one request, no retry', async () => {
    const error = await expectRejected({ url: `${base}/gone.mjs`, sha256: scriptSha }, 'scriptUnavailable', /gone\.mjs: HTTP 404/);
    expect(error.transient).toBe(false);
    expect(hits.get('/gone.mjs')).toBe(1);
  });

  it('a 500 is retried with backoff until it succeeds', async () => {
    flakyFailures = 2;
    const loaded = await loadScriptExperiment({ url: `${base}/flaky.mjs`, sha256: scriptSha }, options);
    expect(loaded.experiment.name).toBe('fetched');
    expect(hits.get('/flaky.mjs')).toBe(3);
  });

  it('a 429 with Retry-After is retried', async () => {
    await loadScriptExperiment({ url: `${base}/busy.mjs`, sha256: scriptSha }, options);
    expect(hits.get('/busy.mjs')).toBe(2);
  });

  it('persistent 5xx ends as a transient failure after the bounded retries', async () => {
    flakyFailures = 10;
    const error = await expectRejected({ url: `${base}/flaky.mjs`, sha256: scriptSha }, 'scriptUnavailable', /HTTP 500 \(after 3 attempts\)/);
    expect(error.transient).toBe(true);
    flakyFailures = 0;
  });

  it('a server that stalls times out instead of hanging', async () => {
    const error = await expectRejected({ url: `${base}/stall.mjs`, sha256: scriptSha }, 'scriptUnavailable', /no response within 300 ms \(server stalled\)/);
    expect(error.transient).toBe(true);
  });

  it('a truncated body is resumed with a Range request', async () => {
    const loaded = await loadScriptExperiment({ url: `${base}/resumable.mjs`, sha256: scriptSha }, options);
    expect(loaded.experiment.name).toBe('fetched'); // the two pieces hash to the pinned sha256
    expect(hits.get('/resumable.mjs')).toBe(2);
  });

  it('a truncated body the server cannot resume fails as transient, naming why', async () => {
    const error = await expectRejected(
      { url: `${base}/truncated.mjs`, sha256: scriptSha },
      'scriptUnavailable',
      /truncated\.mjs: the body was cut short and could not be resumed .*\(after 3 attempts\)/,
    );
    expect(error.transient).toBe(true);
    expect(hits.get('/truncated.mjs')).toBe(3); // the first attempt and two Range retries it ignored
  });

  it('a wrong hash is rejected', async () => {
    await expectRejected(
      { url: `${base}/ok.mjs`, sha256: 'a'.repeat(64) },
      'scriptRejected',
      /sha256 mismatch: the workunit expects a{64}, the server sent [0-9a-f]{64}/,
    );
  });

  it('an oversized body is refused', async () => {
    await expectRejected({ url: `${base}/big.mjs`, sha256: scriptSha }, 'scriptUnavailable', /over the 1024-byte cap/);
  });

  it('redirects: a loop is refused, an endless chain is cut at the cap, a single one is followed', async () => {
    const loop = await expectRejected({ url: `${base}/loop`, sha256: scriptSha }, 'scriptUnavailable', /Redirect loop detected/);
    expect(loop.transient).toBe(false);
    await expectRejected({ url: `${base}/hop`, sha256: scriptSha }, 'scriptUnavailable', /still redirected \(HTTP 302\) after 3 redirects/);
    expect(hits.get('/hop')).toBe(4);
    expect((await loadScriptExperiment({ url: `${base}/moved.mjs`, sha256: scriptSha }, options)).experiment.name).toBe('fetched');
  });

  describe('with the project public key configured', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const other = generateKeyPairSync('ed25519');
    const signature = sign(null, scriptBytes, privateKey).toString('base64');
    const signed = () => ({ ...options, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() });

    it('accepts a valid signature and records the signer', async () => {
      const loaded = await loadScriptExperiment({ url: `${base}/ok.mjs`, sha256: scriptSha, signature }, signed());
      expect(loaded.provenance).toMatchObject({ verification: 'sha256+ed25519', signer: expect.stringMatching(/^[0-9a-f]{16}$/) });
    });

    it('rejects a signature by another key, and a missing one', async () => {
      const forged = sign(null, scriptBytes, other.privateKey).toString('base64');
      await expectRejected({ url: `${base}/ok.mjs`, sha256: scriptSha, signature: forged }, 'scriptRejected', /signature does not match/, signed());
      await expectRejected({ url: `${base}/ok.mjs`, sha256: scriptSha }, 'scriptRejected', /carries no signature/, signed());
    });
  });

  it('an unpinned script needs --allow-unverified, which is recorded', async () => {
    await expectRejected({ url: `${base}/ok.mjs` }, 'scriptRejected', /no sha256 given.*--allow-unverified/);
    expect(hits.get('/ok.mjs')).toBeUndefined(); // refused before any request
    const loaded = await loadScriptExperiment({ url: `${base}/ok.mjs` }, { ...options, allowUnverified: true });
    expect(loaded.provenance.verification).toBe('unverified');
    expect(loaded.warnings.map((w) => w.code)).toEqual(['script-unverified']);
  });
});
