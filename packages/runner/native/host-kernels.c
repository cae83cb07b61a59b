/*
 * A Node-API addon: the stacked dense layers' products (host-dense.c) on tensors in the WASM backend's memory,
 * where they lie, in this CPU's machine code. Each call gets that memory as a Uint8Array and byte addresses in
 * it, as the WASM module's functions do, and checks that every operand lies inside it before touching anything:
 * the WASM module cannot reach past its memory, and neither may this.
 */
#include <node_api.h>
#include <stdint.h>

#define VARIANT_FUNCTIONS(variant)                                                                                                     \
  int host_dense_forward_##variant(const float *, int, const float *, const float *, float *, int, int, int, int, int);               \
  int host_dense_backprop_input_##variant(const float *, const float *, const float *, float *, int, int, int, int, int);             \
  int host_dense_backprop_filter_##variant(const float *, const float *, const float *, int, float *, int, int, int, int, int);

VARIANT_FUNCTIONS(baseline)
#if defined(__x86_64__)
VARIANT_FUNCTIONS(avx2)
VARIANT_FUNCTIONS(avx512)
#endif

/* One instruction set's products. */
struct variant {
  int (*forward)(const float *, int, const float *, const float *, float *, int, int, int, int, int);
  int (*backprop_input)(const float *, const float *, const float *, float *, int, int, int, int, int);
  int (*backprop_filter)(const float *, const float *, const float *, int, float *, int, int, int, int, int);
  const char *instructions;
};

#define VARIANT(name) {host_dense_forward_##name, host_dense_backprop_input_##name, host_dense_backprop_filter_##name, #name}

#define MAX_ARGUMENTS 11

/* A call's variant (the function's data) and arguments: the memory, then integers. Returns 0 after throwing (a JavaScript error) when they are not that. */
static int read_arguments(napi_env env, napi_callback_info info, size_t count, const struct variant **variant, uint8_t **heap, size_t *heap_bytes,
                          int64_t *values) {
  size_t given = MAX_ARGUMENTS + 1;
  napi_value args[MAX_ARGUMENTS + 1];
  if (napi_get_cb_info(env, info, &given, args, 0, (void **)variant) != napi_ok) return 0;
  if (given != count + 1) {
    napi_throw_type_error(env, 0, "host kernels: wrong number of arguments");
    return 0;
  }
  bool is_typed_array = false;
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_is_typedarray(env, args[0], &is_typed_array) != napi_ok || !is_typed_array ||
      napi_get_typedarray_info(env, args[0], &type, &length, &data, 0, 0) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, 0, "host kernels: the first argument must be the memory, as a Uint8Array");
    return 0;
  }
  *heap = data;
  *heap_bytes = length;
  for (size_t i = 0; i < count; i++) {
    double value;
    if (napi_get_value_double(env, args[i + 1], &value) != napi_ok || value != (double)(int64_t)value || value < 0 || value > INT32_MAX) {
      napi_throw_range_error(env, 0, "host kernels: every argument after the memory must be an integer in [0, 2^31)");
      return 0;
    }
    values[i] = (int64_t)value;
  }
  return 1;
}

/* a·b·c (each in [0, 2^31)), or -1 past 2^31 − 1: the kernels index with int. */
static int64_t count_of(int64_t a, int64_t b, int64_t c) {
  const int64_t ab = a * b;
  if (ab > INT32_MAX) return -1;
  const int64_t abc = ab * c;
  return abc > INT32_MAX ? -1 : abc;
}

/* Throws unless `floats` (≥ 0) floats from byte address `at` lie inside the memory, 4-byte aligned. */
static int inside(napi_env env, size_t heap_bytes, int64_t at, int64_t floats, const char *what) {
  if (floats >= 0 && at % 4 == 0 && (uint64_t)at + (uint64_t)floats * 4 <= heap_bytes) return 1;
  char message[160];
  const char *prefix = "host kernels: an operand lies outside the memory or unaligned: ";
  size_t n = 0;
  for (const char *p = prefix; *p && n < sizeof message - 1; p++) message[n++] = *p;
  for (const char *p = what; *p && n < sizeof message - 1; p++) message[n++] = *p;
  message[n] = 0;
  napi_throw_range_error(env, 0, message);
  return 0;
}

