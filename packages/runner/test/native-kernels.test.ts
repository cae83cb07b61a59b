import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { Tensor, Tensor2D, Tensor3D } from '@tensorflow/tfjs-core';
import { initBackend } from '@axiom/runner/host';
import {
  Rng,
  stackedDense,
  stackedSigmoidCrossEntropy,
  stackedSoftmaxCrossEntropy,
  stackedWeightedSum,
  type StackedDenseActivation,
  type Tf,
} from '@axiom/runner';
import { KERNELS_WASM, KERNELS_WASM_SHARED_MEMORY } from '../src/native-kernels-wasm.js';
import { MATH_TABLES } from '../src/native-kernels.js';

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

/** Gathers of rows (the patched path: axis 0, float32 and int32) and of columns (the stock path). */
function gathers(tf: Tf, rng: Rng): number[][] {
  return tf.tidy(() => {
    const data = tf.tensor(
      Float32Array.from({ length: 6 * 5 * 3 }, () => rng.normal()),
      [6, 5, 3],
    );
    const rows = tf.tensor2d(
      [
        [5, 0, 2],
        [1, 1, 4],
      ],
      [2, 3],
      'int32',
    );
    const labels = tf.tensor1d([7, 8, 9, 10, 11, 12], 'int32');
    return [
      tf.gather(data, rows),
      tf.gather(tf.reshape(data, [30, 3]), tf.tensor1d([29, 0, 17], 'int32')),
      tf.gather(labels, rows),
      tf.gather(data, tf.tensor1d([2, 0], 'int32'), 1),
    ].map((tensor) => [...tensor.shape, ...Array.from(tensor.dataSync())]);
  });
}

/** Slices contiguous and not, of ranks 1 to 4, float32 and int32; clones, and a clone that outlives its source. */
function slicesAndClones(tf: Tf, rng: Rng): number[][] {
  return tf.tidy(() => {
    const data = tf.tensor(
      Float32Array.from({ length: 3 * 4 * 5 * 2 }, () => rng.normal()),
      [3, 4, 5, 2],
    );
    const source = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32');
    const clone = tf.clone(source);
    source.dispose();
    return [
      tf.slice(tf.reshape(data, [120]), 7, 50),
      tf.slice(tf.reshape(data, [12, 10]), [3, 0], [5, -1]),
      tf.slice(tf.reshape(data, [12, 10]), [2, 3], [4, 6]),
      tf.slice(tf.reshape(data, [3, 4, 10]), [0, 1, 0], [-1, 2, -1]),
      tf.slice(data, [1, 0, 2, 1], [2, 3, 2, 1]),
      tf.slice(data, [0, 0, 0, 0], [3, 4, 0, 2]),
      tf.slice(tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2], 'int32'), [1, 1], [3, 1]),
      tf.clone(data),
      clone,
    ].map((tensor) => [...tensor.shape, ...Array.from(tensor.dataSync())]);
  });
}

describe('copies on WASM', () => {
  it('slices and clones as the plain JS backend does', async () => {
    const { tf, info } = await initBackend({ forced: 'wasm', threads: 1 });
    expect(info.patches.some((patch) => patch.startsWith('wasm-copies'))).toBe(true);
    const before = tf.memory().numTensors;
    const native = slicesAndClones(tf, new Rng(4));
    expect(tf.memory().numTensors).toBe(before);
    await initBackend({ forced: 'cpu' });
    const reference = slicesAndClones(tf, new Rng(4));
    await initBackend({ forced: 'wasm', threads: 1 });
    expect(native).toEqual(reference);
  });
});

// Softmax cross-entropy: class counts around the kernel's 4 lanes and 1, shared and per-member targets, one-hot
// and soft, logits large enough that exp underflows.
const lossCases = [
  { members: 3, rows: 7, classes: 10, shared: false, soft: false, scale: 3 },
  { members: 2, rows: 16, classes: 2, shared: true, soft: true, scale: 0.5 },
  { members: 4, rows: 5, classes: 23, shared: true, soft: false, scale: 60 },
  { members: 1, rows: 9, classes: 1, shared: false, soft: false, scale: 1 },
  { members: 2, rows: 33, classes: 5, shared: false, soft: true, scale: 120 },
];

