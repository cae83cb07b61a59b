import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AxiomError, type Checkpoint, fileCheckpointStore, type HttpPolicy, memoryHost, resultSchema, runExperiment } from '@axiom/runner/host';
import { encodeCheckpoint } from '../src/checkpoint-file.js';
import { experimentFromModule } from '../src/experiment.js';
import { HttpError, httpRequest } from '../src/http.js';
import { request, tiny } from './tiny-experiment.js';

/**
 * Property tests over every input the worker reads. Each input must end in a documented outcome: a
 * value, or an AxiomError/HttpError of the documented kind whose message names the problem. Any other
 * exception (TypeError, RangeError, …) is a crash and fails the property. AXIOM_FUZZ_SCALE=N multiplies the runs.
 */
const runs = (base: number) => base * Number(process.env.AXIOM_FUZZ_SCALE ?? 1);

/** Fails unless `error` is an AxiomError of one of `kinds` with a one-line message. */
function expectDocumentedError(error: unknown, kinds: readonly string[]): void {
  if (!(error instanceof AxiomError)) throw new Error(`crash instead of a documented error: ${(error as Error)?.stack ?? String(error)}`);
  expect(kinds).toContain(error.kind);
  expect(error.message.length).toBeGreaterThan(10);
}

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'axiom-fuzz-'));
});

let fileCounter = 0;
async function scratchFile(contents: string | Uint8Array): Promise<string> {
  const path = join(scratch, `input-${fileCounter++}`);
  await writeFile(path, contents);
  return path;
}

describe('fuzz: checkpoint files (fileCheckpointStore + runExperiment restore)', () => {
  let valid: Checkpoint;
  let validBytes: Buffer;
  let reference: string;
  beforeAll(async () => {
    reference = (await runExperiment(request(memoryHost(), { backend: { forced: 'cpu' } }))).result.digest;
    // A checkpoint as a stopped run leaves it: two of three units done.
    const host = memoryHost({}, { checkpointPeriodSeconds: 0 });
    host.progress = (update) => update.unitsDone === 2 && host.abort.abort();
    await runExperiment(request(host, { backend: { forced: 'cpu' } }));
    valid = host.stored.checkpoint!;
    validBytes = encodeCheckpoint(valid);
  });

  /** Replaces the value at a random path of a value with `replacement`. */
  const mutateAt = (value: unknown, choices: number[], replacement: unknown): unknown => {
    if (typeof value !== 'object' || value === null || choices.length === 0) return replacement;
    const keys = Object.keys(value);
    if (keys.length === 0) return replacement;
    const key = keys[choices[0]! % keys.length]!;
    const copy: Record<string, unknown> = Array.isArray(value) ? ([...value] as unknown as Record<string, unknown>) : { ...value };
    copy[key] = mutateAt((value as Record<string, unknown>)[key], choices.slice(1), replacement);
    return copy;
  };
  const restoreFrom = async (bytes: Uint8Array) => {
    const store = fileCheckpointStore(await scratchFile(bytes));
    return runExperiment(request({ ...memoryHost(), checkpoints: store }, { backend: { forced: 'cpu' } })).catch((error: unknown) => {
      expectDocumentedError(error, ['badCheckpoint']);
    });
  };

  it('refuses a torn, bit-flipped or foreign file with badCheckpoint (exit 7); restores the untouched one to the same digest', async () => {
    const damaged = fc.oneof(
      fc.nat().map((cut) => validBytes.subarray(0, cut % validBytes.length)), // a torn write
      fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })).map(([at, bits]) => {
        const flipped = Buffer.from(validBytes);
        flipped[at % flipped.length]! ^= bits;
        return flipped;
      }),
      fc.uint8Array({ maxLength: 4096 }),
      fc.string().map((text) => Buffer.from(text)),
    );
    let restored = 0;
    await fc.assert(
      fc.asyncProperty(damaged, async (bytes) => {
        const outcome = await restoreFrom(bytes);
        if (!outcome) return;
        expect(Buffer.compare(Buffer.from(bytes), validBytes), 'a damaged checkpoint was taken').toBe(0);
        restored++;
        expect(outcome.result.digest).toBe(reference);
      }),
      // The untouched checkpoint always runs first, so the restore path is exercised on every seed.
      { numRuns: runs(150), examples: [[validBytes]] },
    );
    expect(restored).toBeGreaterThan(0);
  });

  it('a well-formed file with wrong contents: restores, or stops with badCheckpoint naming the problem; never a crash', async () => {
    const wrong = fc.oneof(
      fc.tuple(fc.array(fc.nat(), { maxLength: 6 }), fc.jsonValue()).map(([path, replacement]) => mutateAt(valid, path, replacement)),
      fc.integer({ min: -3, max: 5 }).map((formatVersion) => ({ ...valid, formatVersion })),
      fc.jsonValue(),
    );
    await fc.assert(
      fc.asyncProperty(wrong, async (contents) => {
        const outcome = await restoreFrom(encodeCheckpoint(contents as Checkpoint));
        if (outcome) resultSchema.parse(outcome.result);
      }),
      { numRuns: runs(150) },
    );
  });
});

