import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flushSpool, type HttpPolicy, memoryHost, type Result, runExperiment, uploadOrSpoolResult } from '@axiom/runner/host';
import { type Experiment, Rng } from '@axiom/runner';
import { spoolResult } from '../src/upload.js';
import { builtinExperiments } from '@axiom/experiments';

/**
 * Small bounds so that stalls and retries cost milliseconds, not minutes. A stall ends at the attempt
 * timeout: undici (7.30) did not fire sub-second header timeouts in our runs.
 */
const policy: HttpPolicy = {
  connectTimeoutMs: 1000,
  headersTimeoutMs: 200,
  bodyTimeoutMs: 200,
  attemptTimeoutMs: 250,
  retries: 2,
  backoffBaseMs: 5,
  backoffMaxMs: 20,
  maxBytes: 64 * 1024,
  maxRedirections: 0,
};

/** Real results: memorization-dynamics shrunk to a few milliseconds per run, one run per seed. */
async function realResults(count: number): Promise<Result[]> {
  const experiment = builtinExperiments.get('memorization-dynamics') as Experiment;
  const tiny = { corruptionLevels: [0.2], trainSize: 40, testSize: 40, hidden: [8], epochs: 2 };
  const results: Result[] = [];
  for (let seed = 1; seed <= count; seed++) {
    const host = memoryHost();
    const outcome = await runExperiment({
      experiment,
      paramLayers: [{ origin: 'test', values: tiny }],
      seed: { value: seed, source: 'cli', warnings: [] },
      backend: { forced: 'wasm' },
      host,
    });
    results.push(outcome.result);
  }
  return results;
}

const faults = ['ok', 'ok', 'ok', 'ok', 'error-500', 'error-500', 'stall', 'stall', 'drop', 'drop', 'store-then-drop', 'store-then-drop'] as const;
type Fault = (typeof faults)[number];

/**
 * A collection server that stores results by idempotency key and, drawing from a seeded stream, answers
 * 500, stalls past the client's timeout, or drops the connection before or after storing.
 */
class FlakyCollector {
  readonly stored = new Map<string, unknown>();
  readonly faultsSeen = new Map<Fault, number>();
  /** POSTs whose key was already stored: retries the idempotency key turned into no-ops. */
  repeatedKeys = 0;
  private readonly draw = new Rng(20261125);
  private server?: Server;

