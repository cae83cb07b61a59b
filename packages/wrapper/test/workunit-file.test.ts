import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { AxiomError, resolveSeed, uint32Schema } from '@axiom/runner/host';
import { loadWorkunitFile, resolveLinkFile } from '@axiom/wrapper';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'axiom-seed-'));
});

async function wu(content: string, name = 'wu.json'): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

describe('seed resolution from wu.json', () => {
  it('takes a valid seed with source wu.json and no warning', async () => {
    const seed = resolveSeed({ workunit: await loadWorkunitFile(await wu('{"experiment":"memorization-dynamics","seed":1234}')) });
    expect(seed).toEqual({ value: 1234, source: 'wu.json', warnings: [] });
  });

  it('follows a BOINC link file instead of parsing it as JSON', async () => {
    await mkdir(join(dir, 'projects'));
    await writeFile(join(dir, 'projects', 'wu_123.json'), '{"experiment":"memorization-dynamics","seed":77}');
    const link = await wu('<soft_link>projects/wu_123.json</soft_link>\n');
    const file = await loadWorkunitFile(link);
    expect(file.resolvedPath).toBe(join(dir, 'projects', 'wu_123.json'));
    expect(resolveSeed({ workunit: file })).toMatchObject({ value: 77, source: 'wu.json', warnings: [] });
  });

  const broken: Array<[string, string | undefined, string]> = [
    ['missing', undefined, 'wu-missing'],
    ['empty (0 bytes)', '', 'wu-empty'],
    ['a link to a missing file', '<soft_link>projects/gone.json</soft_link>', 'wu-link-broken'],
    ['invalid JSON', '{"seed": 12', 'wu-invalid-json'],
    ['not an object', '[1,2]', 'wu-invalid-json'],
    ['without a seed', '{"experiment":"memorization-dynamics"}', 'wu-seed-missing'],
    ['with a negative seed', '{"experiment":"memorization-dynamics","seed":-1}', 'wu-seed-invalid'],
    ['with a fractional seed', '{"experiment":"memorization-dynamics","seed":1.5}', 'wu-seed-invalid'],
    ['with a seed above 2^32-1', '{"experiment":"memorization-dynamics","seed":4294967296}', 'wu-seed-invalid'],
    ['with a string seed', '{"experiment":"memorization-dynamics","seed":"42"}', 'wu-seed-invalid'],
  ];

  it.each(broken)('a wu.json that is %s falls back to crypto with a named warning, never silently', async (_, content, code) => {
    const path = content === undefined ? join(dir, 'wu.json') : await wu(content);
    const seed = resolveSeed({ workunit: await loadWorkunitFile(path) });
    expect(seed.source).toBe('crypto-fallback');
    expect(seed.warnings.map((w) => w.code)).toEqual([code, 'seed-crypto-fallback']);
    expect(seed.fallbackReason).toBe(seed.warnings[0]!.message);
    expect(seed.warnings[1]!.message).toContain(String(seed.value));
  });

  it.each(broken)('under --require-seed, a wu.json that is %s is an error naming the problem', async (_, content, code) => {
    const path = content === undefined ? join(dir, 'wu.json') : await wu(content);
    const workunit = await loadWorkunitFile(path);
    const attempt = () => resolveSeed({ workunit, requireSeed: true });
    expect(attempt).toThrowError(AxiomError);
    expect(attempt).toThrowError(code);
  });

  it('an explicit seed wins, but a broken wu.json is still reported', async () => {
    const seed = resolveSeed({ explicit: { value: 5, source: 'cli' }, workunit: await loadWorkunitFile(await wu('')) });
    expect(seed).toMatchObject({ value: 5, source: 'cli' });
    expect(seed.warnings.map((w) => w.code)).toEqual(['wu-empty']);
  });

  it('a wu.json whose other fields are wrong is an error naming the field', async () => {
    const path = await wu('{"experiment":"memorization-dynamics","seed":1,"replicat":2}');
    await expect(loadWorkunitFile(path)).rejects.toThrowError(/unknown field "replicat" \(allowed: experiment, preset, params, replicate, deadlineSeconds\)/);
  });
});