/**
 * Each case's member losses and the gradient of Σ dy·loss with respect to the logits (dy random per member).
 * Targets are distributions over the classes (softmax), or with `yesNo` a 0/1 answer per output (sigmoid).
 */
function lossesAndGradients(tf: Tf, rng: Rng, loss: (targets: Tensor2D | Tensor3D, logits: Tensor3D) => Tensor, yesNo = false): number[][][] {
  return lossCases.map(({ members, rows, classes, shared, soft, scale }) =>
    tf.tidy(() => {
      const logits = tf.tensor3d(
        Float32Array.from({ length: members * rows * classes }, () => rng.normal() * scale),
        [members, rows, classes],
      );
      const targetRows = shared ? rows : members * rows;
      const values = new Float32Array(targetRows * classes);
      for (let row = 0; row < targetRows; row++) {
        const weights = Array.from({ length: classes }, (_, c) => (soft ? Math.abs(rng.normal()) : Number(c === rng.int(classes))));
        const total = weights.reduce((a, b) => a + b, 0) || 1;
        weights.forEach((weight, c) => (values[row * classes + c] = yesNo ? Number(rng.next() < 0.5) : weight / total));
      }
      const targets = tf.tensor(values, shared ? [rows, classes] : [members, rows, classes]) as Tensor2D | Tensor3D;
      const dy = tf.tensor1d(Array.from({ length: members }, () => rng.normal()));
      const gradient = tf.grad((x: Tensor) => tf.sum(tf.mul(loss(targets, x as Tensor3D), dy)))(logits);
      return [loss(targets, logits), gradient].map((tensor) => Array.from(tensor.dataSync()));
    }),
  );
}

/** tfjs's own ops, as stackedSoftmaxCrossEntropy runs them off WASM. */
const opsLoss = (tf: Tf) => (targets: Tensor2D | Tensor3D, logits: Tensor3D) =>
  tf.mean(tf.losses.softmaxCrossEntropy(tf.broadcastTo(targets, logits.shape), logits, undefined, 0, tf.Reduction.NONE), 1);

describe('softmax cross-entropy kernel', () => {
  it('computes on WASM the losses and gradients of tfjs ops, to the bit on WASM and close to the plain JS backend, without leaks', async () => {
    const { tf, info } = await initBackend({ forced: 'wasm', threads: 1 });
    expect(info.patches.some((patch) => patch.startsWith('axiom-softmax-cross-entropy'))).toBe(true);
    const before = tf.memory().numTensors;
    const native = lossesAndGradients(tf, new Rng(6), stackedSoftmaxCrossEntropy);
    expect(tf.memory().numTensors).toBe(before);
    // musl's expf and logf, as tfjs's WASM Exp and Log: the same float32 bits.
    expect(native).toEqual(lossesAndGradients(tf, new Rng(6), opsLoss(tf)));
    await initBackend({ forced: 'cpu' });
    expect(tf.getKernel('AxiomSoftmaxCrossEntropy', 'cpu')).toBeUndefined();
    const reference = lossesAndGradients(tf, new Rng(6), stackedSoftmaxCrossEntropy);
    await initBackend({ forced: 'wasm', threads: 1 });
    reference.forEach((expected, i) =>
      expected.forEach((values, output) =>
        values.forEach((value, j) => expect(native[i]![output]![j], `case ${i}, output ${output} [${j}]`).toBeCloseTo(value, 4)),
      ),
    );
  });

  it('refuses on WASM what its kernels cannot read; the entry leaves it to the ops', async () => {
    const { tf } = await initBackend({ forced: 'wasm', threads: 1 });
    const run = (name: string, inputs: Record<string, number[]>) => () =>
      tf.tidy(() => tf.engine().runKernel(name, Object.fromEntries(Object.entries(inputs).map(([key, shape]) => [key, tf.zeros(shape)]))));
    // Targets of one member for a stack of 3 would have the kernel read two members past them.
    expect(run('AxiomSoftmaxCrossEntropy', { logits: [3, 4, 5], targets: [1, 4, 5] })).toThrow('do not fit the kernel');
    expect(run('AxiomSigmoidCrossEntropy', { logits: [3, 4, 5], targets: [4, 4] })).toThrow('do not fit the kernel');
    expect(run('AxiomCrossEntropyBackprop', { dy: [2], residual: [3, 4, 5] })).toThrow('not one float per member');
    // From the entry they take tfjs's ops, which refuse them as they did before the kernel.
    expect(() => tf.tidy(() => stackedSoftmaxCrossEntropy(tf.zeros([1, 4, 5]) as Tensor3D, tf.zeros([3, 4, 5]) as Tensor3D))).toThrow('must match');
  });
});

