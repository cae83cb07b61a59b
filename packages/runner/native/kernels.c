/*
 * Kernels of our own for tfjs's WASM backend, where its own cost more in calls and copies than in arithmetic.
 *
 * Stacked dense layers (dense.h, shared with the build for the host CPU): y = act(x·W + b) and the three
 * gradients of it, each in one call. tfjs runs a layer as separate ops (a batched matMul that XNNPACK takes one
 * member at a time, rebuilding its operator and repacking the weights on every call, then the bias add, then
 * the activation) and its gradient as a dozen more; at these sizes the calls cost more than the arithmetic.
 * Plain C with WASM SIMD128, no libc: build with packages/runner/scripts/build-kernels.mjs. Every sum runs
 * in a fixed order, so results are the same on every machine.
 *
 * The module imports the WASM backend's own memory and works on tensors where they lie, so nothing is
 * copied; it keeps no data and no stack of its own there (the caller passes every buffer, scratch and tables
 * included, allocated by the backend's malloc).
 */
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name))) void name

#define LANES 4
#include "dense.h"

/* 4 × 4 blocks transposed in registers, the edges one by one. */
static void pack_transposed(const float *src, int rows, int cols, float *dst, int ld) {
  int r = 0;
  for (; r + 4 <= rows; r += 4) {
    int j = 0;
    for (; j + 4 <= cols; j += 4) {
      const float *block = src + r * cols + j;
      const v128_t a0 = wasm_v128_load(block), a1 = wasm_v128_load(block + cols);
      const v128_t a2 = wasm_v128_load(block + 2 * cols), a3 = wasm_v128_load(block + 3 * cols);
      const v128_t low01 = wasm_i32x4_shuffle(a0, a1, 0, 4, 1, 5), high01 = wasm_i32x4_shuffle(a0, a1, 2, 6, 3, 7);
      const v128_t low23 = wasm_i32x4_shuffle(a2, a3, 0, 4, 1, 5), high23 = wasm_i32x4_shuffle(a2, a3, 2, 6, 3, 7);
      wasm_v128_store(dst + j * ld + r, wasm_i32x4_shuffle(low01, low23, 0, 1, 4, 5));
      wasm_v128_store(dst + (j + 1) * ld + r, wasm_i32x4_shuffle(low01, low23, 2, 3, 6, 7));
      wasm_v128_store(dst + (j + 2) * ld + r, wasm_i32x4_shuffle(high01, high23, 0, 1, 4, 5));
      wasm_v128_store(dst + (j + 3) * ld + r, wasm_i32x4_shuffle(high01, high23, 2, 3, 6, 7));
    }
    for (; j < cols; j++)
      for (int i = r; i < r + 4; i++) dst[j * ld + i] = src[i * cols + j];
  }
  for (; r < rows; r++)
    for (int j = 0; j < cols; j++) dst[j * ld + r] = src[r * cols + j];
  for (int j = 0; j < cols; j++)
    for (int i = rows; i < ld; i++) dst[j * ld + i] = 0.0f;
}

/* Scratch: dense_forward_scratch(in, out) floats. */
EXPORT(dense_forward)(const float *x, int x_member_stride, const float *w, const float *bias, float *y, int members, int rows, int in,
                      int out, int relu, float *scratch) {
  dense_forward_with(x, x_member_stride, w, bias, y, members, rows, in, out, relu, scratch);
}

/* Scratch: dense_backprop_input_scratch(rows, in, out) floats. */
EXPORT(dense_backprop_input)(const float *dy, const float *y, const float *w, float *dx, int members, int rows, int in, int out,
                             int relu, float *scratch) {
  dense_backprop_input_with(dy, y, w, dx, members, rows, in, out, relu, scratch);
}

/* Scratch: dense_backprop_filter_scratch(rows, out) floats. */
EXPORT(dense_backprop_filter)(const float *dy, const float *y, const float *x, int x_member_stride, float *dw, int members, int rows,
                              int in, int out, int relu, float *scratch) {
  dense_backprop_filter_with(dy, y, x, x_member_stride, dw, members, rows, in, out, relu, scratch);
}

/* db = Σ over rows of dy ⊙ act'(y), [M, out], each column's rows summed in order. */
EXPORT(dense_bias_grad)(const float *dy, const float *y, float *db, int members, int rows, int out, int relu) {
  for (int m = 0; m < members; m++) {
    float *sums = db + m * out;
    for (int j = 0; j < out; j++) sums[j] = 0.0f;
    for (int r = 0; r < rows; r++) {
      const int at = (m * rows + r) * out;
      int j = 0;
      for (; j + LANES <= out; j += LANES) store(sums + j, load(sums + j) + masked_gradient(dy + at + j, y + at + j, relu));
      for (; j < out; j++) sums[j] += masked_gradient_scalar(dy + at + j, y + at + j, relu);
    }
  }
}

