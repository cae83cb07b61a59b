import { z } from 'zod';
import { defineExperiment, type Experiment } from '@axiom/runner';
import { type RunnerHost } from '../src/host.js';
import { type RunRequest } from '@axiom/runner/host';

/** A small real computation: per unit, a seeded random matrix through a few tfjs ops. */
export const tiny = defineExperiment({
  name: 'tiny',
  version: '1',
  description: 'test experiment',
  params: z.strictObject({ units: z.number().int().default(3), steps: z.number().int().default(5) }),
  presets: { smoke: { units: 2 } },
  async run(ctx) {
    const units = Array.from({ length: ctx.params.units }, (_, i) => ({ key: `u${i}`, config: { index: i } }));
    const results = await ctx.sweep(units, async (unit, session) => {
      const rng = unit.rng('values');
      const values = Float32Array.from({ length: 16 }, () => rng.normal());
      const curve: number[] = [];
      for (let step = 0; step < ctx.params.steps; step++) {
        curve.push(ctx.tf.tidy(() => ctx.tf.sum(ctx.tf.matMul(ctx.tf.tensor2d(values, [4, 4]), ctx.tf.scalar(step + 1).mul(ctx.tf.eye(4)))).dataSync()[0]!));
        await ctx.tick();
        session.progress((step + 1) / ctx.params.steps);
      }
      return { metrics: { last: curve.at(-1)! }, curves: { curve } };
    });
    return { total: results.reduce((sum, r) => sum + (r.metrics.last as number), 0) };
  },
});

export function request(host: RunnerHost, extra: Partial<RunRequest> = {}): RunRequest {
  return { experiment: tiny as unknown as Experiment, seed: { value: 11, source: 'cli', warnings: [] }, backend: { forced: 'wasm' }, host, ...extra };
}
