import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend, WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';

/**
 * tfjs-backend-webgpu 4.22's matrix products (BatchMatMul and _FusedMatMul: MatMulPackedProgram,
 * MatMulSmallOutputSizeProgram, MatMulReduceProgram, MatMulSplitKProgram) read their B operand with no
 * bounds check (matMulReadFnSource's `mm_readB`), though `mm_readA` checks A's. When the inner dimension K
 * is not a multiple of the tile's, the last tile reads rows K… of B, which are the next batch's matrix, and
 * relies on A's zero padding to cancel them; but 0 × NaN and 0 × ±∞ are NaN. So in a batched product, a batch
 * whose B holds a non-finite value turns the products of the batches before it to NaN: in a stack of networks
 * ([M, rows, in] × [M, in, out]), a member that diverges poisons the members before it. Not a driver bug: the
 * shader reads the neighbouring batch on any adapter. Evidence (lavapipe, Mesa 25.0.7): [5, 32, 20] ×
 * [5, 20, 32] with member 3's weights all NaN gives NaN in members 2 and 3 (the plain JS backend: member 3
 * only); with K = 5, in members 0–3 (test/webgpu-matmul.test.ts checks the stock kernel still does this).
 * A replica of weight-init's depth-8 stack (20 inputs, width 32, gains ¼–4, SGD): the gain-4 and gain-2 members'
 * losses are NaN by the third and fifth steps on the plain JS backend and on WebGPU alike; on WebGPU the
 * gain-1 member's loss is NaN at the fifth step too (plain JS: finite, and it trains). Smoke presets, seed 20261125: weight-init's depth-8 members
 * all end at chance (0.2325) where WASM's gains ½ and 1 reach 0.25 and 0.9775; in critical-batch-size at batch
 * size 4, the member at rate 1 diverges at step 25 and those at 0.0625 and 0.25 stop there too (WASM: they
 * train 181 steps, 0.0625 reaching the target at 178). With this patch both give WASM's values.
 * This makes `mm_readB` return 0 past row K, as tfjs's own conv kernels' `mm_readB` does. Finite products
 * are unchanged: a product with A's padding was already ±0.
 */
export const WEBGPU_MATMUL_BOUNDS_PATCH = 'webgpu-matmul-bounds (matMul reads B only inside the inner dimension)';
const PATCHED_FOR_TFJS = '4.22.0';
/** The uniforms every matMul program declares first (the conv kernels declare others before them). */
const MATMUL_UNIFORMS = 'dimAOuter : i32, dimBOuter : i32, dimInner : i32,';
/** matMulReadFnSource's `mm_readB`: the declaration and zero, then the unchecked read (`row` is the inner index, transposed or not). */
const UNCHECKED_READ_B = /(fn mm_readB\(batch: i32, row: i32, col: i32\) -> [^{]*\{\s*var value = [^;]*;\s*)(value = getB\([^;]*\);)/;

/** A matMul program's shader with `mm_readB` bounded by K; any other program as it is. */
function withBoundedReadsOfB(program: WebGPUProgram): WebGPUProgram {
  if (!program.uniforms?.startsWith(MATMUL_UNIFORMS)) return program;
  const stock = program.getUserCode.bind(program);
  program.getUserCode = () => {
    const code = stock();
    // The shader this relies on is version-specific: refuse rather than run the unchecked read.
    if (!UNCHECKED_READ_B.test(code)) throw new Error(`webgpu matmul patch: no mm_readB of tfjs ${PATCHED_FOR_TFJS}'s form in ${program.shaderKey}`);
    return code.replace(UNCHECKED_READ_B, '$1if (row < uniforms.dimInner) { $2 }');
  };
  // Compiled pipelines are cached by shader key (which runWebGPUProgram extends from this one).
  program.shaderKey += '_boundedB';
  return program;
}

/** Installs the patch on a WebGPU backend before it runs anything. */
export function patchWebgpuMatMulBounds(backend: WebGPUBackend): void {
  const found: string = tf.version_core;
  if (found !== PATCHED_FOR_TFJS) throw new Error(`webgpu matmul patch was written for tfjs ${PATCHED_FOR_TFJS}, found ${found}`);
  const stock = backend.runWebGPUProgram.bind(backend);
  backend.runWebGPUProgram = (program, ...rest) => stock(withBoundedReadsOfB(program), ...rest);
}