/*
 * out = Σ_k weights_k[m] · terms_k for each member m (terms [M, size], one weight per member and term), as tfjs's
 * AddN over the Multiply of each term by its [M, 1, 1] weight computes it (to the bit): each product rounded, then
 * summed in order from 0. Three terms.
 */
/* out[start, end) += term · weight, each product rounded before the sum. */
static void add_weighted(float *out, const float *term, float weight, int start, int end) {
  const v128_t splat = wasm_f32x4_splat(weight);
  int i = start;
  for (; i + 4 <= end; i += 4) wasm_v128_store(out + i, wasm_f32x4_add(wasm_v128_load(out + i), wasm_f32x4_mul(wasm_v128_load(term + i), splat)));
  for (; i < end; i++) out[i] += term[i] * weight;
}

EXPORT(weighted_sum)(const float *w0, const float *x0, const float *w1, const float *x1, const float *w2, const float *x2, float *out, int members,
                     int size) {
  for (int m = 0; m < members; m++) {
    const int start = m * size, end = start + size;
    for (int i = start; i < end; i++) out[i] = 0.0f;
    add_weighted(out, x0, w0[m], start, end);
    add_weighted(out, x1, w1[m], start, end);
    add_weighted(out, x2, w2[m], start, end);
  }
}

/*
 * Gather of whole rows: out[i] = x[indices[i]] for rows of `width` floats, as tfjs's GatherV2 on axis 0
 * (which works element by element with strides; this copies rows). Returns the position of the first index
 * outside [0, rows), or -1 when all are in range (nothing is copied then).
 */
__attribute__((export_name("gather_rows"))) int gather_rows(const float *x, int rows, int width, const int *indices, int count, float *out) {
  for (int i = 0; i < count; i++)
    if (indices[i] < 0 || indices[i] >= rows) return i;
  for (int i = 0; i < count; i++) __builtin_memcpy(out + i * width, x + indices[i] * width, width * sizeof(float));
  return -1;
}

/*
 * One Adam step on one variable, as tfjs's ops compute it, operation for operation in float32 (so the result
 * is the same to the bit): m' = m·β1 + g·(1 − β1); v' = v·β2 + g²·(1 − β2); the step
 * (m' / c1) / (√(v' / c2) + ε), with c1, c2 the bias corrections 1 − β^t (one float each); w' = step·(−lr) + w·retention
 * (decoupled weight decay; w itself when `retention` is 0). The variable is `count` blocks of `block`
 * elements; block b takes rate b (and retention b) when `rates` is count long, else the one rate.
 */
__attribute__((export_name("adam_update"))) void adam_update(const float *w, const float *g, const float *m, const float *v, const float *first_correction_at,
                                                             const float *second_correction_at,
                                                             const float *negated_rates, const float *retention, int rates, int count, int block,
                                                             float beta1, float one_minus_beta1, float beta2, float one_minus_beta2, float epsilon,
                                                             float *w_out, float *m_out, float *v_out) {
  const v128_t b1 = wasm_f32x4_splat(beta1), c1 = wasm_f32x4_splat(one_minus_beta1), b2 = wasm_f32x4_splat(beta2);
  const v128_t c2 = wasm_f32x4_splat(one_minus_beta2), eps = wasm_f32x4_splat(epsilon);
  const float first_correction_value = *first_correction_at, second_correction_value = *second_correction_at;
  const v128_t first_correction = wasm_f32x4_splat(first_correction_value), second_correction = wasm_f32x4_splat(second_correction_value);
  for (int b = 0; b < count; b++) {
    const int r = rates == count ? b : 0;
    const v128_t rate = wasm_f32x4_splat(negated_rates[r]), keep = wasm_f32x4_splat(retention ? retention[r] : 1.0f);
    const int start = b * block, end = start + block;
    int i = start;
    for (; i + 4 <= end; i += 4) {
      const v128_t gradient = wasm_v128_load(g + i);
      const v128_t first = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(m + i), b1), wasm_f32x4_mul(gradient, c1));
      const v128_t second = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(v + i), b2), wasm_f32x4_mul(wasm_f32x4_mul(gradient, gradient), c2));
      const v128_t step = wasm_f32x4_div(wasm_f32x4_div(first, first_correction),
                                         wasm_f32x4_add(wasm_f32x4_sqrt(wasm_f32x4_div(second, second_correction)), eps));
      const v128_t weight = retention ? wasm_f32x4_mul(wasm_v128_load(w + i), keep) : wasm_v128_load(w + i);
      wasm_v128_store(w_out + i, wasm_f32x4_add(wasm_f32x4_mul(step, rate), weight));
      wasm_v128_store(m_out + i, first);
      wasm_v128_store(v_out + i, second);
    }
    for (; i < end; i++) {
      const float first = m[i] * beta1 + g[i] * one_minus_beta1;
      const float second = v[i] * beta2 + (g[i] * g[i]) * one_minus_beta2;
      const float step = (first / first_correction_value) / (__builtin_sqrtf(second / second_correction_value) + epsilon);
      w_out[i] = step * negated_rates[r] + (retention ? w[i] * retention[r] : w[i]);
      m_out[i] = first;
      v_out[i] = second;
    }
  }
}

