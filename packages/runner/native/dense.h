/*
 * Stacked dense layers: for each of M networks, y = act(x·W + b), and the products of its gradient. Written once
 * with the compiler's generic vectors, for two builds: kernels.c (WASM SIMD128, 4 lanes) and host-dense.c (this
 * CPU's machine code, 4 to 16 lanes). Every output element is the same sum in the same order in both, (((0 + a₀b₀) + a₁b₁)
 * + …) then + bias then ReLU, each a separate float32 multiply or add (build with -ffp-contract=off: a fused
 * multiply-add rounds once and would change the bits), so the two builds give the same results to the bit.
 *
 * Layouts are row-major and dense, as tfjs keeps them: x [M or 1, rows, in] (a member stride of 0 shares one x),
 * W [M, in, out], b [M, out], y and dy [M, rows, out]. `relu` selects max(·, 0) as the activation (else none).
 *
 * The includer defines LANES (4, 8 or 16) and provides pack_transposed (below), whose fast form is its own.
 */
#ifndef LANES
#error "define LANES (floats in a vector) before including dense.h"
#endif

typedef float floats __attribute__((vector_size(LANES * 4)));
typedef int ints __attribute__((vector_size(LANES * 4)));
/* The same, at any float's address: tensors lie unaligned. */
typedef float unaligned_floats __attribute__((vector_size(LANES * 4), aligned(4), may_alias));

/* A tile is TILE_ROWS rows × two vectors of columns; operands B are packed with rows padded to its width. */
#define TILE_COLUMNS (2 * LANES)
#define TILE_ROWS 6

static int padded(int n) { return (n + TILE_COLUMNS - 1) / TILE_COLUMNS * TILE_COLUMNS; }

static inline floats load(const float *p) { return *(const unaligned_floats *)p; }
static inline void store(float *p, floats v) { *(unaligned_floats *)p = v; }
/* Written out: a loop over the lanes would build the vector in memory. */
#if LANES == 4
static inline floats splat(float x) { return (floats){x, x, x, x}; }
#elif LANES == 8
static inline floats splat(float x) { return (floats){x, x, x, x, x, x, x, x}; }
#elif LANES == 16
static inline floats splat(float x) { return (floats){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x}; }
#else
#error "LANES must be 4, 8 or 16"
#endif

/* max(v, 0) as WASM's f32x4.max computes it: v where v > 0, NaN where v is NaN, else +0. */
static inline floats relu_of(floats v) { return (floats)((ints)v & ((v > splat(0.0f)) | (v != v))); }

/* dy ⊙ act'(y) for one vector: ReLU's derivative is read from its output (1 where y > 0, else 0). */
static inline floats masked_gradient(const float *dy, const float *y, int relu) {
  const floats gradient = load(dy);
  return relu ? (floats)((ints)gradient & (load(y) > splat(0.0f))) : gradient;
}

static inline float masked_gradient_scalar(const float *dy, const float *y, int relu) { return (!relu || *y > 0.0f) ? *dy : 0.0f; }

/* dst [rows × ld] ← src [rows × cols], zeros in the padding. */
static void pack(const float *src, int rows, int cols, float *dst, int ld) {
  for (int r = 0; r < rows; r++) {
    for (int j = 0; j < cols; j++) dst[r * ld + j] = src[r * cols + j];
    for (int j = cols; j < ld; j++) dst[r * ld + j] = 0.0f;
  }
}

/* dst [cols × ld] ← srcᵀ for src [rows × cols], zeros in the padding. */
static void pack_transposed(const float *src, int rows, int cols, float *dst, int ld);

/* dst [rows × ld] ← dy ⊙ act'(y): the gradient at the pre-activation. */
static void preactivation_gradient(const float *dy, const float *y, int rows, int cols, int relu, float *dst, int ld) {
  for (int r = 0; r < rows; r++) {
    const int at = r * cols;
    int j = 0;
    for (; j + LANES <= cols; j += LANES) store(dst + r * ld + j, masked_gradient(dy + at + j, y + at + j, relu));
    for (; j < cols; j++) dst[r * ld + j] = masked_gradient_scalar(dy + at + j, y + at + j, relu);
    for (; j < ld; j++) dst[r * ld + j] = 0.0f;
  }
}

/* c[0..n) ← the first n lanes of v, one by one (a lane picked by a variable would go through memory). */
static inline void store_lanes(float *c, floats v, int n) {
#pragma GCC unroll 8
  for (int lane = 0; lane < LANES; lane++)
    if (lane < n) c[lane] = v[lane];
}

/* Stores one tile row's sums (plus the bias, then ReLU) into its first `cols` columns, touching no memory past them. */
static inline __attribute__((always_inline)) void store_row(float *c, floats low, floats high, int cols, const float *bias, int relu) {
  if (bias) {
    low = low + load(bias);
    high = high + load(bias + LANES);
  }
  if (relu) {
    low = relu_of(low);
    high = relu_of(high);
  }
  if (cols == TILE_COLUMNS) {
    store(c, low);
    store(c + LANES, high);
    return;
  }
  store_lanes(c, low, cols);
  store_lanes(c + LANES, high, cols - LANES);
}