/** tfjs's own ops, as stackedSigmoidCrossEntropy runs them off WASM. */
const opsSigmoidLoss = (tf: Tf) => (targets: Tensor2D | Tensor3D, logits: Tensor3D) =>
  tf.mean(tf.losses.sigmoidCrossEntropy(tf.broadcastTo(targets, logits.shape), logits, undefined, 0, tf.Reduction.NONE), [1, 2]);

describe('sigmoid cross-entropy kernel', () => {
  it('computes on WASM the losses and gradients of the ops to float32 precision, stable for large logits, without leaks', async () => {
    const { tf, info } = await initBackend({ forced: 'wasm', threads: 1 });
    expect(info.patches.some((patch) => patch.startsWith('axiom-sigmoid-cross-entropy'))).toBe(true);
    const before = tf.memory().numTensors;
    const native = lossesAndGradients(tf, new Rng(8), stackedSigmoidCrossEntropy, true);
    expect(tf.memory().numTensors).toBe(before);
    const ops = lossesAndGradients(tf, new Rng(8), opsSigmoidLoss(tf), true);
    await initBackend({ forced: 'cpu' });
    expect(tf.getKernel('AxiomSigmoidCrossEntropy', 'cpu')).toBeUndefined();
    const reference = lossesAndGradients(tf, new Rng(8), stackedSigmoidCrossEntropy, true);
    await initBackend({ forced: 'wasm', threads: 1 });
    for (const expected of [ops, reference]) {
      expected.forEach((outputs, i) =>
        outputs.forEach((values, output) =>
          values.forEach((value, j) => {
            // Relative to the value, as losses reach hundreds at the large logits.
            expect(Math.abs(native[i]![output]![j]! - value), `case ${i}, output ${output} [${j}]`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(value)));
          }),
        ),
      );
    }
    // A confident right answer costs nothing and a confident wrong one its margin; the gradient is σ(z) − t over the count.
    const [losses, gradient] = tf.tidy(() => {
      const logits = tf.tensor3d([1000, -1000, 0, 30], [1, 2, 2]);
      const targets = tf.tensor2d([1, 1, 1, 0], [2, 2]);
      return [stackedSigmoidCrossEntropy(targets, logits), tf.grad((x: Tensor) => tf.sum(stackedSigmoidCrossEntropy(targets, x as Tensor3D)))(logits)].map(
        (t) => Array.from(t.dataSync()),
      );
    });
    expect(losses![0]).toBeCloseTo((0 + 1000 + Math.LN2 + 30) / 4, 3);
    expect(gradient).toEqual([0, -0.25, -0.125, 0.25]);
  });
});