  async start(): Promise<string> {
    this.server = createServer((request, response) => void this.handle(request).then((reply) => reply(response)));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/results`;
  }

  stop(): void {
    this.server?.closeAllConnections();
    this.server?.close();
  }

  private async handle(request: IncomingMessage): Promise<(response: ServerResponse) => void> {
    let body = '';
    for await (const chunk of request) body += chunk;
    const key = request.headers['idempotency-key'];
    if (request.method !== 'POST' || typeof key !== 'string' || (JSON.parse(body) as Result).resultId !== key) {
      return (response) => response.writeHead(400).end('expected a POST of a result with its resultId as Idempotency-Key');
    }
    const fault = faults[this.draw.int(faults.length)]!;
    this.faultsSeen.set(fault, (this.faultsSeen.get(fault) ?? 0) + 1);
    const store = () => {
      if (this.stored.has(key)) this.repeatedKeys++;
      else this.stored.set(key, JSON.parse(body));
    };
    switch (fault) {
      case 'ok':
        store();
        return (response) => response.writeHead(201).end();
      case 'error-500':
        return (response) => response.writeHead(500).end('try later');
      case 'stall':
        return () => {}; // never answers: the client's timeout ends the attempt
      case 'drop':
        return (response) => response.socket?.destroy();
      case 'store-then-drop':
        store();
        return (response) => response.socket?.destroy(); // stored, but the client never hears so and retries
    }
  }
}

const spooledNames = async (dir: string) => (await readdir(dir).catch(() => [])).filter((name) => name.endsWith('.json'));

describe('upload with idempotency key and spool', () => {
  const collector = new FlakyCollector();
  let url: string;
  beforeAll(async () => {
    url = await collector.start();
  });
  afterAll(() => collector.stop());

  it('delivers every result exactly once through 500s, stalls and dropped connections, spooling what fails and flushing it later', async () => {
    const results = await realResults(16);
    const spool = await mkdtemp(join(tmpdir(), 'axiom-spool-'));

    const outcomes = [];
    for (const result of results) outcomes.push(await uploadOrSpoolResult(url, result, spool, policy));
    const spooled = outcomes.filter((outcome) => !outcome.delivered);
    expect(spooled.length).toBeGreaterThan(0); // the pattern defeats the retries for some results
    expect(await spooledNames(spool)).toHaveLength(spooled.length);

    // The server stays flaky: flush until the spool is empty, as a cron job would (bounded here).
    for (let round = 0; round < 20 && (await spooledNames(spool)).length > 0; round++) await flushSpool(spool, url, policy);

    expect(await spooledNames(spool)).toEqual([]);
    expect([...collector.stored.keys()].sort()).toEqual(results.map((r) => r.resultId).sort());
    for (const result of results) expect(collector.stored.get(result.resultId)).toEqual(result);
    // Every kind of failure happened, and some retries reached a server that had already stored the result.
    for (const fault of faults) expect(collector.faultsSeen.get(fault), fault).toBeGreaterThan(0);
    expect(collector.repeatedKeys).toBeGreaterThan(0);
  });

  it('spooling the same result twice keeps one file', async () => {
    const [result] = await realResults(1);
    const spool = await mkdtemp(join(tmpdir(), 'axiom-spool-'));
    await spoolResult(spool, result!);
    await spoolResult(spool, result!);
    expect(await spooledNames(spool)).toEqual([`${result!.resultId}.json`]);
  });
});

describe('flushSpool keeps what it could not deliver', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((request, response) => {
      request.resume();
      request.on('end', () => response.writeHead(request.url === '/accept' ? 200 : 422).end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server.close());

  it('keeps refused (4xx) and unreadable files, ignores half-written temporary files, and deletes only after a 2xx', async () => {
    const results = await realResults(2);
    const spool = await mkdtemp(join(tmpdir(), 'axiom-spool-'));
    for (const result of results) await spoolResult(spool, result);
    await writeFile(join(spool, 'broken.json'), '{"resultId": ');
    await writeFile(join(spool, `${results[0]!.resultId}.json.1234567`), '{"half'); // a crash during an atomic write

    const refused = await flushSpool(spool, `${base}/reject`, policy);
    expect(refused.delivered).toEqual([]);
    const reasons = refused.kept.map((entry) => entry.reason);
    expect(reasons.filter((reason) => reason.includes('HTTP 422'))).toHaveLength(2);
    expect(reasons.filter((reason) => reason.includes('JSON'))).toHaveLength(1);
    expect(await spooledNames(spool)).toHaveLength(3);

    const accepted = await flushSpool(spool, `${base}/accept`, policy);
    expect(accepted.delivered.sort()).toEqual(results.map((r) => r.resultId).sort());
    expect(accepted.kept).toEqual([{ file: join(spool, 'broken.json'), reason: expect.stringMatching(/JSON/) }]);
    expect(await spooledNames(spool)).toEqual(['broken.json']);
  });

  it('stops at a server that stays unreachable and leaves every file in place', async () => {
    const results = await realResults(2);
    const spool = await mkdtemp(join(tmpdir(), 'axiom-spool-'));
    for (const result of results) await spoolResult(spool, result);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/results`;
    await new Promise((resolve) => closed.close(resolve));

    const report = await flushSpool(spool, deadUrl, policy);
    expect(report.delivered).toEqual([]);
    expect(report.kept).toHaveLength(1);
    expect(report.kept[0]!.reason).toMatch(/ECONNREFUSED.*after 3 attempts/);
    expect(report.notAttempted).toHaveLength(1);
    expect(await spooledNames(spool)).toHaveLength(2);
  });
});
