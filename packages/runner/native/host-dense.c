/*
 * The stacked dense layers of dense.h in this CPU's machine code: the same sums in the same order as the WASM
 * build (kernels.c), so the same bits, at the speed of the host's vector units. Compiled once per instruction set
 * (scripts/build-host-kernels.mjs: AVX-512 with LANES 16, AVX2 with 8, the architecture's baseline with 4), each
 * copy's functions named with its VARIANT; host-kernels.c picks the widest the CPU has when it loads. Build
 * with -ffp-contract=off (see dense.h).
 */
#include <stdlib.h>

#include "dense.h"

#define JOIN(name, variant) name##_##variant
#define NAMED(name, variant) JOIN(name, variant)

/* dst [cols × ld] ← srcᵀ, zeros in the padding: a copy, small beside the product that follows it. */
static void pack_transposed(const float *src, int rows, int cols, float *dst, int ld) {
  for (int j = 0; j < cols; j++) {
    for (int r = 0; r < rows; r++) dst[j * ld + r] = src[r * cols + j];
    for (int r = rows; r < ld; r++) dst[j * ld + r] = 0.0f;
  }
}

/* Scratch for the calls on this thread, grown to the largest asked for and kept: a layer asks for the same every step. */
static _Thread_local float *scratch;
static _Thread_local size_t scratch_floats;

/* `floats` ≥ 1: the caller refuses empty layers. */
static float *scratch_of(size_t floats) {
  if (floats > scratch_floats) {
    float *grown = realloc(scratch, floats * sizeof(float));
    if (!grown) return 0;
    scratch = grown;
    scratch_floats = floats;
  }
  return scratch;
}

/* Each returns 0, or -1 when its scratch could not be allocated (nothing is written then). */
int NAMED(host_dense_forward, VARIANT)(const float *x, int x_member_stride, const float *w, const float *bias, float *y, int members, int rows,
                                        int in, int out, int relu) {
  float *work = scratch_of((size_t)dense_forward_scratch(in, out));
  if (!work) return -1;
  dense_forward_with(x, x_member_stride, w, bias, y, members, rows, in, out, relu, work);
  return 0;
}

int NAMED(host_dense_backprop_input, VARIANT)(const float *dy, const float *y, const float *w, float *dx, int members, int rows, int in, int out,
                                               int relu) {
  float *work = scratch_of((size_t)dense_backprop_input_scratch(rows, in, out));
  if (!work) return -1;
  dense_backprop_input_with(dy, y, w, dx, members, rows, in, out, relu, work);
  return 0;
}

int NAMED(host_dense_backprop_filter, VARIANT)(const float *dy, const float *y, const float *x, int x_member_stride, float *dw, int members,
                                                int rows, int in, int out, int relu) {
  float *work = scratch_of((size_t)dense_backprop_filter_scratch(rows, out));
  if (!work) return -1;
  dense_backprop_filter_with(dy, y, x, x_member_stride, dw, members, rows, in, out, relu, work);
  return 0;
}
