import { describe, expect, it } from 'vitest';
import { AxiomError, parseExplicitSeed, resolveSeed } from '@axiom/runner/host';
import { deriveSeed, Rng } from '@axiom/runner';

describe('seed resolution without wu.json', () => {
  it('with no seed anywhere, the fallback is named and two fallbacks differ', () => {
    const a = resolveSeed({});
    const b = resolveSeed({});
    expect(a.warnings.map((w) => w.code)).toEqual(['seed-crypto-fallback']);
    expect(a.value).not.toBe(b.value);
    expect(() => resolveSeed({ requireSeed: true })).toThrowError(/--require-seed/);
  });

  it('rejects bad explicit seeds instead of falling back', () => {
    expect(parseExplicitSeed(' 42 ', '--seed')).toBe(42);
    for (const bad of ['-1', '1.5', 'abc', '4294967296', '']) expect(() => parseExplicitSeed(bad, '--seed')).toThrowError(AxiomError);
  });
});

describe('derived seeds', () => {
  it('follow the documented scheme exactly (a change here changes every result)', () => {
    expect(deriveSeed(42, 'unit', 'a')).toBe(deriveSeed(42, 'unit', 'a'));
    expect([deriveSeed(42, 'unit', 'a'), deriveSeed(42, 'unit', 'b'), deriveSeed(43, 'unit', 'a')]).toEqual([
      ...new Set([deriveSeed(42, 'unit', 'a'), deriveSeed(42, 'unit', 'b'), deriveSeed(43, 'unit', 'a')]),
    ]);
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
