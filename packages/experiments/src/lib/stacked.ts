/**
 * Stacked training: M independent networks of one shape trained together in one set of batched ops
 * over a leading model axis ([M, B, in] × [M, in, out]). At these sizes tfjs is bound by per-op
 * dispatch, not arithmetic, so one batched op for M networks costs little more than one for a single
 * network. Each member keeps its own initialisation, visit order, targets and learning rate, and its
 * loss is summed with the others', so its gradients are its own: up to float summation order it
 * trains exactly as it would alone (createMlp + trainClassifier).
 */
import { type Rng, snapshotSchema, stackedDense, stackedSigmoidCrossEntropy, stackedSoftmaxCrossEntropy, type Tf } from '@axiom/runner';
import type { Rank, Tensor, Tensor1D, Tensor2D, Tensor3D, Variable } from '@tensorflow/tfjs-core';
import { z } from 'zod';
import type { Dataset } from './data.js';
import { initialWeights, layerSizes, type MlpShape } from './mlp.js';
import { assignValues, createOptimizer, readValues, retentionOf, selectMembers, type Optimizer } from './optimizer.js';
import { readBatches, runEpochs, sliceRows, visitsOf, type LossKind, type TrainingLoopOptions, type VisitOrder } from './train.js';

/** M networks of one shape: layer weights [M, fanIn, fanOut], biases [M, 1, fanOut]. */
export interface StackedMlp {
  shape: MlpShape;
  members: number;
  variables: Variable[];
  /** Each layer's stacked weights; `weights[0]` reads the inputs. */
  weights: Variable[];
  /**
   * Post-activation output of every hidden layer, then the logits, each [M, rows, width]. Inputs of
   * rank 2 ([rows, in]) are shared by every member; rank 3 ([M, rows, in]) gives each member its own.
   * `shifts`, if given, are added to each layer's pre-activation (zeros: a handle for the gradient
   * with respect to it). Call inside tf.tidy: it leaves intermediate tensors (matMul before the bias) to it.
   */
  layers(x: Tensor2D | Tensor3D, shifts?: readonly Tensor3D[]): Tensor3D[];
  logits(x: Tensor2D | Tensor3D): Tensor3D;
  dispose(): void;
}

/**
 * One network per seeded stream; member m's initial weights equal those createMlp draws from `initRngs[m]`,
 * scaled by `memberGains[m]` if given (see initialWeights).
 * A member may be narrower than the stack (`memberHidden[m]`, same depth, no layer wider): its weights
 * fill the top-left corner of each layer and the padded units start at zero weights in and out and zero
 * bias, so their pre-activation is 0, their output is 0 (ReLU and tanh), no gradient reaches their weights in or out, and they stay exactly zero: the member
 * computes its own network's outputs and gradients, up to float summation order.
 */
export function createStackedMlp(
  tf: Tf,
  initRngs: readonly Rng[],
  shape: MlpShape,
  memberHidden?: ReadonlyArray<readonly number[]>,
  memberGains?: readonly number[],
): StackedMlp {
  const members = initRngs.length;
  if (memberHidden && memberHidden.length !== members) throw new Error(`${memberHidden.length} members' hidden widths for a stack of ${members}`);
  const memberShapes = initRngs.map((_, m): MlpShape => ({ ...shape, hidden: [...(memberHidden?.[m] ?? shape.hidden)] }));
  for (const { hidden } of memberShapes) {
    if (hidden.length !== shape.hidden.length || hidden.some((width, layer) => width > shape.hidden[layer]!)) {
      throw new Error(`a stacked member's hidden widths [${hidden.join(',')}] do not fit the stack's [${shape.hidden.join(',')}]`);
    }
  }
  if (memberGains && memberGains.length !== members) throw new Error(`${memberGains.length} members' initial gains for a stack of ${members}`);
  const initialByMember = initRngs.map((rng, m) => initialWeights(rng, memberShapes[m]!, memberGains?.[m]));
  // Inside tidy so the initial tensors are freed once the variables hold their data.
  const variables = layerSizes(shape).flatMap(([fanIn, fanOut], layer) => {
    const values = new Float32Array(members * fanIn * fanOut);
    initialByMember.forEach((layers, member) => {
      const [ownFanIn, ownFanOut] = layerSizes(memberShapes[member]!)[layer]!;
      const own = layers[layer]!;
      for (let row = 0; row < ownFanIn; row++) values.set(own.subarray(row * ownFanOut, (row + 1) * ownFanOut), (member * fanIn + row) * fanOut);
    });
    const initial = [() => tf.tensor3d(values, [members, fanIn, fanOut]), () => tf.zeros([members, 1, fanOut])];
    return initial.map((tensor) => tf.tidy(() => tf.variable(tensor(), true)));
  });
  return stackedMlpOf(tf, shape, variables);
}

