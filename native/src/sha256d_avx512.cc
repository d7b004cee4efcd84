// SHA-256d nonce search with AVX-512: 16 nonces per 512-bit vector, one 32-bit lane
// per nonce. The round/schedule logic is the shared lane template (sha256d_simd.h);
// this file supplies the vector operations: VPRORD for rotates, VPTERNLOGD for
// Ch, Maj and three-way XOR, VPSHUFB for the byte swap, and a mask compare for the
// early-exit test.
//
// Every function here is compiled for AVX-512 F/BW/VL through a target pragma, so the
// rest of the build keeps its baseline flags; the dispatcher only calls into this file
// after checking the CPU and the OS-enabled register state.
//
// What it deliberately does not do: it does not produce digests (the dispatcher
// re-checks candidates), and it does not use 256-bit or SHA instructions.
#include "sha256d_internal.h"

#if POUW_X86_KERNELS
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports its own intrinsics' _mm512_undefined_epi32() pass-through operands
// as possibly uninitialized once they are inlined here; that is a false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl"))), \
                             apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl")
#endif

#include "sha256d_simd.h"

namespace pouw {
namespace {

struct VecAvx512 {
  using T = __m512i;
  static constexpr int N = 16;
#define POUW_INL static inline __attribute__((always_inline))
  POUW_INL T set1(uint32_t x) { return _mm512_set1_epi32((int)x); }
  POUW_INL T add(T a, T b) { return _mm512_add_epi32(a, b); }
  POUW_INL T xor3(T a, T b, T c) { return _mm512_ternarylogic_epi32(a, b, c, 0x96); }
  POUW_INL T bsig0(T x) {
    return xor3(_mm512_ror_epi32(x, 2), _mm512_ror_epi32(x, 13), _mm512_ror_epi32(x, 22));
  }
  POUW_INL T bsig1(T x) {
    return xor3(_mm512_ror_epi32(x, 6), _mm512_ror_epi32(x, 11), _mm512_ror_epi32(x, 25));
  }
  POUW_INL T ssig0(T x) {
    return xor3(_mm512_ror_epi32(x, 7), _mm512_ror_epi32(x, 18), _mm512_srli_epi32(x, 3));
  }
  POUW_INL T ssig1(T x) {
    return xor3(_mm512_ror_epi32(x, 17), _mm512_ror_epi32(x, 19), _mm512_srli_epi32(x, 10));
  }
  POUW_INL T ch(T e, T f, T g) { return _mm512_ternarylogic_epi32(e, f, g, 0xca); }
  POUW_INL T maj(T a, T b, T c) { return _mm512_ternarylogic_epi32(a, b, c, 0xe8); }
  POUW_INL T load(const uint32_t* p) { return _mm512_load_si512((const void*)p); }
  POUW_INL T seq(uint32_t base) {
    return _mm512_add_epi32(set1(base),
                            _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
  }
  POUW_INL T bswap(T x) {
    const __m512i m = _mm512_broadcast_i32x4(
        _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3));
    return _mm512_shuffle_epi8(x, m);
  }
  POUW_INL uint32_t le_mask(T x, uint32_t limit) {
    return (uint32_t)_mm512_cmple_epu32_mask(x, set1(limit));
  }
#undef POUW_INL
};

using Avx512 = SimdKernel<VecAvx512>;

void avx512_init(const Prep& p, KernelScratch* s) { Avx512::init(p, s); }

uint32_t avx512_batch(const Prep& p, const KernelScratch* s, uint64_t first, uint32_t n,
                      uint16_t* cand) {
  return Avx512::batch(p, s, first, n, cand);
}

}  // namespace

extern const Kernel kKernelAvx512 = {"avx512-16x", avx512_init, avx512_batch};

}  // namespace pouw

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#endif  // POUW_X86_KERNELS