describe("fuzz: a fetched script's exports (experimentFromModule)", () => {
  const field = fc.oneof(
    fc.anything(),
    fc.constant(z.object({})),
    fc.constant(async () => ({})),
    fc.constant('a-name'),
  );
  const exports = fc.oneof(
    fc.anything(),
    fc.record({ default: fc.anything() }),
    fc.record({
      default: fc.record(
        { name: field, version: field, description: field, params: field, presets: fc.oneof(field, fc.record({ smoke: fc.anything() })), run: field },
        { requiredKeys: [] },
      ),
    }),
    fc.record({ default: fc.record({ presets: fc.dictionary(fc.string(), fc.anything()) }) }).map(({ default: d }) => ({ default: { ...tiny, ...d } })),
  );
  it('accepts an experiment or rejects the module as unknownExperiment (exit 4), naming what is wrong', () => {
    fc.assert(
      fc.property(exports, (module) => {
        try {
          const experiment = experimentFromModule(module, 'https://example.org/x.mjs');
          expect(typeof experiment.run).toBe('function');
        } catch (error) {
          expectDocumentedError(error, ['unknownExperiment']);
          expect((error as Error).message).toContain('https://example.org/x.mjs');
        }
      }),
      { numRuns: runs(1000) },
    );
  });
});

describe('fuzz: HTTP responses (httpRequest)', () => {
  /** What the test server does with the next request. */
  interface Behaviour {
    status: number;
    headers: Record<string, string>;
    body: Uint8Array;
    /** Declare a longer body than is sent, then close: a truncated response. */
    truncate: boolean;
    /** Declare a longer body than is sent, then go silent. */
    stall: boolean;
  }
  let behaviour: Behaviour;
  let server: Server;
  let url: string;
  const policy: HttpPolicy = {
    connectTimeoutMs: 300,
    headersTimeoutMs: 100,
    bodyTimeoutMs: 100,
    attemptTimeoutMs: 400,
    retries: 1,
    backoffBaseMs: 1,
    backoffMaxMs: 5,
    maxBytes: 4096,
    maxRedirections: 2,
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const { status, headers, body, truncate, stall } = behaviour;
      // Truncated or stalled: the body is shorter than declared, then the connection closes or idles.
      const declared = body.length + (truncate || stall ? 10 : 0);
      try {
        res.writeHead(status, { ...headers, 'content-length': String(declared) });
      } catch {
        res.writeHead(status, { 'content-length': String(declared) }); // headers node itself refuses to send
      }
      res.write(body);
      if (stall) return;
      if (truncate) res.destroy();
      else res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/script.mjs`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  const headerName = fc.constantFrom('retry-after', 'location', 'content-type', 'content-encoding', 'transfer-encoding', 'x-anything');
  const headerValue = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.nat().map(String),
    fc.constant('/script.mjs'),
    fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()),
  );
  const behaviours = fc.record({
    status: fc.oneof(fc.constantFrom(200, 204, 301, 302, 304, 307, 400, 404, 429, 500, 503), fc.integer({ min: 100, max: 599 })),
    headers: fc.dictionary(headerName, headerValue, { maxKeys: 3 }),
    body: fc.uint8Array({ maxLength: 6000 }),
    truncate: fc.boolean(),
    stall: fc.boolean(),
  });

  it('ends every exchange in a response or an HttpError within its time bounds, never a hang or crash', async () => {
    const worstCaseMs = (policy.retries + 1) * (policy.attemptTimeoutMs + policy.backoffMaxMs) + 500;
    await fc.assert(
      fc.asyncProperty(behaviours, async (next) => {
        behaviour = next;
        const started = Date.now();
        try {
          const response = await httpRequest(url, {}, policy);
          expect(response.status).toBeGreaterThanOrEqual(200);
          expect(response.status).toBeLessThan(300);
          expect(response.body.length).toBeLessThanOrEqual(policy.maxBytes);
          if (next.status !== 204) expect(next.truncate || next.stall).toBe(false); // node sends no body with a 204
        } catch (error) {
          if (!(error instanceof HttpError)) throw new Error(`crash instead of HttpError: ${(error as Error)?.stack ?? String(error)}`, { cause: error });
          expect(error.message).toContain(url.slice(0, 20));
        }
        expect(Date.now() - started).toBeLessThan(worstCaseMs);
      }),
      { numRuns: runs(30) },
    );
  });
});