/** A new stack of copies of `members` (indices into `model`'s, repeats allowed) at their current weights, e.g. to probe one member on its own. */
export function copyStackedMembers(tf: Tf, model: StackedMlp, members: readonly number[]): StackedMlp {
  const positions = tf.tensor1d(Array.from(members), 'int32');
  try {
    return stackedMlpOf(tf, model.shape, selectMembers(tf, model.variables, positions, true));
  } finally {
    positions.dispose();
  }
}

/** The stack held by `variables`: each layer's weights, then its biases, inputs first. */
function stackedMlpOf(tf: Tf, shape: MlpShape, variables: Variable[]): StackedMlp {
  const weights = variables.filter((_, i) => i % 2 === 0);
  const biases = variables.filter((_, i) => i % 2 === 1);
  // One stacked dense op per layer (one native call on WASM; tfjs's fused matMul does not take rank-3
  // operands), tanh after it. Shared inputs broadcast against every member's weights in the first product.
  // With shifts (gradient probes, rare) the plain ops, as the shift enters before the activation.
  const layers = (x: Tensor2D | Tensor3D, shifts?: readonly Tensor3D[]): Tensor3D[] => {
    const outputs: Tensor3D[] = [];
    let activation: Tensor = x;
    weights.forEach((weight, layer) => {
      const last = layer === weights.length - 1;
      if (shifts) {
        const preActivation = tf.add(tf.add(tf.matMul(activation, weight), biases[layer]!), shifts[layer]!);
        activation = last ? preActivation : shape.activation === 'tanh' ? tf.tanh(preActivation) : tf.relu(preActivation);
      } else {
        const relu = !last && shape.activation !== 'tanh';
        const output = stackedDense(activation as Tensor2D | Tensor3D, weight as Tensor3D, biases[layer] as Tensor3D, relu ? 'relu' : 'linear');
        activation = last || relu ? output : tf.tanh(output);
      }
      outputs.push(activation as Tensor3D);
    });
    return outputs;
  };
  return {
    shape,
    members: weights[0]!.shape[0],
    variables,
    weights,
    layers,
    logits: (x) => layers(x).at(-1)!,
    dispose: () => variables.forEach((variable) => variable.dispose()),
  };
}

/** Inputs and targets on the backend: rank 2 ([rows, k]) is shared by every member, rank 3 ([M, rows, k]) is per member (both the one or both the other, to train). */
export interface StackedData {
  x: Tensor2D | Tensor3D;
  targets: Tensor2D | Tensor3D;
}

/** Data as every member sees it: per-member data as it is, shared data broadcast to [M, rows, k]. */
export function perMember(tf: Tf, data: Tensor2D | Tensor3D, members: number): Tensor3D {
  return data.rank === 3 ? (data as Tensor3D) : tf.broadcastTo<Rank.R3>(data, [members, ...(data as Tensor2D).shape]);
}

/**
 * Each member's rows of `data` (shared or per member): [M, batch, k]. `indices` [M, batch] are rows of shared data,
 * or, for per-member data, rows of its flattened [M·rows, k] form (member m's row i is m·rows + i): in tfjs 4.22,
 * WASM's GatherV2 with batchDims returns wrong rows.
 */
function gatherRows(tf: Tf, data: Tensor2D | Tensor3D, indices: Tensor2D): Tensor3D {
  if (data.rank === 2) return tf.gather(data, indices) as Tensor3D;
  const [members, rows, width] = (data as Tensor3D).shape;
  const gathered: Tensor = tf.gather(tf.reshape(data, [members * rows, width]), indices);
  return gathered as Tensor3D;
}