/* members, rows, in, out: each at least 1, and every panel the kernels pack (padded to 16 columns) indexable with int. */
static int dimensions_fit(napi_env env, const int64_t *dimensions) {
  const int64_t rows = dimensions[1], in = dimensions[2], out = dimensions[3];
  for (int i = 0; i < 4; i++)
    if (dimensions[i] < 1) {
      napi_throw_range_error(env, 0, "host kernels: members, rows, in and out must be at least 1");
      return 0;
    }
  if (count_of(in + 1, out + 15, 1) < 0 || count_of(rows + 1, out + 15, 1) < 0 || count_of(out + 1, in + 15, 1) < 0) {
    napi_throw_range_error(env, 0, "host kernels: the layer is too large");
    return 0;
  }
  return 1;
}

static int x_stride_fits(napi_env env, int64_t stride, int64_t rows, int64_t in) {
  if (stride == 0 || stride == count_of(1, rows, in)) return 1;
  napi_throw_range_error(env, 0, "host kernels: x's member stride must be 0 (shared) or rows · in");
  return 0;
}

static napi_value finished(napi_env env, int status) {
  if (status != 0) napi_throw_error(env, 0, "host kernels: out of memory for scratch");
  return 0;
}

/* One call: its variant, the memory, its integer arguments, and its layer's dimensions (checked). */
struct call {
  const struct variant *variant;
  uint8_t *heap;
  size_t bytes;
  int64_t v[MAX_ARGUMENTS];
  int64_t members, rows, in, out;
};

/* Reads a call of `count` integers whose members, rows, in and out start at `dimensions`; 0 after throwing. */
static int begin(napi_env env, napi_callback_info info, size_t count, int dimensions, struct call *call) {
  if (!read_arguments(env, info, count, &call->variant, &call->heap, &call->bytes, call->v) || !dimensions_fit(env, call->v + dimensions)) return 0;
  call->members = call->v[dimensions];
  call->rows = call->v[dimensions + 1];
  call->in = call->v[dimensions + 2];
  call->out = call->v[dimensions + 3];
  return 1;
}

#define F(at) ((float *)(c.heap + (at)))

/* denseForward(memory, x, xStride, w, bias, y, members, rows, in, out, relu) */
static napi_value dense_forward(napi_env env, napi_callback_info info) {
  struct call c;
  if (!begin(env, info, 10, 5, &c) || !x_stride_fits(env, c.v[1], c.rows, c.in)) return 0;
  if (!inside(env, c.bytes, c.v[0], count_of(c.v[1] ? c.members : 1, c.rows, c.in), "x") || !inside(env, c.bytes, c.v[2], count_of(c.members, c.in, c.out), "W") ||
      !inside(env, c.bytes, c.v[3], count_of(c.members, 1, c.out), "b") || !inside(env, c.bytes, c.v[4], count_of(c.members, c.rows, c.out), "y"))
    return 0;
  return finished(env, c.variant->forward(F(c.v[0]), (int)c.v[1], F(c.v[2]), F(c.v[3]), F(c.v[4]), (int)c.members, (int)c.rows, (int)c.in, (int)c.out,
                                          c.v[9] != 0));
}

