import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@axiom/runner/host';
import { Rng, type Tf } from '@axiom/runner';
import { batchLoss, memberLosses, sampleTeacher, sampleTeacherSigns, teacherOutput, teacherTask } from '@axiom/experiments';
import type { Tensor2D, Tensor3D } from '@tensorflow/tfjs-core';

describe('answers of several yes/no parts (teacher signs)', () => {
  const teachers = [3, 4, 5].map((seed) => teacherTask(new Rng(seed), { inputDim: 6, hidden: 4 }));

  it('give each input one 0/1 target per teacher: 1 where its output is positive', () => {
    const data = sampleTeacherSigns(new Rng(1), teachers, 500);
    expect(data).toMatchObject({ size: 500, inputDim: 6, outputDim: 3 });
    expect(data).toEqual(sampleTeacherSigns(new Rng(1), teachers, 500));
    for (let i = 0; i < data.size; i++) {
      teachers.forEach((teacher, part) => expect(data.targets[i * 3 + part]).toBe(teacherOutput(teacher, data.x, i) > 0 ? 1 : 0));
    }
    // Each part is roughly balanced, and the parts differ.
    for (let part = 0; part < 3; part++) {
      const positives = Array.from({ length: data.size }, (_, i) => data.targets[i * 3 + part]!).reduce((a, b) => a + b, 0);
      expect(positives).toBeGreaterThan(100);
      expect(positives).toBeLessThan(400);
    }
    const agreement = Array.from({ length: data.size }, (_, i) => Number(data.targets[i * 3] === data.targets[i * 3 + 1])).reduce((a, b) => a + b, 0);
    expect(agreement).toBeLessThan(450);
    expect(() => sampleTeacherSigns(new Rng(1), [teachers[0]!, teacherTask(new Rng(9), { inputDim: 5, hidden: 4 })], 10)).toThrow(RangeError);
  });

  it("read the teacher's output the way sampleTeacher labels its inputs", () => {
    const clean = sampleTeacher(new Rng(2), teachers[0]!, 50);
    for (let i = 0; i < clean.size; i++) expect(clean.targets[i]).toBe(Math.fround(teacherOutput(teachers[0]!, clean.x, i)));
  });
});

describe('binary cross-entropy loss', () => {
  let tf: Tf;
  beforeAll(async () => {
    ({ tf } = await initBackend({ forced: 'wasm' }));
  });

  it('is the mean over examples and parts of −log sigmoid(±logit), alone and per member of a stack', async () => {
    const logits = [
      [2, -1],
      [0.5, 3],
    ];
    const targets = [
      [1, 0],
      [0, 1],
    ];
    const logSigmoid = (z: number) => -Math.log1p(Math.exp(-z));
    const expected = -(logSigmoid(2) + logSigmoid(1) + logSigmoid(-0.5) + logSigmoid(3)) / 4;
    const alone = tf.tidy(() => batchLoss(tf, 'binary-cross-entropy', tf.tensor2d(targets) as Tensor2D, tf.tensor2d(logits) as Tensor2D).dataSync()[0]!);
    expect(alone).toBeCloseTo(expected, 6);
    // Two members: the first sees these logits, the second the same ones all negated.
    const stacked = tf.tidy(() =>
      Array.from(
        memberLosses(
          tf,
          'binary-cross-entropy',
          tf.tensor3d([targets, targets]) as Tensor3D,
          tf.tensor3d([logits, logits.map((row) => row.map((z) => -z))]) as Tensor3D,
        ).dataSync(),
      ),
    );
    expect(stacked[0]).toBeCloseTo(expected, 6);
    expect(stacked[1]).toBeCloseTo(-(logSigmoid(-2) + logSigmoid(-1) + logSigmoid(0.5) + logSigmoid(-3)) / 4, 6);
  });
});