describe('weighted sum kernel', () => {
  /** Three terms [M, …] and their weights [M, 1, 1], the sum, and its gradients to every term and weight under a random dy. */
  const sumAndGradients = (tf: Tf, rng: Rng, sum: (terms: [Tensor, Tensor, Tensor], weights: [Tensor3D, Tensor3D, Tensor3D]) => Tensor) =>
    [
      [2, 5, 7],
      [3, 1, 13],
      [1, 4, 4],
    ].map((shape) =>
      tf.tidy(() => {
        const random = (dims: number[]) =>
          tf.tensor(
            Float32Array.from({ length: dims.reduce((a, b) => a * b) }, () => rng.normal()),
            dims,
          );
        const terms = [random(shape), random(shape), random(shape)] as [Tensor, Tensor, Tensor];
        // Exact zeros among the terms: the sum from 0 keeps AddN's signs of zero.
        const zeroed = terms.map((term, k) => (k === 0 ? tf.mul(term, 0) : term)) as [Tensor, Tensor, Tensor];
        const weights = [random([shape[0]!, 1, 1]), random([shape[0]!, 1, 1]), random([shape[0]!, 1, 1])] as [Tensor3D, Tensor3D, Tensor3D];
        const dy = random(shape);
        const gradients = tf.grads((...all: Tensor[]) =>
          tf.sum(tf.mul(sum(all.slice(0, 3) as [Tensor, Tensor, Tensor], all.slice(3) as [Tensor3D, Tensor3D, Tensor3D]), dy)),
        )([...zeroed, ...weights]);
        return [sum(zeroed, weights), ...gradients].map((tensor) => Array.from(tensor.dataSync()));
      }),
    );
  const opsSum = (tf: Tf) => (terms: [Tensor, Tensor, Tensor], weights: [Tensor3D, Tensor3D, Tensor3D]) =>
    tf.addN(terms.map((term, k) => tf.mul(weights[k]!, term)));

  it('gives on WASM the bits of tfjs ops (a Multiply per term, then AddN), and their gradients, without leaks', async () => {
    const { tf, info } = await initBackend({ forced: 'wasm', threads: 1 });
    expect(info.patches.some((patch) => patch.startsWith('axiom-weighted-sum'))).toBe(true);
    const before = tf.memory().numTensors;
    const native = sumAndGradients(tf, new Rng(4), stackedWeightedSum);
    expect(tf.memory().numTensors).toBe(before);
    expect(native.flat(2).map((value) => Object.is(value, -0))).toEqual(
      sumAndGradients(tf, new Rng(4), opsSum(tf))
        .flat(2)
        .map((value) => Object.is(value, -0)),
    );
    expect(native).toEqual(sumAndGradients(tf, new Rng(4), opsSum(tf)));
    await initBackend({ forced: 'cpu' });
    expect(sumAndGradients(tf, new Rng(4), stackedWeightedSum)).toEqual(sumAndGradients(tf, new Rng(4), opsSum(tf)));
    await initBackend({ forced: 'wasm', threads: 1 });
  });

  it('refuses terms of different shapes or weights not one per member, on every backend', async () => {
    for (const backend of ['wasm', 'cpu'] as const) {
      const { tf } = await initBackend({ forced: backend, threads: 1 });
      const sum = (shapes: number[][], weightShape: number[]) => () =>
        tf.tidy(() =>
          stackedWeightedSum(
            shapes.map((shape) => tf.zeros(shape)) as [Tensor, Tensor, Tensor],
            [0, 1, 2].map(() => tf.zeros(weightShape)) as [Tensor3D, Tensor3D, Tensor3D],
          ),
        );
      expect(
        sum(
          [
            [2, 3],
            [2, 3],
            [2, 4],
          ],
          [2, 1, 1],
        ),
        backend,
      ).toThrow('stackedWeightedSum: terms [2, 3], [2, 3], [2, 4] and weights');
      expect(
        sum(
          [
            [2, 3],
            [2, 3],
            [2, 3],
          ],
          [1, 1, 1],
        ),
        backend,
      ).toThrow('not three float32 terms');
      expect(
        sum(
          [
            [2, 3],
            [2, 3],
            [2, 3],
          ],
          [2, 1, 1],
        ),
        backend,
      ).not.toThrow();
    }
    await initBackend({ forced: 'wasm', threads: 1 });
  });
});

