// SHA-256d nonce search for wasm32 with the simd128 proposal: 4 nonces per v128, one
// 32-bit lane per nonce. The round/schedule logic is the shared lane template
// (sha256d_simd.h); this file supplies the vector operations. simd128 has no
// rotate, so each rotate is two shifts and an OR; Ch and Maj use bitselect.
//
// Compiled only when targeting wasm with simd128 enabled; in any other build this
// file is empty and the dispatcher offers the portable kernel instead.
//
// What it deliberately does not do: no threads, no imports, no libc; no relaxed-simd
// or other post-MVP proposals beyond simd128 (and bulk memory, which the whole module
// uses for memcpy/memset).
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>

#include "sha256d_simd.h"

namespace pouw {
namespace {

struct VecSimd128 {
  using T = v128_t;
  static constexpr int N = 4;
#define POUW_INL static inline __attribute__((always_inline))
  template <int n>
  POUW_INL T rotr(T x) {
    return wasm_v128_or(wasm_u32x4_shr(x, n), wasm_i32x4_shl(x, 32 - n));
  }
  POUW_INL T set1(uint32_t x) { return wasm_u32x4_splat(x); }
  POUW_INL T add(T a, T b) { return wasm_i32x4_add(a, b); }
  POUW_INL T xor3(T a, T b, T c) { return wasm_v128_xor(wasm_v128_xor(a, b), c); }
  POUW_INL T bsig0(T x) { return xor3(rotr<2>(x), rotr<13>(x), rotr<22>(x)); }
  POUW_INL T bsig1(T x) { return xor3(rotr<6>(x), rotr<11>(x), rotr<25>(x)); }
  POUW_INL T ssig0(T x) { return xor3(rotr<7>(x), rotr<18>(x), wasm_u32x4_shr(x, 3)); }
  POUW_INL T ssig1(T x) { return xor3(rotr<17>(x), rotr<19>(x), wasm_u32x4_shr(x, 10)); }
  // bitselect(a, b, m) = (a & m) | (b & ~m)
  POUW_INL T ch(T e, T f, T g) { return wasm_v128_bitselect(f, g, e); }
  // Where a and b agree the majority is a, elsewhere it is c.
  POUW_INL T maj(T a, T b, T c) { return wasm_v128_bitselect(c, a, wasm_v128_xor(a, b)); }
  POUW_INL T load(const uint32_t* p) { return wasm_v128_load(p); }
  POUW_INL T seq(uint32_t base) { return wasm_i32x4_add(set1(base), wasm_u32x4_make(0, 1, 2, 3)); }
  POUW_INL T bswap(T x) {
    return wasm_i8x16_shuffle(x, x, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
  }
  POUW_INL uint32_t le_mask(T x, uint32_t limit) {
    return (uint32_t)wasm_i32x4_bitmask(wasm_u32x4_le(x, set1(limit)));
  }
#undef POUW_INL
};

using Simd128 = SimdKernel<VecSimd128>;

void simd128_init(const Prep& p, KernelScratch* s) { Simd128::init(p, s); }

uint32_t simd128_batch(const Prep& p, const KernelScratch* s, uint64_t first, uint32_t n,
                       uint16_t* cand) {
  return Simd128::batch(p, s, first, n, cand);
}

}  // namespace

extern const Kernel kKernelSimd128 = {"simd128-4x", simd128_init, simd128_batch};

}  // namespace pouw

#endif  // __wasm_simd128__
