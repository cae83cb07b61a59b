import type { Rng, Tf } from '@axiom/runner';
import type { Tensor2D, Variable } from '@tensorflow/tfjs-core';

export interface MlpShape {
  inputDim: number;
  hidden: number[];
  outputDim: number;
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

/** He-uniform weights (for ReLU) drawn from the seeded stream, zero biases: identical on every backend. */
function heUniform(rng: Rng, fanIn: number, fanOut: number): Float32Array {
  const limit = Math.sqrt(6 / fanIn);
  const values = new Float32Array(fanIn * fanOut);
  for (let i = 0; i < values.length; i++) values[i] = (2 * rng.next() - 1) * limit;
  return values;
}

/** A ReLU MLP whose hidden layers use tfjs's fused matmul + bias + activation. */
export function createMlp(tf: Tf, rng: Rng, shape: MlpShape): Mlp {
  const widths = [shape.inputDim, ...shape.hidden, shape.outputDim];
  const weights: Variable[] = [];
  const biases: Variable[] = [];
  for (let layer = 0; layer + 1 < widths.length; layer++) {
    const fanIn = widths[layer]!;
    const fanOut = widths[layer + 1]!;
    // Inside tidy so the initial tensors are freed once the variables hold their data.
    weights.push(tf.tidy(() => tf.variable(tf.tensor2d(heUniform(rng, fanIn, fanOut), [fanIn, fanOut]), true)));
    biases.push(tf.tidy(() => tf.variable(tf.zeros([fanOut]), true)));
  }
  const layers = (x: Tensor2D): Tensor2D[] => {
    const outputs: Tensor2D[] = [];
    let activation = x;
    weights.forEach((weight, layer) => {
      const last = layer === weights.length - 1;
      activation = tf.fused.matMul({ a: activation, b: weight, bias: biases[layer], activation: last ? 'linear' : 'relu' }) as Tensor2D;
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
    parameterCount: variables.reduce((sum, variable) => sum + variable.size, 0),
    dispose: () => variables.forEach((variable) => variable.dispose()),
  };
}