/**
 * Each member's mean loss over its batch: [M], against targets per member ([M, rows, k]) or shared ([rows, k]).
 * Members' outputs never mix, so summing these keeps each member's gradient its own. Cross-entropy is one
 * native call on WASM, which reads shared targets where they lie (broadcasting them was a Tile per batch).
 */
export function memberLosses(tf: Tf, kind: LossKind, targets: Tensor2D | Tensor3D, outputs: Tensor3D): Tensor1D {
  if (kind === 'cross-entropy') return stackedSoftmaxCrossEntropy(targets, outputs);
  if (kind === 'binary-cross-entropy') return stackedSigmoidCrossEntropy(targets, outputs);
  return tf.mean(tf.losses.meanSquaredError(perMember(tf, targets, outputs.shape[0]), outputs, undefined, tf.Reduction.NONE), [1, 2]);
}

/** One member of a stacked training run: what differs between networks trained together. */
export interface StackedMember {
  learningRate: number;
  /** Decoupled weight decay wd (w ← w·(1 − lr·wd) before each step, as torch.optim.AdamW); default 0, none. */
  weightDecay?: number;
  /** Its visit order; every member must visit the same number of rows per epoch. */
  shuffle: VisitOrder;
}

export interface StackedTrainOptions extends TrainingLoopOptions {
  model: StackedMlp;
  train: StackedData;
  members: readonly StackedMember[];
  /**
   * Layers (0: the one reading the inputs) whose weights and biases keep their initial values, e.g. a
   * fixed random hidden layer under a trained readout (random features). Default: every layer trains.
   */
  frozenLayers?: readonly number[];
  /**
   * Called after each epoch (1-based) with which members are still training; a member whose entry in
   * the returned array is `'stop'` stops (early stopping): its weights are frozen from then on.
   */
  onEpoch?(epoch: number, training: readonly boolean[]): void | Array<'stop' | undefined> | Promise<void | Array<'stop' | undefined>>;
  /**
   * Pruned networks: each layer's 0/1 mask of its weights, [M, fanIn, fanOut]. Masked weights are set to
   * zero before training and after every update, so they stay exactly zero. Default: none.
   */
  weightMasks?: readonly Tensor3D[];
}

/** The variables training updates: every layer's weights and biases except those of the frozen layers. */
export function trainedVariables(model: StackedMlp, frozenLayers: readonly number[] = []): Variable[] {
  return model.variables.filter((_, i) => !frozenLayers.includes(Math.floor(i / 2)));
}

/** What trains: the networks of the members still training (`active`, indices into the whole stack), their optimizer state, rates and data. */
interface ActiveStack {
  active: number[];
  model: StackedMlp;
  optimizer: Optimizer;
  train: StackedData;
  negatedRates: Tensor3D;
  /** 1 − lr·wd per member, or undefined when none decays. */
  retention: Tensor | undefined;
  /** The weight masks of the members training, if any. */
  masks: readonly Tensor3D[] | undefined;
}

const savedStackSchema = z.strictObject({
  active: z.array(z.number().int().min(0)),
  model: z.array(z.instanceof(Float32Array)),
  /** The networks still training, when some members have stopped (else they are `model`). */
  training: z.array(z.instanceof(Float32Array)).nullable(),
  optimizer: snapshotSchema,
});

/**
 * Minibatch training of every member at once: one tidy scope per step, no reads back to JS; ends when
 * every member has stopped. Members that stop are dropped from the stack that trains (so they cost
 * nothing more); the rest are copied back into `model` after every epoch, before `onEpoch`. Every
 * member's visit order is drawn each epoch, stopped or not, so the order streams do not depend on when
 * members stop. Resumable inside training (see runEpochs).
 */