describe('row gather on WASM', () => {
  it('gathers what the plain JS backend gathers, and refuses an index out of range as tfjs does', async () => {
    const { tf } = await initBackend({ forced: 'wasm', threads: 1 });
    const native = gathers(tf, new Rng(2));
    const outOfRange = () => tf.tidy(() => tf.gather(tf.zeros([4, 2]), tf.tensor1d([1, 4], 'int32')));
    expect(outOfRange).toThrow('GatherV2: the index value 4 is not in [0, 3]');
    expect(() => tf.tidy(() => tf.gather(tf.zeros([4, 2]), tf.tensor1d([-1], 'int32')))).toThrow('GatherV2: the index value -1 is not in [0, 3]');
    await initBackend({ forced: 'cpu' });
    const reference = gathers(tf, new Rng(2));
    expect(outOfRange).toThrow('GatherV2: the index value 4 is not in [0, 3]');
    await initBackend({ forced: 'wasm', threads: 1 });
    expect(native).toEqual(reference);
  });
});

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

  it('refuses shapes that are not a stacked layer, on WASM as on the plain JS backend', async () => {
    for (const backend of ['wasm', 'cpu'] as const) {
      const { tf } = await initBackend({ forced: backend, threads: 1 });
      const layer = (x: number[], w: number[], b: number[]) => () =>
        tf.tidy(() => stackedDense(tf.zeros(x) as Tensor3D, tf.zeros(w) as Tensor3D, tf.zeros(b) as Tensor3D, 'relu'));
      // One member's inputs for a stack of 3 would have the kernel read two members past them.
      expect(layer([1, 4, 2], [3, 2, 5], [3, 1, 5]), backend).toThrow('stackedDense: x [1, 4, 2], W [3, 2, 5] and b [3, 1, 5] are not a stacked layer');
      expect(layer([4, 3], [3, 2, 5], [3, 1, 5]), backend).toThrow('are not a stacked layer');
      expect(layer([4, 2], [3, 2, 5], [3, 5]), backend).toThrow('are not a stacked layer');
      expect(layer([4, 2], [3, 2, 5], [3, 1, 5]), backend).not.toThrow();
    }
    await initBackend({ forced: 'wasm', threads: 1 });
  });

  it('writes nothing outside its outputs and scratch (it shares the backend memory)', () => {
    const memory = new WebAssembly.Memory({ initial: 2 });
    const kernels = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(KERNELS_WASM, 'base64')), { env: { memory } }).exports as Record<
      string,
      (...args: number[]) => void
    >;
    const heap = new Float32Array(memory.buffer);
    const rng = new Rng(9);
    const [members, rows, inputs, units] = [2, 7, 5, 11];
    // Regions (in floats) with a gap of sentinels around each: the inputs, then the outputs and scratch.
    const sizes = {
      indices: 3,
      badIndices: 1,
      x: members * rows * inputs,
      w: members * inputs * units,
      b: members * units,
      y: members * rows * units,
      dy: members * rows * units,
      dyMembers: members,
      targets: rows * units,
      tables: MATH_TABLES.length * 2,
    };
    const outputs = { out: members * rows * Math.max(inputs, units) + members * inputs * units, scratch: 4096 };
    let next = 64;
    const at: Record<string, number> = {};
    for (const [name, size] of Object.entries({ ...sizes, ...outputs })) {
      at[name] = next;
      next += size + 64 + (size % 2); // 8-byte aligned, for the tables
    }
    const SENTINEL = 12345.5;
    heap.fill(SENTINEL);
    for (const [name, size] of Object.entries(sizes)) for (let i = 0; i < size; i++) heap[at[name]! + i] = rng.normal();
    // Rows 3, 0 and 6 of x (members·rows rows of `inputs` floats) to gather, and a row past its end.
    new Int32Array(memory.buffer).set([3, 0, 6], at.indices!);
    new Int32Array(memory.buffer).set([members * rows], at.badIndices!);
    new BigUint64Array(memory.buffer, at.tables! * 4, MATH_TABLES.length).set(MATH_TABLES);
    const bytes = (name: string) => at[name]! * 4;
    const calls: Array<() => void> = [
      () => kernels.dense_forward!(bytes('x'), rows * inputs, bytes('w'), bytes('b'), bytes('out'), members, rows, inputs, units, 1, bytes('scratch')),
      () => kernels.dense_backprop_input!(bytes('dy'), bytes('y'), bytes('w'), bytes('out'), members, rows, inputs, units, 1, bytes('scratch')),
      () => kernels.dense_backprop_filter!(bytes('dy'), bytes('y'), bytes('x'), 0, bytes('out'), members, rows, inputs, units, 1, bytes('scratch')),
      () => kernels.dense_bias_grad!(bytes('dy'), bytes('y'), bytes('out'), members, rows, units, 1),
      () => {
        expect(kernels.gather_rows!(bytes('x'), members * rows, inputs, bytes('indices'), 3, bytes('out'))).toBe(-1);
        expect(Array.from(heap.subarray(at.out!, at.out! + inputs))).toEqual(Array.from(heap.subarray(at.x! + 3 * inputs, at.x! + 4 * inputs)));
        expect(kernels.gather_rows!(bytes('x'), members * rows, inputs, bytes('badIndices'), 1, bytes('out'))).toBe(0);
      },
      // Logits y, shared targets; losses then the residual in `out`, then the residual's gradient after them.
      () => kernels.softmax_cross_entropy!(bytes('y'), bytes('targets'), 0, bytes('out'), bytes('out') + members * 4, members, rows, units, bytes('tables')),
      () => kernels.cross_entropy_backprop!(bytes('dyMembers'), bytes('dy'), bytes('out'), members, rows * units, rows),
      () => kernels.sigmoid_cross_entropy!(bytes('y'), bytes('targets'), 0, bytes('out'), bytes('out') + members * 4, members, rows * units, bytes('tables')),
      // The weighted sum of three terms, each [members, rows·units], weighted per member.
      () => kernels.weighted_sum!(bytes('dyMembers'), bytes('y'), bytes('dyMembers'), bytes('dy'), bytes('b'), bytes('y'), bytes('out'), members, rows * units),
    ];
    for (const call of calls) {
      const inputsBefore = Array.from(heap.subarray(0, at.out));
      call();
      expect(Array.from(heap.subarray(0, at.out)), 'inputs and the memory before them').toEqual(inputsBefore);
      const after = heap.subarray(at.scratch! + outputs.scratch);
      expect(
        after.every((value) => value === SENTINEL),
        'memory after the scratch',
      ).toBe(true);
    }
  });

  it('writes nothing when instantiated: it keeps no data in the memory it imports, the backend’s', () => {
    const variants = [
      { base64: KERNELS_WASM, memory: new WebAssembly.Memory({ initial: 2 }) },
      { base64: KERNELS_WASM_SHARED_MEMORY, memory: new WebAssembly.Memory({ initial: 2, maximum: 65536, shared: true }) },
    ];
    for (const { base64, memory } of variants) {
      const heap = new Uint8Array(memory.buffer).fill(0xa5);
      new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(base64, 'base64')), { env: { memory } });
      expect(heap.every((byte) => byte === 0xa5)).toBe(true);
    }
  });

  it('ships the modules native/kernels.c compiles to', async () => {
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
        KERNELS_WASM: compiled.KERNELS_WASM === KERNELS_WASM,
        SHARED: compiled.KERNELS_WASM_SHARED_MEMORY === KERNELS_WASM_SHARED_MEMORY,
      },
      `the committed modules are not what ${clang} makes of native/kernels.c: run node packages/runner/scripts/build-kernels.mjs`,
    ).toEqual({ KERNELS_WASM: true, SHARED: true });
  });
});
