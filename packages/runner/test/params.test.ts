import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AxiomError, resolveParams } from '@axiom/runner/host';

const schema = z.strictObject({
  epochs: z.number().int().min(1).default(10),
  widths: z.array(z.number().int().positive()).default([32, 64]),
  optimizer: z.enum(['sgd', 'adam']).default('adam'),
});
const presets = { smoke: { epochs: 1 } };

describe('parameters', () => {
  it('are the defaults, then the preset, then each layer in order', () => {
    expect(resolveParams(schema, presets, undefined, []).params).toEqual({ epochs: 10, widths: [32, 64], optimizer: 'adam' });
    expect(resolveParams(schema, presets, 'smoke', []).params.epochs).toBe(1);
    const layered = resolveParams(schema, presets, 'smoke', [
      { origin: 'wu.json params', values: { epochs: 3, optimizer: 'sgd' } },
      { origin: '--params', values: { epochs: 4 } },
    ]);
    expect(layered.params).toEqual({ epochs: 4, widths: [32, 64], optimizer: 'sgd' });
  });

  it('reject a misspelt field by name, listing the allowed ones', () => {
    const attempt = () => resolveParams(schema, presets, undefined, [{ origin: '--params', values: { epoch: 3 } }]);
    expect(attempt).toThrowError(AxiomError);
    expect(attempt).toThrowError('invalid params (from --params): params: unknown field "epoch" (allowed: epochs, widths, optimizer)');
  });

  it('name the path and the allowed values of a bad value', () => {
    expect(() => resolveParams(schema, presets, undefined, [{ origin: '--params', values: { widths: [32, -1] } }])).toThrowError(/params\.widths\[1\]/);
    expect(() => resolveParams(schema, presets, undefined, [{ origin: '--params', values: { optimizer: 'rmsprop' } }])).toThrowError(
      /params\.optimizer: .*"sgd"\|"adam"/,
    );
  });

  it('reject an unknown preset, listing the available ones', () => {
    expect(() => resolveParams(schema, presets, 'full', [])).toThrowError('unknown preset "full" (available: smoke)');
  });
});