/*
 * expf and logf as musl computes them (ARM's optimized routines: a table and a polynomial in double), term for
 * term: tfjs-backend-wasm's Exp and Log kernels are musl's, compiled by emscripten, so these give their results
 * to the bit. The tables (musl's exp2f_data.c and logf_data.c, as tfjs's module has them) are the caller's,
 * allocated in the backend's memory (MATH_TABLES in native-kernels.ts): this module must place no data of its
 * own in a memory it imports, where instantiating it would write its data segments over the backend's.
 */
struct math_tables {
  unsigned long long exp2[32]; /* the bits of 2^(i/32), less i << 47 */
  struct {
    double invc, logc;
  } log[16];
};

static unsigned int float_bits(float x) { union { float f; unsigned int u; } v = {.f = x}; return v.u; }
static float bits_float(unsigned int u) { union { unsigned int u; float f; } v = {.u = u}; return v.f; }
static unsigned long long double_bits(double x) { union { double d; unsigned long long u; } v = {.d = x}; return v.u; }
static double bits_double(unsigned long long u) { union { unsigned long long u; double d; } v = {.u = u}; return v.d; }

static float exp_f32(float x, const struct math_tables *tables) {
  const unsigned int abstop = (float_bits(x) >> 20) & 0x7ff;
  if (abstop >= 0x42b) { /* |x| ≥ 88, or not finite */
    if (float_bits(x) == 0xff800000u) return 0.0f;
    if (abstop >= 0x7f8) return x + x;
    if (x > 0x1.62e42ep6f) return __builtin_inff();
    if (x < -0x1.9fe368p6f) return 0.0f;
  }
  /* x = k·ln2/32 + r; exp(x) = 2^(k/32) · exp(r), 2^(k/32) from the table, exp(r) a polynomial. */
  const double z = 0x1.71547652b82fep5 * (double)x;
  double kd = z + 0x1.8p52;
  const unsigned long long ki = double_bits(kd);
  kd -= 0x1.8p52;
  const double r = z - kd;
  const double s = bits_double(tables->exp2[ki % 32] + (ki << 47));
  const double y = (0x1.c6af84b912394p-20 * r + 0x1.ebfce50fac4f3p-13) * (r * r) + (0x1.62e42ff0c52d6p-6 * r + 1.0);
  return (float)(y * s);
}

static float log_f32(float x, const struct math_tables *tables) {
  unsigned int ix = float_bits(x);
  if (ix == 0x3f800000u) return 0.0f;
  if (ix - 0x00800000u >= 0x7f800000u - 0x00800000u) { /* zero, subnormal, negative, or not finite */
    if (ix * 2 == 0) return -__builtin_inff();
    if (ix == 0x7f800000u) return x;
    if ((ix & 0x80000000u) || ix * 2 >= 0xff000000u) return (x - x) / (x - x);
    ix = float_bits(x * 0x1p23f) - (23u << 23);
  }
  /* x = 2^k · z, z in [0x1.66p-1, 0x1.66p0) (as musl's subnormal path leaves it); log(x) = k·ln2 + log(c) + log(z/c). */
  const unsigned int tmp = ix - 0x3f330000u;
  const int i = (tmp >> 19) % 16, k = (int)tmp >> 23;
  const double z = (double)bits_float(ix - (tmp & 0xff800000u));
  const double r = z * tables->log[i].invc - 1.0;
  const double y0 = tables->log[i].logc + (double)k * 0x1.62e42fefa39efp-1;
  const double r2 = r * r;
  const double y = (-0x1.00ea348b88334p-2 * r2 + (0x1.5575b0be00b6ap-2 * r + -0x1.ffffef20a4123p-2)) * r2 + (y0 + r);
  return (float)y;
}