/* denseBackpropInput(memory, dy, y, w, dx, members, rows, in, out, relu) */
static napi_value dense_backprop_input(napi_env env, napi_callback_info info) {
  struct call c;
  if (!begin(env, info, 9, 4, &c)) return 0;
  if (!inside(env, c.bytes, c.v[0], count_of(c.members, c.rows, c.out), "dy") || !inside(env, c.bytes, c.v[1], count_of(c.members, c.rows, c.out), "y") ||
      !inside(env, c.bytes, c.v[2], count_of(c.members, c.in, c.out), "W") || !inside(env, c.bytes, c.v[3], count_of(c.members, c.rows, c.in), "dx"))
    return 0;
  return finished(env, c.variant->backprop_input(F(c.v[0]), F(c.v[1]), F(c.v[2]), F(c.v[3]), (int)c.members, (int)c.rows, (int)c.in, (int)c.out, c.v[8] != 0));
}

/* denseBackpropFilter(memory, dy, y, x, xStride, dw, members, rows, in, out, relu) */
static napi_value dense_backprop_filter(napi_env env, napi_callback_info info) {
  struct call c;
  if (!begin(env, info, 10, 5, &c) || !x_stride_fits(env, c.v[3], c.rows, c.in)) return 0;
  if (!inside(env, c.bytes, c.v[0], count_of(c.members, c.rows, c.out), "dy") || !inside(env, c.bytes, c.v[1], count_of(c.members, c.rows, c.out), "y") ||
      !inside(env, c.bytes, c.v[2], count_of(c.v[3] ? c.members : 1, c.rows, c.in), "x") || !inside(env, c.bytes, c.v[4], count_of(c.members, c.in, c.out), "dW"))
    return 0;
  return finished(env, c.variant->backprop_filter(F(c.v[0]), F(c.v[1]), F(c.v[2]), (int)c.v[3], F(c.v[4]), (int)c.members, (int)c.rows, (int)c.in, (int)c.out,
                                                  c.v[9] != 0));
}

/* Sets denseForward, denseBackpropInput, denseBackpropFilter and instructions on `object`, for `variant`. */
static int define_variant(napi_env env, napi_value object, const struct variant *variant) {
  void *data = (void *)variant;
  const napi_property_descriptor properties[] = {
    {"denseForward", 0, dense_forward, 0, 0, 0, napi_enumerable, data},
    {"denseBackpropInput", 0, dense_backprop_input, 0, 0, 0, napi_enumerable, data},
    {"denseBackpropFilter", 0, dense_backprop_filter, 0, 0, 0, napi_enumerable, data},
  };
  napi_value instructions;
  return napi_define_properties(env, object, 3, properties) == napi_ok &&
         napi_create_string_utf8(env, variant->instructions, NAPI_AUTO_LENGTH, &instructions) == napi_ok &&
         napi_set_named_property(env, object, "instructions", instructions) == napi_ok;
}

/* Every instruction set this CPU runs, widest first. */
static const struct variant *supported[3];
static int supported_count;

/*
 * The exports are the widest variant's functions and `instructions`, and `variants`: each variant the CPU runs, by
 * name, so that tests can check every one against WASM on one machine.
 */
NAPI_MODULE_INIT() {
  static const struct variant baseline = VARIANT(baseline);
  if (supported_count == 0) {
#if defined(__x86_64__)
    static const struct variant avx512 = VARIANT(avx512), avx2 = VARIANT(avx2);
    /* Each test also asks whether the OS saves the registers (XGETBV), not only whether the CPU has them. */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) supported[supported_count++] = &avx512;
    if (__builtin_cpu_supports("avx2")) supported[supported_count++] = &avx2;
#endif
    supported[supported_count++] = &baseline;
  }
  napi_value variants;
  if (!define_variant(env, exports, supported[0]) || napi_create_object(env, &variants) != napi_ok) return 0;
  for (int i = 0; i < supported_count; i++) {
    napi_value object;
    if (napi_create_object(env, &object) != napi_ok || !define_variant(env, object, supported[i]) ||
        napi_set_named_property(env, variants, supported[i]->instructions, object) != napi_ok)
      return 0;
  }
  return napi_set_named_property(env, exports, "variants", variants) == napi_ok ? exports : 0;
}
