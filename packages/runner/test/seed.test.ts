import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { AxiomError, deriveSeed, loadWorkunitFile, resolveSeed, Rng, parseExplicitSeed } from '@axiom/runner';

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

  it('with no seed anywhere, the fallback is named and two fallbacks differ', () => {
    const a = resolveSeed({});
    const b = resolveSeed({});
    expect(a.warnings.map((w) => w.code)).toEqual(['seed-crypto-fallback']);
    expect(a.value).not.toBe(b.value);
    expect(() => resolveSeed({ requireSeed: true })).toThrowError(/--require-seed/);
  });

  it('a wu.json whose other fields are wrong is an error naming the field', async () => {
    const path = await wu('{"experiment":"memorization-dynamics","seed":1,"replicat":2}');
    await expect(loadWorkunitFile(path)).rejects.toThrowError(/unknown field "replicat" \(allowed: experiment, preset, params, replicate, deadlineSeconds\)/);
  });

  it('rejects bad explicit seeds instead of falling back', () => {
    expect(parseExplicitSeed(' 42 ', '--seed')).toBe(42);
    for (const bad of ['-1', '1.5', 'abc', '4294967296', '']) expect(() => parseExplicitSeed(bad, '--seed')).toThrowError(AxiomError);
  });
});

describe('derived seeds', () => {
  it('follow the documented scheme exactly (a change here changes every result)', () => {
    expect(deriveSeed(42, 'unit', 'a')).toBe(deriveSeed(42, 'unit', 'a'));
    expect([deriveSeed(42, 'unit', 'a'), deriveSeed(42, 'unit', 'b'), deriveSeed(43, 'unit', 'a')]).toEqual(
      [...new Set([deriveSeed(42, 'unit', 'a'), deriveSeed(42, 'unit', 'b'), deriveSeed(43, 'unit', 'a')])],
    );
    // SHA-256("axiom-seed-v1\0" + "42\0unit\0a"), first four bytes big-endian.
    expect(deriveSeed(42, 'unit', 'a')).toBe(0x7ac7da18);
  });

  it('give reproducible, independent streams', () => {
    const a = new Rng(deriveSeed(7, 'data'));
    const b = new Rng(deriveSeed(7, 'data'));
    const c = new Rng(deriveSeed(7, 'init'));
    const draw = (rng: Rng) => Array.from({ length: 5 }, () => rng.next());
    const first = draw(a);
    expect(draw(b)).toEqual(first);
    expect(draw(c)).not.toEqual(first);
    const permutation = new Rng(1).permutation(100);
    expect([...permutation].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});