/** Property tests: every wu.json ends in a seed, a named fallback, or a documented error. AXIOM_FUZZ_SCALE=N multiplies the runs. */
const runs = (base: number) => base * Number(process.env.AXIOM_FUZZ_SCALE ?? 1);

/** Fails unless `error` is an AxiomError of one of `kinds` with a one-line message. */
function expectDocumentedError(error: unknown, kinds: readonly string[]): void {
  if (!(error instanceof AxiomError)) throw new Error(`crash instead of a documented error: ${(error as Error)?.stack ?? String(error)}`);
  expect(kinds).toContain(error.kind);
  expect(error.message.length).toBeGreaterThan(10);
}

let fileCounter = 0;
const scratchFile = (contents: string) => wu(contents, `input-${fileCounter++}`);

const validWorkunit = { experiment: 'memorization-dynamics', seed: 7, preset: 'smoke', params: { epochs: 2 }, replicate: 0, deadlineSeconds: 60 };
/** Valid workunits with one field replaced or removed, arbitrary JSON, and arbitrary text. */
const workunitText = fc.oneof(
  fc
    .record({ key: fc.constantFrom(...Object.keys(validWorkunit), 'extra', '__proto__'), value: fc.option(fc.jsonValue(), { nil: undefined }) })
    .map(({ key, value }) => {
      const copy: Record<string, unknown> = { ...validWorkunit };
      if (value === undefined) delete copy[key];
      else copy[key] = value;
      return JSON.stringify(copy);
    }),
  fc
    .record({ seed: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null), fc.bigInt().map(String)) })
    .map(({ seed }) => JSON.stringify({ ...validWorkunit, seed })),
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc.string(),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
);

describe('fuzz: wu.json (loadWorkunitFile + resolveSeed)', () => {
  it('yields a uint32 seed from the file, a named fallback warning, or a badWorkunit error; never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(workunitText, fc.boolean(), async (text, requireSeed) => {
        const path = await scratchFile(text);
        let workunit;
        try {
          workunit = await loadWorkunitFile(path);
        } catch (error) {
          return expectDocumentedError(error, ['badWorkunit']);
        }
        let seed;
        try {
          seed = resolveSeed({ workunit, requireSeed });
        } catch (error) {
          expect(requireSeed).toBe(true);
          return expectDocumentedError(error, ['badWorkunit']);
        }
        expect(uint32Schema.safeParse(seed.value).success).toBe(true);
        if (seed.source === 'wu.json') {
          expect(workunit.body).toBeDefined();
          expect(seed.value).toBe(workunit.seed);
        } else {
          // Never a silent default: the fallback names why.
          expect(seed.warnings.map((w) => w.code)).toContain('seed-crypto-fallback');
          expect(seed.warnings.length).toBeGreaterThanOrEqual(2);
        }
      }),
      { numRuns: runs(300) },
    );
  });
});

describe('fuzz: BOINC link files (resolveLinkFile)', () => {
  it('resolves any file to a path, following only a well-formed <soft_link>', async () => {
    const content = fc.oneof(
      fc.string().map((target) => `<soft_link>${target}</soft_link>`),
      fc.tuple(fc.string({ maxLength: 8 }), fc.string()).map(([prefix, target]) => `${prefix}<soft_link>${target}`),
      fc.string(),
    );
    await fc.assert(
      fc.asyncProperty(content, async (text) => {
        const path = await scratchFile(text);
        const resolved = await resolveLinkFile(path);
        expect(typeof resolved).toBe('string');
        if (!/^\s*<soft_link>[^<]*<\/soft_link>/.test(text)) expect(resolved).toBe(path);
        // Whatever it points at, reading through it is a documented outcome.
        await loadWorkunitFile(path).catch((error: unknown) => expectDocumentedError(error, ['badWorkunit']));
      }),
      { numRuns: runs(300) },
    );
  });
});