export async function trainStacked(options: StackedTrainOptions): Promise<void> {
  const { tf, model, train, members } = options;
  if (members.length !== model.members) throw new RangeError(`trainStacked: ${members.length} members for a stack of ${model.members}`);
  const loss = options.loss ?? 'cross-entropy';
  const rows = train.x.shape.at(-2)!;
  const flattenedRows = train.x.rank === 3;
  if (train.targets.rank !== train.x.rank) throw new RangeError('trainStacked: inputs and targets must both be shared (rank 2) or both per member (rank 3)');
  const schedule = (active: number[]) => ({
    negatedRates: tf.tensor3d(
      active.map((m) => -members[m]!.learningRate),
      [active.length, 1, 1],
    ),
    retention: retentionOf(
      tf,
      active.map((m) => members[m]!.learningRate),
      active.map((m) => members[m]!.weightDecay ?? 0),
    ),
  });
  let stack: ActiveStack = {
    active: members.map((_, m) => m),
    model,
    optimizer: createOptimizer(tf, options.optimizer, trainedVariables(model, options.frozenLayers)),
    train,
    ...schedule(members.map((_, m) => m)),
    masks: options.weightMasks,
  };
  const release = (old: ActiveStack) => {
    old.optimizer.dispose();
    [old.negatedRates, old.retention].forEach((tensor) => tensor?.dispose());
    if (old.model !== model) old.model.dispose();
    [old.train.x, old.train.targets].filter((tensor) => tensor !== train.x && tensor !== train.targets).forEach((tensor) => tensor.dispose());
    old.masks?.filter((mask) => !options.weightMasks!.includes(mask)).forEach((mask) => mask.dispose());
  };
  const retain = (active: number[]) => {
    const positions = tf.tensor1d(
      active.map((m) => stack.active.indexOf(m)),
      'int32',
    );
    const variables = selectMembers(tf, stack.model.variables, positions, true);
    const perMemberData = (data: Tensor2D | Tensor3D) => (data.rank === 2 ? data : tf.gather(data, positions));
    const retained = stackedMlpOf(tf, model.shape, variables);
    const next: ActiveStack = {
      active,
      model: retained,
      optimizer: stack.optimizer.retain(trainedVariables(retained, options.frozenLayers), positions),
      train: { x: perMemberData(stack.train.x), targets: perMemberData(stack.train.targets) },
      ...schedule(active),
      masks: stack.masks?.map((mask) => tf.gather(mask, positions)),
    };
    positions.dispose();
    release(stack);
    stack = next;
  };
  // Member m takes row `active.indexOf(m)` of the training stack if it is active, else keeps its own.
  const copyBack = () =>
    tf.tidy(() => {
      const source = tf.tensor1d(
        members.map((_, m) => (stack.active.includes(m) ? stack.active.indexOf(m) : stack.active.length + m)),
        'int32',
      );
      model.variables.forEach((variable, i) => variable.assign(tf.gather(tf.concat([stack.model.variables[i]!, variable]), source)));
    });
  const applyMasks = ({ model: training, masks }: ActiveStack) =>
    masks?.forEach((mask, layer) => training.weights[layer]!.assign(tf.mul(training.weights[layer]!, mask)));
  tf.tidy(() => applyMasks(stack));
  try {
    await runEpochs(options, {
      order: (epoch) => {
        const visits = members.map((member) => visitsOf(member.shuffle, epoch, rows));
        if (visits.some((order) => order.length !== visits[0]!.length))
          throw new RangeError('trainStacked: members must visit the same number of rows per epoch');
        // Per-member data is gathered from its flattened form: the order gives each member's rows there, so no
        // step adds the offsets (a broadcast int32 Add, slow on WASM).
        const length = visits[0]!.length;
        const flat = new Int32Array(stack.active.length * length);
        stack.active.forEach((m, position) => {
          const offset = flattenedRows ? position * rows : 0;
          for (let i = 0; i < length; i++) flat[position * length + i] = visits[m]![i]! + offset;
        });
        return tf.tensor2d(flat, [stack.active.length, length], 'int32');
      },
      step: (indices) => {
        const { model: training, optimizer, train: data, negatedRates, retention } = stack;
        const [xs, ys] = [gatherRows(tf, data.x, indices), gatherRows(tf, data.targets, indices)];
        const trained = trainedVariables(training, options.frozenLayers);
        const { grads } = tf.variableGrads(() => tf.sum(memberLosses(tf, loss, ys, training.logits(xs))), trained);
        optimizer.apply(
          trained.map((variable) => grads[variable.name]!),
          negatedRates,
          retention,
        );
        applyMasks(stack);
      },
      endEpoch: async (epoch) => {
        if (stack.model !== model) copyBack();
        const verdicts =
          (await options.onEpoch?.(
            epoch,
            members.map((_, m) => stack.active.includes(m)),
          )) ?? [];
        const active = stack.active.filter((m) => verdicts[m] !== 'stop');
        if (active.length === 0) return true;
        if (active.length < stack.active.length) retain(active);
        return false;
      },
      save: async () => ({
        active: stack.active,
        model: await Promise.all(model.variables.map(readValues)),
        training: stack.model === model ? null : await Promise.all(stack.model.variables.map(readValues)),
        optimizer: await stack.optimizer.save(),
      }),
      restore: (saved) => {
        const state = savedStackSchema.parse(saved);
        model.variables.forEach((variable, i) => assignValues(tf, variable, state.model[i] ?? null));
        if (state.training) {
          retain(state.active);
          stack.model.variables.forEach((variable, i) => assignValues(tf, variable, state.training![i] ?? null));
        }
        stack.optimizer.restore(state.optimizer);
      },
    });
  } finally {
    release(stack);
  }
}

