import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@axiom/runner/host';
import { Rng, type Tf } from '@axiom/runner';
import type { Tensor2D } from '@tensorflow/tfjs-core';
import { linearCka } from '@axiom/experiments';

describe('linear CKA', () => {
  let tf: Tf;
  beforeAll(async () => {
    ({ tf } = await initBackend({ forced: 'wasm' }));
  });
  const gaussian = (seed: number, rows: number, columns: number): Tensor2D => {
    const rng = new Rng(seed);
    return tf.tensor2d(
      Float32Array.from({ length: rows * columns }, () => rng.normal()),
      [rows, columns],
    );
  };
  /** CKA of x with f(x), with every tensor disposed. */
  const ckaWith = async (x: Tensor2D, transform: (x: Tensor2D) => Tensor2D): Promise<number | null> => {
    const y = transform(x);
    const cka = await linearCka(tf, x, y);
    [x, y].forEach((t) => t.dispose());
    return cka;
  };

  it('is 1 for identical representations and leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    expect(await ckaWith(gaussian(1, 200, 12), (x) => x.clone())).toBeCloseTo(1, 5);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is invariant to orthogonal transforms, isotropic scaling and column shifts', async () => {
    const x = gaussian(2, 200, 12);
    const y = tf.tidy(() => tf.relu(tf.matMul(x, gaussian(3, 12, 8)))); // another, related representation
    const reference = (await linearCka(tf, x, y))!;
    const q = tf.tidy(() => tf.linalg.qr(gaussian(4, 8, 8))[0] as Tensor2D);
    const transformed = tf.tidy(() => tf.add(tf.mul(tf.matMul(y, q), 3.7), 5) as Tensor2D);
    expect(reference).toBeGreaterThan(0.1);
    expect(reference).toBeLessThan(0.99);
    expect(await linearCka(tf, x, transformed)).toBeCloseTo(reference, 4);
    expect(await linearCka(tf, y, x)).toBeCloseTo(reference, 5); // symmetric
    [x, y, q, transformed].forEach((t) => t.dispose());
  });

  it('is low for independent random matrices, and null for a constant one', async () => {
    const x = gaussian(5, 500, 10);
    const y = gaussian(6, 500, 10);
    const cka = (await linearCka(tf, x, y))!;
    expect(cka).toBeGreaterThanOrEqual(0);
    expect(cka).toBeLessThan(0.1);
    expect(await ckaWith(x, (rows) => tf.zerosLike(rows))).toBeNull();
    y.dispose();
  });
});
