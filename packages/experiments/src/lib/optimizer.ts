import type { Snapshot, Tf } from '@axiom/runner';
import type { Tensor, Tensor1D, Variable } from '@tensorflow/tfjs-core';
import { z } from 'zod';

/** Adam's defaults in tfjs (tf.train.adam). */
const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;

/**
 * SGD or Adam, element for element the update tf.train.sgd / tf.train.adam make, but with the learning
 * rate as a tensor (one per member of a stack, [M, 1, 1], or a scalar) and with state that a checkpoint can
 * save and restore bit for bit (tf.train.adam's setWeights recomputes β^t with pow, which rounds differently).
 */
export interface Optimizer {
  /** One update of every variable; `negatedRates` broadcasts against each. */
  apply(gradients: readonly Tensor[], negatedRates: Tensor): void;
  /** The same optimizer for `variables`, a stack of `members` (indices into this one): Adam's moments carry over. */
  retain(variables: Variable[], members: Tensor1D): Optimizer;
  save(): Promise<Snapshot>;
  restore(saved: Snapshot): void;
  dispose(): void;
}

/** Adam's state: first and second moments per variable, and β1^t, β2^t as tf.train.adam tracks them. */
interface AdamState {
  moments: Variable[][];
  decay: Variable[];
}

const savedAdamSchema = z.strictObject({ moments: z.array(z.array(z.instanceof(Float32Array))), decay: z.array(z.instanceof(Float32Array)) });

/** Reads a variable's values (exact float32 bits), for a checkpoint. */
export const readValues = async (tensor: Tensor): Promise<Float32Array> => (await tensor.data()) as Float32Array;

/** Writes values read by `readValues` back into a variable of the same shape. */
export function assignValues(tf: Tf, variable: Variable, values: Snapshot): void {
  if (!(values instanceof Float32Array) || values.length !== variable.size) {
    throw new RangeError(`checkpoint holds ${values instanceof Float32Array ? values.length : 'no'} values for a variable of ${variable.size}`);
  }
  tf.tidy(() => variable.assign(tf.tensor(values, variable.shape)));
}

/** A trainable (or not) copy of `members` (indices along the model axis) of each stacked tensor. */
export function selectMembers(tf: Tf, stacked: readonly Tensor[], members: Tensor1D, trainable: boolean): Variable[] {
  return stacked.map((tensor) => tf.tidy(() => tf.variable(tf.gather(tensor, members), trainable)));
}

export function createOptimizer(tf: Tf, kind: 'sgd' | 'adam', variables: Variable[], state?: AdamState): Optimizer {
  if (kind === 'sgd') {
    return {
      apply: (gradients, negatedRates) => variables.forEach((variable, i) => variable.assign(tf.add(tf.mul(negatedRates, gradients[i]!), variable))),
      retain: (kept) => createOptimizer(tf, kind, kept),
      save: () => Promise.resolve(null),
      restore: () => {},
      dispose: () => {},
    };
  }
  // Inside tidy so the initial tensors are freed once the variables hold their data.
  const fresh = (initial: () => Tensor) => tf.tidy(() => tf.variable(initial(), false));
  const { moments, decay } = state ?? {
    moments: variables.map((variable) => [fresh(() => tf.zerosLike(variable)), fresh(() => tf.zerosLike(variable))]),
    decay: [fresh(() => tf.scalar(ADAM_BETA1)), fresh(() => tf.scalar(ADAM_BETA2))],
  };
  const [firstDecay, secondDecay] = decay as [Variable, Variable];
  const epsilon = tf.backend().epsilon();
  return {
    apply(gradients, negatedRates) {
      const firstCorrection = tf.sub(1, firstDecay);
      const secondCorrection = tf.sub(1, secondDecay);
      variables.forEach((variable, i) => {
        const gradient = gradients[i]!;
        const [first, second] = moments[i] as [Variable, Variable];
        const newFirst = tf.add(tf.mul(first, ADAM_BETA1), tf.mul(gradient, 1 - ADAM_BETA1));
        const newSecond = tf.add(tf.mul(second, ADAM_BETA2), tf.mul(tf.square(gradient), 1 - ADAM_BETA2));
        const correctedFirst = tf.div(newFirst, firstCorrection);
        const correctedSecond = tf.div(newSecond, secondCorrection);
        first.assign(newFirst);
        second.assign(newSecond);
        variable.assign(tf.add(tf.mul(tf.div(correctedFirst, tf.add(tf.sqrt(correctedSecond), epsilon)), negatedRates), variable));
      });
      firstDecay.assign(tf.mul(firstDecay, ADAM_BETA1));
      secondDecay.assign(tf.mul(secondDecay, ADAM_BETA2));
    },
    retain: (kept, members) =>
      createOptimizer(tf, kind, kept, {
        moments: moments.map((pair) => selectMembers(tf, pair, members, false)),
        decay: decay.map((value) => fresh(() => tf.clone(value))),
      }),
    save: async () => ({
      moments: await Promise.all(moments.map((pair) => Promise.all(pair.map(readValues)))),
      decay: await Promise.all(decay.map(readValues)),
    }),
    restore(saved) {
      const adam = savedAdamSchema.parse(saved);
      moments.forEach((pair, i) => pair.forEach((moment, j) => assignValues(tf, moment, adam.moments[i]?.[j] ?? null)));
      decay.forEach((value, i) => assignValues(tf, value, adam.decay[i] ?? null));
    },
    dispose: () => [...moments.flat(), ...decay].forEach((variable) => variable.dispose()),
  };
}
