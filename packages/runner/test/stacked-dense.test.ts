import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { Tensor, Tensor2D, Tensor3D } from '@tensorflow/tfjs-core';
import { initBackend } from '@axiom/runner/host';
import { Rng, stackedDense, type StackedDenseActivation, type Tf } from '@axiom/runner';
import { STACKED_DENSE_WASM, STACKED_DENSE_WASM_SHARED_MEMORY } from '../src/stacked-dense-wasm.js';

// Shapes that exercise every path of the kernel: row counts around its tiles of 6 and 2 rows, column counts
// around its 8-column panels and 4-lane vectors, shared and per-member inputs, one member and several.
const cases: Array<{ members: number; rows: number; inputs: number; units: number; shared: boolean; activation: StackedDenseActivation }> = [
  { members: 3, rows: 7, inputs: 5, units: 11, shared: false, activation: 'relu' },
  { members: 2, rows: 16, inputs: 33, units: 8, shared: true, activation: 'relu' },
  { members: 4, rows: 5, inputs: 2, units: 3, shared: false, activation: 'linear' },
  { members: 1, rows: 13, inputs: 64, units: 20, shared: false, activation: 'relu' },
  { members: 5, rows: 1, inputs: 17, units: 1, shared: true, activation: 'linear' },
  { members: 2, rows: 12, inputs: 8, units: 4, shared: false, activation: 'relu' },
];

/** The layer's output and the gradients of Σ y² with respect to W, b and (unless shared) x. */
function outputsAndGradients(tf: Tf, rng: Rng): number[][][] {
  const random = (shape: number[]) =>
    tf.tensor(
      Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng.normal()),
      shape,
    );
  return cases.map(({ members, rows, inputs, units, shared, activation }) =>
    tf.tidy(() => {
      const x = random(shared ? [rows, inputs] : [members, rows, inputs]) as Tensor2D | Tensor3D;
      const [weight, bias] = [random([members, inputs, units]) as Tensor3D, random([members, 1, units]) as Tensor3D];
      const loss = (input: Tensor, w: Tensor, b: Tensor) => tf.sum(tf.square(stackedDense(input as Tensor3D, w as Tensor3D, b as Tensor3D, activation)));
      // tfjs's own BatchMatMul gradient cannot broadcast a shared x back (and data never needs one).
      const gradients = shared ? tf.grads((w: Tensor, b: Tensor) => loss(x, w, b))([weight, bias]) : tf.grads(loss)([x, weight, bias]);
      return [stackedDense(x, weight, bias, activation), ...gradients].map((tensor) => Array.from(tensor.dataSync()));
    }),
  );
}

describe('stacked dense kernel', () => {
  it('computes on WASM the outputs and gradients tfjs ops compute on the plain JS backend, without leaks', async () => {
    const { tf, info } = await initBackend({ forced: 'wasm', threads: 1 });
    expect(info.patches.some((patch) => patch.startsWith('axiom-stacked-dense'))).toBe(true);
    expect(tf.getKernel('AxiomStackedDense', 'wasm')).toBeDefined();
    const before = tf.memory().numTensors;
    const native = outputsAndGradients(tf, new Rng(5));
    expect(tf.memory().numTensors).toBe(before);
    await initBackend({ forced: 'cpu' });
    expect(tf.getKernel('AxiomStackedDense', 'cpu')).toBeUndefined();
    const reference = outputsAndGradients(tf, new Rng(5));
    await initBackend({ forced: 'wasm', threads: 1 });

    reference.forEach((expected, i) => {
      expect(
        native[i]!.map((values) => values.length),
        `case ${i}: sizes`,
      ).toEqual(expected.map((values) => values.length));
      expected.forEach((values, output) =>
        values.forEach((value, j) => expect(native[i]![output]![j], `case ${i}, output ${output} [${j}]`).toBeCloseTo(value, 3)),
      );
    });
  });

  it('writes nothing outside its outputs and scratch (it shares the backend memory)', () => {
    const memory = new WebAssembly.Memory({ initial: 2 });
    const kernels = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(STACKED_DENSE_WASM, 'base64')), { env: { memory } }).exports as Record<
      string,
      (...args: number[]) => void
    >;
    const heap = new Float32Array(memory.buffer);
    const rng = new Rng(9);
    const [members, rows, inputs, units] = [2, 7, 5, 11];
    // Regions (in floats) with a gap of sentinels around each: x, W, b, y, dy, then the outputs and scratch.
    const sizes = { x: members * rows * inputs, w: members * inputs * units, b: members * units, y: members * rows * units, dy: members * rows * units };
    const outputs = { out: members * rows * Math.max(inputs, units) + members * inputs * units, scratch: 4096 };
    let next = 64;
    const at: Record<string, number> = {};
    for (const [name, size] of Object.entries({ ...sizes, ...outputs })) {
      at[name] = next;
      next += size + 64;
    }
    const SENTINEL = 12345.5;
    heap.fill(SENTINEL);
    for (const [name, size] of Object.entries(sizes)) for (let i = 0; i < size; i++) heap[at[name]! + i] = rng.normal();
    const bytes = (name: string) => at[name]! * 4;
    const calls: Array<() => void> = [
      () => kernels.dense_forward!(bytes('x'), rows * inputs, bytes('w'), bytes('b'), bytes('out'), members, rows, inputs, units, 1, bytes('scratch')),
      () => kernels.dense_backprop_input!(bytes('dy'), bytes('y'), bytes('w'), bytes('out'), members, rows, inputs, units, 1, bytes('scratch')),
      () => kernels.dense_backprop_filter!(bytes('dy'), bytes('y'), bytes('x'), 0, bytes('out'), members, rows, inputs, units, 1, bytes('scratch')),
      () => kernels.dense_bias_grad!(bytes('dy'), bytes('y'), bytes('out'), members, rows, units, 1),
    ];
    const inputsBefore = Array.from(heap.subarray(0, at.out));
    for (const call of calls) {
      call();
      expect(Array.from(heap.subarray(0, at.out)), 'inputs and the memory before them').toEqual(inputsBefore);
      const after = heap.subarray(at.scratch! + outputs.scratch);
      expect(
        after.every((value) => value === SENTINEL),
        'memory after the scratch',
      ).toBe(true);
    }
  });

  it('ships the modules native/stacked-dense.c compiles to', async () => {
    let clang: string;
    try {
      clang = execFileSync('clang', ['--version'], { encoding: 'utf8' }).split('\n')[0]!;
    } catch (error) {
      // CI installs clang; elsewhere the check needs it too, and says so.
      throw new Error('this check compiles the kernel: install clang and lld (Debian: apt-get install clang lld)', { cause: error });
    }
    const { compileKernels } = (await import('../scripts/build-kernels.mjs')) as { compileKernels(): Record<string, string> };
    const compiled = compileKernels();
    expect(
      {
        STACKED_DENSE_WASM: compiled.STACKED_DENSE_WASM === STACKED_DENSE_WASM,
        SHARED: compiled.STACKED_DENSE_WASM_SHARED_MEMORY === STACKED_DENSE_WASM_SHARED_MEMORY,
      },
      `the committed modules are not what ${clang} makes of native/stacked-dense.c: run node packages/runner/scripts/build-kernels.mjs`,
    ).toEqual({ STACKED_DENSE_WASM: true, SHARED: true });
  });
});
