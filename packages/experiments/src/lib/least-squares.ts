import type { Rng } from '@axiom/runner';

/**
 * Random ReLU features (Rahimi & Recht 2007; Belkin et al. 2019): φ_j(x) = max(0, w_j · x) with w_j ~ N(0, I / inputDim),
 * drawn once and never trained. Row-major weights, `count` rows of `inputDim`; a prefix of rows is a smaller draw.
 */
export function randomReluWeights(rng: Rng, inputDim: number, count: number): Float64Array {
  const weights = new Float64Array(count * inputDim);
  for (let i = 0; i < weights.length; i++) weights[i] = rng.normal() / Math.sqrt(inputDim);
  return weights;
}

/** The features of `rows` inputs (row-major `x`) under the first `count` rows of `weights`: a row-major rows × count matrix. */
export function reluFeatures(x: ArrayLike<number>, rows: number, inputDim: number, weights: Float64Array, count: number): Float64Array {
  const features = new Float64Array(rows * count);
  for (let r = 0; r < rows; r++) writeReluFeatures(x, r, inputDim, weights, count, features.subarray(r * count, (r + 1) * count));
  return features;
}

function writeReluFeatures(x: ArrayLike<number>, row: number, inputDim: number, weights: Float64Array, count: number, out: Float64Array): void {
  for (let j = 0; j < count; j++) {
    let sum = 0;
    for (let d = 0; d < inputDim; d++) sum += x[row * inputDim + d]! * weights[j * inputDim + d]!;
    out[j] = sum > 0 ? sum : 0;
  }
}

/**
 * The readout's outputs (rows × outputs) on `rows` inputs through the first `count` features: one input's features at a
 * time, so a large test set never holds its whole feature matrix (2000 inputs × 2400 features would be 38 MB).
 */
export function randomFeatureOutputs(
  x: ArrayLike<number>,
  rows: number,
  inputDim: number,
  weights: Float64Array,
  count: number,
  readout: Float64Array,
  outputs: number,
): Float64Array {
  const result = new Float64Array(rows * outputs);
  const features = new Float64Array(count);
  for (let r = 0; r < rows; r++) {
    writeReluFeatures(x, r, inputDim, weights, count, features);
    result.set(multiply(features, readout, 1, count, outputs), r * outputs);
  }
  return result;
}

/** The Gram matrix of a row-major rows × cols A: AAᵀ (rows × rows) with `ofRows`, else AᵀA (cols × cols). */
function gram(a: Float64Array, rows: number, cols: number, ofRows: boolean): Float64Array {
  const size = ofRows ? rows : cols;
  const result = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = 0;
      if (ofRows) for (let k = 0; k < cols; k++) sum += a[i * cols + k]! * a[j * cols + k]!;
      else for (let k = 0; k < rows; k++) sum += a[k * cols + i]! * a[k * cols + j]!;
      result[i * size + j] = sum;
      result[j * size + i] = sum;
    }
  }
  return result;
}

/** Solves (G + ridge·I) X = B in place of B for a symmetric positive semi-definite size × size G, by Cholesky; B is size × outputs. */
function choleskySolve(g: Float64Array, size: number, b: Float64Array, outputs: number, ridge: number): void {
  const l = Float64Array.from(g);
  for (let i = 0; i < size; i++) l[i * size + i]! += ridge;
  for (let j = 0; j < size; j++) {
    let diagonal = l[j * size + j]!;
    for (let k = 0; k < j; k++) diagonal -= l[j * size + k]! ** 2;
    if (!(diagonal > 0)) throw new RangeError(`Gram matrix not positive definite at row ${j}`);
    const pivot = Math.sqrt(diagonal);
    l[j * size + j] = pivot;
    for (let i = j + 1; i < size; i++) {
      let sum = l[i * size + j]!;
      for (let k = 0; k < j; k++) sum -= l[i * size + k]! * l[j * size + k]!;
      l[i * size + j] = sum / pivot;
    }
  }
  for (let o = 0; o < outputs; o++) {
    // L y = b, then Lᵀ x = y.
    for (let i = 0; i < size; i++) {
      let sum = b[i * outputs + o]!;
      for (let k = 0; k < i; k++) sum -= l[i * size + k]! * b[k * outputs + o]!;
      b[i * outputs + o] = sum / l[i * size + i]!;
    }
    for (let i = size - 1; i >= 0; i--) {
      let sum = b[i * outputs + o]!;
      for (let k = i + 1; k < size; k++) sum -= l[k * size + i]! * b[k * outputs + o]!;
      b[i * outputs + o] = sum / l[i * size + i]!;
    }
  }
}

/**
 * The minimum-norm least-squares solution W (cols × outputs) of A W ≈ Y for a row-major rows × cols A and rows × outputs Y:
 * with fewer columns than rows, the least-squares fit (AᵀA)⁻¹AᵀY; with at least as many, the minimum-norm interpolant
 * Aᵀ(AAᵀ)⁻¹Y. Each solves the smaller Gram matrix G, in float64, by Cholesky. Near the threshold (cols ≈ rows) G is
 * nearly singular and float64 knows its eigenvalues only to about size · ε · trace(G), so that much ridge is added:
 * below it an eigenvalue is rounding (the Gram analogue of pinv's cutoff, max(m, n) · ε · σ_max), and without it
 * Cholesky can meet a negative pivot. At double-descent's threshold (300 × 300) it is 2e-11 of G's mean diagonal,
 * against smallest eigenvalues of 7e-9 to 1.3e-7 of it in three draws: it moves no reported digit of the errors.
 */
export function minimumNormLeastSquares(a: Float64Array, rows: number, cols: number, y: Float64Array, outputs: number): Float64Array {
  const overParameterised = cols >= rows;
  const size = overParameterised ? rows : cols;
  const g = gram(a, rows, cols, overParameterised);
  let trace = 0;
  for (let i = 0; i < size; i++) trace += g[i * size + i]!;
  const ridge = size * Number.EPSILON * trace;
  if (overParameterised) {
    const dual = Float64Array.from(y);
    choleskySolve(g, size, dual, outputs, ridge);
    return multiply(a, dual, rows, cols, outputs, true);
  }
  const solution = multiply(a, y, rows, cols, outputs, true);
  choleskySolve(g, size, solution, outputs, ridge);
  return solution;
}

/** For a row-major rows × cols A: AB (rows × outputs, B cols × outputs), or with `transposeA` AᵀB (cols × outputs, B rows × outputs). */
export function multiply(a: Float64Array, b: Float64Array, rows: number, cols: number, outputs: number, transposeA = false): Float64Array {
  const result = new Float64Array((transposeA ? cols : rows) * outputs);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const value = a[r * cols + c]!;
      if (value === 0) continue; // ReLU features are about half zeros
      for (let o = 0; o < outputs; o++) {
        if (transposeA) result[c * outputs + o]! += value * b[r * outputs + o]!;
        else result[r * outputs + o]! += value * b[c * outputs + o]!;
      }
    }
  }
  return result;
}
