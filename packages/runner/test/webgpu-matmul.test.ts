import { describe, expect, it } from 'vitest';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { initBackend, listAdapters } from '@axiom/runner/host';
import { Rng, type Tf } from '@axiom/runner';
import { WEBGPU_MATMUL_BOUNDS_PATCH } from '../src/webgpu-matmul.js';

// Batched products whose inner dimension K is not a multiple of the kernels' tiles, as a stack of networks
// issues them: the inputs' 20 columns, a rank-2 input broadcast against every member's weights, Xᵀ·dY over a
// batch of 4 rows, dY·Wᵀ, and shapes that take the other matMul programs.
const cases = [
  { a: [3, 6, 20], b: [3, 20, 8] },
  { a: [6, 20], b: [3, 20, 8] },
  { a: [3, 4, 6], b: [3, 4, 8], transposeA: true },
  { a: [3, 6, 20], b: [3, 8, 20], transposeB: true },
  { a: [3, 6, 5], b: [3, 5, 40] },
  { a: [3, 40, 5], b: [3, 5, 8] },
];

/** Each case's product, its last batch's B all NaN (a member that diverged), from a fixed random stream. */
async function products(tf: Tf): Promise<Float32Array[]> {
  const rng = new Rng(5);
  const results: Float32Array[] = [];
  for (const { a, b, transposeA = false, transposeB = false } of cases) {
    const random = (shape: number[]) => Float32Array.from({ length: shape.reduce((x, y) => x * y) }, () => rng.normal());
    const bValues = random(b);
    bValues.fill(NaN, bValues.length - b.at(-1)! * b.at(-2)!);
    const product = tf.tidy(() => tf.matMul(tf.tensor(random(a), a), tf.tensor(bValues, b), transposeA, transposeB));
    results.push((await product.data()) as Float32Array);
    product.dispose();
  }
  return results;
}

/** The product's batches before the last (the members whose own weights are finite). */
const leadingBatches = (values: Float32Array) => Array.from(values.subarray(0, (values.length * 2) / 3));

// Real Dawn on lavapipe, as the backend tests.
describe('WebGPU matmul bounds patch', () => {
  it("keeps a batch's non-finite B out of the other batches' products, which match the plain JS backend's", async () => {
    const software = (await listAdapters()).find((listed) => listed.info.software);
    if (!software) throw new Error('no software WebGPU adapter: install mesa-vulkan-drivers from bookworm-backports (.ci/install-lavapipe)');
    const { tf, info } = await initBackend({ forced: 'webgpu', gpu: { source: 'cli', device: software.info.index } });
    expect(info.patches).toEqual([WEBGPU_MATMUL_BOUNDS_PATCH]);
    const before = tf.memory().numTensors;
    const patched = await products(tf);
    expect(tf.memory().numTensors).toBe(before);

    // The stock kernel on the same device: every case's NaN reaches batches before the last.
    tf.registerBackend('webgpu-stock', () => new WebGPUBackend((tf.backend() as WebGPUBackend).device));
    await tf.setBackend('webgpu-stock');
    const stock = await products(tf);
    tf.removeBackend('webgpu-stock');
    await initBackend({ forced: 'cpu' });
    const reference = await products(tf);

    stock.forEach((values, i) => expect(leadingBatches(values).some(Number.isNaN), `case ${i}: the stock kernel leaks NaN`).toBe(true));
    reference.forEach((expected, i) => {
      expect(leadingBatches(expected).every(Number.isFinite), `case ${i}: the JS backend's leading batches are finite`).toBe(true);
      expected.forEach((value, j) =>
        Number.isNaN(value) ? expect(patched[i]![j], `case ${i} [${j}]`).toBeNaN() : expect(patched[i]![j], `case ${i} [${j}]`).toBeCloseTo(value, 4),
      );
    });
  });
});
