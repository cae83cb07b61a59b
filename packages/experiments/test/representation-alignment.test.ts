import { describe, expect, it } from 'vitest';
import { runSmoke } from './helpers.js';

describe('representation-alignment', () => {
  it('reproduces the known result on a small configuration: CKA between independently trained networks grows with width', async () => {
    const result = await runSmoke('representation-alignment');

    const byWidth = result.metrics.byWidth as Record<string, { cka: number; ckaByLayer: number[] }>;
    expect(byWidth['256']!.cka).toBeGreaterThan(byWidth['32']!.cka + 0.1);
    expect(byWidth['256']!.cka).toBeGreaterThan(0.7);
    expect(result.metrics.ckaWidestAboveNarrowest).toBe(true);
    // CKA per hidden layer, each in [0, 1].
    for (const unit of result.units) {
      const perLayer = unit.metrics.ckaByLayer as number[];
      expect(perLayer).toHaveLength(2);
      perLayer.forEach((cka) => expect(cka).toBeGreaterThan(0) && expect(cka).toBeLessThanOrEqual(1));
    }
  });
});