/*
 * Softmax cross-entropy of a stack of classifiers, as tfjs's ops compute softmaxCrossEntropy (no smoothing, no
 * weights) and then the mean over rows, operation for operation in float32 (so the losses and gradients are the
 * same to the bit): per row, lse = max + log Σ exp(x − max), each sum in order from 0; the loss is
 * Σ −((x − lse)·y); losses[m] = (Σ over rows) / rows. `residual` ← exp(x − lse) − y, what the gradient
 * scales (cross_entropy_backprop). Logits and residual [M, rows, classes] (classes ≥ 1); targets the same,
 * or [rows, classes] shared by every member (member stride 0).
 */
EXPORT(softmax_cross_entropy)(const float *logits, const float *targets, int targets_member_stride, float *losses, float *residual, int members,
                              int rows, int classes, const struct math_tables *tables) {
  for (int m = 0; m < members; m++) {
    float total = 0.0f;
    for (int r = 0; r < rows; r++) {
      const int at = (m * rows + r) * classes;
      const float *x = logits + at, *y = targets + m * targets_member_stride + r * classes;
      float max = x[0]; /* tfjs's Max: NaN wins, else the first of the largest */
      for (int c = 1; c < classes; c++) max = x[c] != x[c] ? x[c] : (max < x[c] ? x[c] : max);
      float sum = 0.0f;
      for (int c = 0; c < classes; c++) sum += exp_f32(x[c] - max, tables);
      const float lse = max + log_f32(sum, tables);
      float cost = 0.0f;
      for (int c = 0; c < classes; c++) {
        const float log_probability = x[c] - lse;
        cost += -(log_probability * y[c]);
        residual[at + c] = exp_f32(log_probability, tables) - y[c];
      }
      total += cost;
    }
    losses[m] = total / (float)rows;
  }
}

/*
 * A mean cross-entropy's gradient: dlogits = (dy[m] / mean_count) · residual over each member's `count` values, the
 * mean's gradient and then the loss's, as tfjs's ops compute them (softmax: the mean is over rows; sigmoid: over
 * every output).
 */
EXPORT(cross_entropy_backprop)(const float *dy, const float *residual, float *dlogits, int members, int count, int mean_count) {
  for (int m = 0; m < members; m++) {
    const float scale = dy[m] / (float)mean_count;
    const v128_t scales = wasm_f32x4_splat(scale);
    const int start = m * count, end = start + count;
    int i = start;
    for (; i + 4 <= end; i += 4) wasm_v128_store(dlogits + i, wasm_f32x4_mul(scales, wasm_v128_load(residual + i)));
    for (; i < end; i++) dlogits[i] = scale * residual[i];
  }
}

/*
 * Each member's mean sigmoid cross-entropy over its `count` outputs (rows × parts, each a yes/no answer): per
 * output max(z, 0) − z·t + log(1 + e^−|z|), the form that neither overflows nor loses small losses, summed in
 * double; `residual` ← σ(z) − t, the gradient per unit of the output's loss (cross_entropy_backprop scales it by
 * the mean over every output). Logits and residual [M, count]; targets the
 * same, or [count] shared by every member (member stride 0). With e = e^−|z| and its sum d = 1 + e (rounded),
 * σ(z) is 1/d or e/d, and log(1 + e) is log d corrected by what the rounding lost, (e − (d − 1))/d: one division.
 */
EXPORT(sigmoid_cross_entropy)(const float *logits, const float *targets, int targets_member_stride, float *losses, float *residual, int members,
                              int count, const struct math_tables *tables) {
  for (int m = 0; m < members; m++) {
    double total = 0.0;
    for (int i = 0; i < count; i++) {
      const int at = m * count + i;
      const float z = logits[at], t = targets[m * targets_member_stride + i];
      const float e = exp_f32(-__builtin_fabsf(z), tables);
      const float d = 1.0f + e, inverse = 1.0f / d;
      const float softplus = log_f32(d, tables) + (e - (d - 1.0f)) * inverse;
      total += (double)(((z > 0.0f ? z : 0.0f) - z * t) + softplus);
      residual[at] = (z >= 0.0f ? inverse : e * inverse) - t;
    }
    losses[m] = (float)(total / (double)count);
  }
}
