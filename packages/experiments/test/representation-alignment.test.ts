import { describe, expect, it } from 'vitest';
import { runSmoke } from './helpers.js';

describe('representation-alignment', () => {
  it('reproduces the known result on a small configuration: CKA between independently trained networks grows with width', async () => {
    const result = await runSmoke('representation-alignment');

    const byWidth = result.metrics.byWidth as Record<string, { cka: number; ckaByLayer: number[] }>;
    expect(byWidth['256']!.cka).toBeGreaterThan(byWidth['32']!.cka + 0.1);
    expect(byWidth['256']!.cka).toBeGreaterThan(0.7);
    expect(result.metrics.ckaWidestAboveNarrowest).toBe(true);
    // The networks were trained: every one classifies far above chance (0.1 for 10 classes), and
    // training moved each pair's CKA away from its value at initialisation, raising the widest's last layer.
    for (const unit of result.units) {
      const { testAccuracy, ckaByLayer, ckaAtInitByLayer } = unit.metrics as { testAccuracy: number[]; ckaByLayer: number[]; ckaAtInitByLayer: number[] };
      testAccuracy.forEach((value) => expect(value, unit.key).toBeGreaterThan(0.2));
      ckaByLayer.forEach((cka, layer) => expect(Math.abs(cka - ckaAtInitByLayer[layer]!), `${unit.key} layer ${layer}`).toBeGreaterThan(1e-4));
    }
    const widest = result.units.find((unit) => unit.config.width === 256)!.metrics as { ckaByLayer: number[]; ckaAtInitByLayer: number[] };
    expect(widest.ckaByLayer[1]! - widest.ckaAtInitByLayer[1]!).toBeGreaterThan(0.05);
    // The control: the same trend at initialisation, and the gain from training, per width and overall.
    const table = result.metrics.byWidth as Record<string, { cka: number; ckaAtInit: number; gainFromTraining: number }>;
    for (const width of ['32', '256']) expect(table[width]!.gainFromTraining).toBeCloseTo(table[width]!.cka - table[width]!.ckaAtInit, 12);
    const { ckaRiseWithWidth, ckaRiseWithWidthAtInit, shareOfRisePresentAtInit } = result.metrics as Record<string, number>;
    expect(ckaRiseWithWidth).toBeCloseTo(table['256']!.cka - table['32']!.cka, 12);
    expect(ckaRiseWithWidthAtInit).toBeCloseTo(table['256']!.ckaAtInit - table['32']!.ckaAtInit, 12);
    expect(shareOfRisePresentAtInit).toBeCloseTo(ckaRiseWithWidthAtInit / ckaRiseWithWidth, 12);
    expect(result.metrics.riseMostlyPresentAtInit).toBe(shareOfRisePresentAtInit > 0.5);
    // CKA per hidden layer, each in [0, 1].
    for (const unit of result.units) {
      const perLayer = unit.metrics.ckaByLayer as number[];
      expect(perLayer).toHaveLength(2);
      perLayer.forEach((cka) => expect(cka).toBeGreaterThan(0) && expect(cka).toBeLessThanOrEqual(1));
    }
  });
});
