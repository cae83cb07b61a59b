import { ADAM_BETA1, ADAM_BETA2, adamStep, type Snapshot, type Tf } from '@axiom/runner';
import type { Tensor, Tensor1D, Variable } from '@tensorflow/tfjs-core';
import { z } from 'zod';

/** Heavy-ball momentum's coefficient (torch.optim.SGD's `momentum`, the usual 0.9; no dampening, not Nesterov). */
export const MOMENTUM = 0.9;
/** torch.optim.RMSprop's defaults: the squared-gradient average's decay α, and ε added after the square root. */
export const RMSPROP_ALPHA = 0.99;
export const RMSPROP_EPSILON = 1e-8;

/**
 * `sgd`: w ← w − lr·g. `adam`: tf.train.adam (ε = the backend's, 1e-7 in float32). `momentum`: torch.optim.SGD
 * with momentum μ = MOMENTUM: b ← μ·b + g (b starts at 0, so the first b is g, as torch's), w ← w − lr·b.
 * `rmsprop`: torch.optim.RMSprop (α = 0.99, ε = 1e-8 outside the root, no momentum, not centred):
 * s ← α·s + (1 − α)·g², w ← w − lr·g / (√s + ε).
 */
export type OptimizerKind = 'sgd' | 'adam' | 'momentum' | 'rmsprop';
export const optimizerKinds: readonly OptimizerKind[] = ['sgd', 'momentum', 'rmsprop', 'adam'];

/**
 * SGD, momentum SGD, RMSProp or Adam, element for element the update tf.train.sgd / tf.train.adam (or torch's,
 * see OptimizerKind) make, but with the learning rate as a tensor (one per member of a stack, [M, 1, 1], or a
 * scalar) and with state that a checkpoint can save and restore bit for bit (tf.train.adam's setWeights
 * recomputes β^t with pow, which rounds differently).
 */
export interface Optimizer {
  /**
   * One update of every variable; `negatedRates` broadcasts against each. With `retention` (1 − lr·wd, also
   * broadcast, e.g. per member) the weights decay first, decoupled from the gradient as torch.optim.AdamW's
   * w ← w·(1 − lr·wd) (Loshchilov & Hutter 2019), whatever the kind; without it nothing decays.
   */
  apply(gradients: readonly Tensor[], negatedRates: Tensor, retention?: Tensor): void;
  /** The same optimizer for `variables`, a stack of `members` (indices into this one): its state (moments, buffers) carries over. */
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
const savedBuffersSchema = z.strictObject({ buffers: z.array(z.instanceof(Float32Array)) });

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

/** 1 − lr·wd per member as a [M, 1, 1] tensor, for `Optimizer.apply`; undefined when no member decays (nothing to compute). */
export function retentionOf(tf: Tf, learningRates: readonly number[], weightDecays: readonly number[]): Tensor | undefined {
  if (weightDecays.every((decay) => decay === 0)) return undefined;
  return tf.tensor3d(
    learningRates.map((rate, m) => 1 - rate * weightDecays[m]!),
    [learningRates.length, 1, 1],
  );
}

export function createOptimizer(tf: Tf, kind: OptimizerKind, variables: Variable[], state?: AdamState): Optimizer {
  // Decoupled weight decay: the weights shrink before the step (the step itself never reads them).
  const decayed = (variable: Variable, retention: Tensor | undefined): Tensor => (retention ? tf.mul(variable, retention) : variable);
  if (kind === 'sgd') {
    return {
      apply: (gradients, negatedRates, retention) =>
        variables.forEach((variable, i) => variable.assign(tf.add(tf.mul(negatedRates, gradients[i]!), decayed(variable, retention)))),
      retain: (kept) => createOptimizer(tf, kind, kept),
      save: () => Promise.resolve(null),
      restore: () => {},
      dispose: () => {},
    };
  }
  if (kind === 'momentum' || kind === 'rmsprop') return bufferedOptimizer(tf, kind, variables, decayed);
  // Inside tidy so the initial tensors are freed once the variables hold their data.
  const fresh = (initial: () => Tensor) => tf.tidy(() => tf.variable(initial(), false));
  const { moments, decay } = state ?? {
    moments: variables.map((variable) => [fresh(() => tf.zerosLike(variable)), fresh(() => tf.zerosLike(variable))]),
    decay: [fresh(() => tf.scalar(ADAM_BETA1)), fresh(() => tf.scalar(ADAM_BETA2))],
  };
  const [firstDecay, secondDecay] = decay as [Variable, Variable];
  return {
    apply(gradients, negatedRates, retention) {
      const firstCorrection = tf.sub(1, firstDecay);
      const secondCorrection = tf.sub(1, secondDecay);
      variables.forEach((variable, i) => {
        const [first, second] = moments[i] as [Variable, Variable];
        const step = adamStep({ variable, gradient: gradients[i]!, first, second, firstCorrection, secondCorrection, negatedRates, retention });
        first.assign(step.first);
        second.assign(step.second);
        variable.assign(step.variable);
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

/** Momentum SGD or RMSProp: one buffer per variable (the velocity, or the squared-gradient average), starting at zero. */
function bufferedOptimizer(
  tf: Tf,
  kind: 'momentum' | 'rmsprop',
  variables: Variable[],
  decayed: (variable: Variable, retention: Tensor | undefined) => Tensor,
  kept?: Variable[],
): Optimizer {
  const buffers = kept ?? variables.map((variable) => tf.tidy(() => tf.variable(tf.zerosLike(variable), false)));
  // The new buffer and the step to scale by −lr.
  const update: (buffer: Tensor, gradient: Tensor) => [Tensor, Tensor] =
    kind === 'momentum'
      ? (buffer, gradient) => {
          const velocity = tf.add(tf.mul(buffer, MOMENTUM), gradient);
          return [velocity, velocity];
        }
      : (buffer, gradient) => {
          const average = tf.add(tf.mul(buffer, RMSPROP_ALPHA), tf.mul(tf.square(gradient), 1 - RMSPROP_ALPHA));
          return [average, tf.div(gradient, tf.add(tf.sqrt(average), RMSPROP_EPSILON))];
        };
  return {
    apply(gradients, negatedRates, retention) {
      variables.forEach((variable, i) => {
        const [buffer, step] = update(buffers[i]!, gradients[i]!);
        buffers[i]!.assign(buffer);
        variable.assign(tf.add(tf.mul(negatedRates, step), decayed(variable, retention)));
      });
    },
    retain: (keptVariables, members) => bufferedOptimizer(tf, kind, keptVariables, decayed, selectMembers(tf, buffers, members, false)),
    save: async () => ({ buffers: await Promise.all(buffers.map(readValues)) }),
    restore(saved) {
      const state = savedBuffersSchema.parse(saved);
      buffers.forEach((buffer, i) => assignValues(tf, buffer, state.buffers[i] ?? null));
    },
    dispose: () => buffers.forEach((buffer) => buffer.dispose()),
  };
}