/** Predicted class per example for every member ([M] arrays), in large batches with one read back per batch. */
export async function predictStackedClasses(tf: Tf, model: StackedMlp, x: Tensor2D | Tensor3D, batchSize = 1024): Promise<Int32Array[]> {
  const rows = x.shape.at(-2)!;
  const predictions = Array.from({ length: model.members }, () => new Int32Array(rows));
  await readBatches(
    tf,
    rows,
    batchSize,
    (start, size) => tf.argMax(model.logits(sliceRows(tf, x, start, size)), 2),
    (values, start, size) => predictions.forEach((memberPredictions, m) => memberPredictions.set(values.subarray(m * size, (m + 1) * size), start)),
  );
  return predictions;
}

/** Each member's mean loss over a whole data set (shared or per member), in large batches. */
export async function evaluateStackedLoss(tf: Tf, model: StackedMlp, data: StackedData, loss: LossKind, batchSize = 1024): Promise<number[]> {
  const rows = data.x.shape.at(-2)!;
  const totals = new Array<number>(model.members).fill(0);
  await readBatches(
    tf,
    rows,
    batchSize,
    (start, size) => memberLosses(tf, loss, sliceRows(tf, data.targets, start, size), model.logits(sliceRows(tf, data.x, start, size))),
    (values, _start, size) => values.forEach((value, m) => (totals[m]! += value * size)),
  );
  return totals.map((total) => total / rows);
}

/** Classification data sets of equal size, one per member, uploaded as one stack ([M, rows, k]). */
export interface StackedDataset extends StackedData {
  x: Tensor3D;
  targets: Tensor3D;
  sources: readonly Dataset[];
  dispose(): void;
}

export function uploadStackedDataset(tf: Tf, sources: readonly Dataset[]): StackedDataset {
  const [first] = sources;
  if (!first || sources.some((source) => source.size !== first.size || source.inputDim !== first.inputDim || source.classes !== first.classes)) {
    throw new RangeError('uploadStackedDataset: needs one or more data sets of one size, input width and class count');
  }
  const concatenated = <T extends Float32Array | Int32Array>(parts: readonly T[], make: (length: number) => T) => {
    const all = make(parts.length * parts[0]!.length);
    parts.forEach((part, m) => all.set(part, m * part.length));
    return all;
  };
  const x = tf.tensor3d(
    concatenated(
      sources.map((source) => source.x),
      (n) => new Float32Array(n),
    ),
    [sources.length, first.size, first.inputDim],
  );
  const targets = tf.tidy(() => {
    const labels = tf.tensor2d(
      concatenated(
        sources.map((source) => source.y),
        (n) => new Int32Array(n),
      ),
      [sources.length, first.size],
      'int32',
    );
    return tf.cast(tf.oneHot(labels, first.classes), 'float32') as Tensor3D;
  });
  return { x, targets, sources, dispose: () => [x, targets].forEach((t) => t.dispose()) };
}
