import type { Rng, Tf } from '@axiom/runner';
import type { Tensor2D, Variable } from '@tensorflow/tfjs-core';

/** The hidden layers' nonlinearity. */
export type Activation = 'relu' | 'tanh';

export interface MlpShape {
  inputDim: number;
  hidden: number[];
  outputDim: number;
  /** Default `relu`. */
  activation?: Activation;
}

export interface Mlp {
  shape: MlpShape;
  variables: Variable[];
  /** Each layer's weight matrix (fanIn × fanOut); `weights[0]` reads the inputs, one row per input column. */
  weights: Variable[];
  /** Logits for a batch. */
  logits(x: Tensor2D): Tensor2D;
  /** Post-activation output of every hidden layer, then the logits. */
  layers(x: Tensor2D): Tensor2D[];
  parameterCount: number;
  dispose(): void;
}

/**
 * He-uniform weights (for ReLU) drawn from the seeded stream, zero biases: identical on every backend.
 * `gain` multiplies He's scale (std √(2/fanIn)·gain): 1 is He's critical scale for ReLU.
 */
function heUniform(rng: Rng, fanIn: number, fanOut: number, gain: number): Float32Array {
  const limit = gain * Math.sqrt(6 / fanIn);
  const values = new Float32Array(fanIn * fanOut);
  for (let i = 0; i < values.length; i++) values[i] = (2 * rng.next() - 1) * limit;
  return values;
}

/** Each layer's [fanIn, fanOut] pair, inputs first. */
export function layerSizes(shape: MlpShape): Array<[number, number]> {
  const widths = [shape.inputDim, ...shape.hidden, shape.outputDim];
  return widths.slice(1).map((fanOut, layer) => [widths[layer]!, fanOut]);
}

/** Weights and biases of a network of this shape. */
export function parameterCount(shape: MlpShape): number {
  return layerSizes(shape).reduce((sum, [fanIn, fanOut]) => sum + fanIn * fanOut + fanOut, 0);
}

/** Every layer's initial weights (row-major fanIn × fanOut), drawn from `rng` in layer order; `gain` scales He's (default 1: He's). */
export function initialWeights(rng: Rng, shape: MlpShape, gain = 1): Float32Array[] {
  return layerSizes(shape).map(([fanIn, fanOut]) => heUniform(rng, fanIn, fanOut, gain));
}

/** An MLP (ReLU unless the shape says otherwise) whose hidden layers use tfjs's fused matmul + bias (+ ReLU; tanh after it, as tfjs has no fused tanh). */
export function createMlp(tf: Tf, rng: Rng, shape: MlpShape): Mlp {
  const sizes = layerSizes(shape);
  // Inside tidy so the initial tensors are freed once the variables hold their data.
  const weights = initialWeights(rng, shape).map((values, layer) => tf.tidy(() => tf.variable(tf.tensor2d(values, sizes[layer]), true)));
  const biases = sizes.map(([, fanOut]) => tf.tidy(() => tf.variable(tf.zeros([fanOut]), true)));
  const layers = (x: Tensor2D): Tensor2D[] => {
    const outputs: Tensor2D[] = [];
    let activation = x;
    weights.forEach((weight, layer) => {
      const last = layer === weights.length - 1;
      const tanh = !last && shape.activation === 'tanh';
      activation = tf.fused.matMul({ a: activation, b: weight, bias: biases[layer], activation: last || tanh ? 'linear' : 'relu' }) as Tensor2D;
      if (tanh) activation = tf.tanh(activation);
      outputs.push(activation);
    });
    return outputs;
  };
  const variables = weights.flatMap((weight, layer) => [weight, biases[layer]!]);
  return {
    shape,
    variables,
    weights,
    layers,
    logits: (x) => layers(x).at(-1)!,
    parameterCount: parameterCount(shape),
    dispose: () => variables.forEach((variable) => variable.dispose()),
  };
}