/*
 * `n` (≤ TILE_ROWS) rows × TILE_COLUMNS columns of C: sums over `depth` of A's rows (element (r, k) at
 * a[r·ars + k·aks]) times the B panel's, then stored with the bias and ReLU. Inlined with n constant, the sums
 * stay in registers.
 */
static inline __attribute__((always_inline)) void tile(int n, const float *a, int ars, int aks, const float *panel, int ldb, int depth,
                                                       float *c, int ldc, int cols, const float *bias, int relu) {
  floats low[TILE_ROWS], high[TILE_ROWS];
  for (int r = 0; r < n; r++) low[r] = high[r] = splat(0.0f);
  const float *row = panel;
  for (int k = 0; k < depth; k++, row += ldb) {
    const floats b0 = load(row), b1 = load(row + LANES);
    for (int r = 0; r < n; r++) {
      const floats x = splat(a[r * ars + k * aks]);
      low[r] = low[r] + x * b0;
      high[r] = high[r] + x * b1;
    }
  }
  for (int r = 0; r < n; r++) store_row(c + r * ldc, low[r], high[r], cols, bias, relu);
}

/*
 * C [rows × cols] (row stride ldc) = A·B (+ bias, then ReLU), summing over `depth`. A's element (r, k) is
 * a[r·ars + k·aks], so A may be read transposed; B is packed [depth × ldb], ldb = padded(cols); the bias,
 * if any, is packed to ldb too. Each panel of B is reused by every tile of rows.
 */
static void gemm(const float *a, int ars, int aks, const float *b, int ldb, float *c, int ldc, int rows, int cols, int depth,
                 const float *bias, int relu) {
  for (int j = 0; j < cols; j += TILE_COLUMNS) {
    const int tile_cols = cols - j < TILE_COLUMNS ? cols - j : TILE_COLUMNS;
    const float *panel = b + j, *tile_bias = bias ? bias + j : 0;
    int i = 0;
    for (; i + TILE_ROWS <= rows; i += TILE_ROWS)
      tile(TILE_ROWS, a + i * ars, ars, aks, panel, ldb, depth, c + i * ldc + j, ldc, tile_cols, tile_bias, relu);
    for (; i + 2 <= rows; i += 2) tile(2, a + i * ars, ars, aks, panel, ldb, depth, c + i * ldc + j, ldc, tile_cols, tile_bias, relu);
    if (i < rows) tile(1, a + i * ars, ars, aks, panel, ldb, depth, c + i * ldc + j, ldc, tile_cols, tile_bias, relu);
  }
}

/* Floats of scratch each pass needs. */
static long long dense_forward_scratch(int in, int out) { return (in + 1LL) * padded(out); }
static long long dense_backprop_input_scratch(int rows, int in, int out) { return (long long)rows * padded(out) + (long long)out * padded(in); }
static long long dense_backprop_filter_scratch(int rows, int out) { return (long long)rows * padded(out); }

static void dense_forward_with(const float *x, int x_member_stride, const float *w, const float *bias, float *y, int members, int rows, int in,
                               int out, int relu, float *scratch) {
  const int ld = padded(out);
  float *packed_w = scratch, *packed_bias = scratch + in * ld;
  for (int m = 0; m < members; m++) {
    pack(w + m * in * out, in, out, packed_w, ld);
    pack(bias + m * out, 1, out, packed_bias, ld);
    gemm(x + m * x_member_stride, in, 1, packed_w, ld, y + m * rows * out, out, rows, out, in, packed_bias, relu);
  }
}

/* dx = (dy ⊙ act'(y))·Wᵀ, [M, rows, in]. */
static void dense_backprop_input_with(const float *dy, const float *y, const float *w, float *dx, int members, int rows, int in, int out, int relu,
                                      float *scratch) {
  const int ld_out = padded(out), ld_in = padded(in);
  float *gradient = scratch, *transposed_w = scratch + rows * ld_out;
  for (int m = 0; m < members; m++) {
    preactivation_gradient(dy + m * rows * out, y + m * rows * out, rows, out, relu, gradient, ld_out);
    pack_transposed(w + m * in * out, in, out, transposed_w, ld_in);
    gemm(gradient, ld_out, 1, transposed_w, ld_in, dx + m * rows * in, in, rows, in, out, 0, 0);
  }
}

/* dW = xᵀ·(dy ⊙ act'(y)), [M, in, out]. */
static void dense_backprop_filter_with(const float *dy, const float *y, const float *x, int x_member_stride, float *dw, int members, int rows, int in,
                                       int out, int relu, float *scratch) {
  const int ld = padded(out);
  for (int m = 0; m < members; m++) {
    preactivation_gradient(dy + m * rows * out, y + m * rows * out, rows, out, relu, scratch, ld);
    gemm(x + m * x_member_stride, 1, in, scratch, ld, dw + m * in * out, out, in, out, rows, 0, 0);
  }
}
