// SIMD kernel (wasm fixed-width SIMD intrinsics): f32x4 saxpy-and-dot and an i32x4 checksum.
#include <wasm_simd128.h>
#define LEN 4096
static float x[LEN], y[LEN];
static int z[LEN];
__attribute__((export_name("run"))) float run(int rounds) {
  for (int i = 0; i < LEN; i++) { x[i] = (float)(i & 63) * 0.25f; y[i] = 1.0f; z[i] = i; }
  v128_t dot = wasm_f32x4_splat(0.0f), acc = wasm_i32x4_splat(0);
  v128_t alpha = wasm_f32x4_splat(0.5f);
  for (int r = 0; r < rounds; r++) {
    for (int i = 0; i < LEN; i += 4) {
      v128_t vx = wasm_v128_load(x + i), vy = wasm_v128_load(y + i);
      vy = wasm_f32x4_add(wasm_f32x4_mul(alpha, vx), vy);
      wasm_v128_store(y + i, wasm_f32x4_mul(vy, wasm_f32x4_splat(0.5f)));
      dot = wasm_f32x4_add(dot, wasm_f32x4_mul(vx, vy));
      v128_t vz = wasm_v128_load(z + i);
      acc = wasm_i32x4_add(acc, wasm_i32x4_shl(wasm_v128_xor(vz, acc), 1));
    }
  }
  return wasm_f32x4_extract_lane(dot, 0) + wasm_f32x4_extract_lane(dot, 3) +
         (float)(wasm_i32x4_extract_lane(acc, 1) & 1023);
}
