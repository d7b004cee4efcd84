// Peak int8 multiply-add probe (see peak.h). Each round issues 16 independent
// dot-product instructions on register-resident operands, enough chains to
// cover the instruction's latency on current cores, so the rate is bounded by
// issue ports and clock alone. An empty asm statement keeps the compiler from
// folding the loop away.
#include "peak.h"

#if defined(__x86_64__) && !defined(__wasm__)
#include <immintrin.h>

namespace {

#define POUW_ROUND(OP)                                                                  \
  OP(0) OP(1) OP(2) OP(3) OP(4) OP(5) OP(6) OP(7) OP(8) OP(9) OP(10) OP(11) OP(12) OP(13) \
      OP(14) OP(15)

__attribute__((target("avx512f,avx512vnni"), noinline)) uint64_t probe_vnni(uint64_t iterations) {
  __m512i acc[16];
  for (int i = 0; i < 16; i++) acc[i] = _mm512_set1_epi32(i);
  __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-5);
  for (uint64_t it = 0; it < iterations; it++) {
#define STEP(i) acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
    POUW_ROUND(STEP)
#undef STEP
    __asm__ volatile("" : "+v"(a), "+v"(b));
  }
  __m512i s = acc[0];
  for (int i = 1; i < 16; i++) s = _mm512_add_epi32(s, acc[i]);
  volatile int sink = _mm512_reduce_add_epi32(s);
  (void)sink;
  return iterations * 16 * 64;  // 64 byte products per vpdpbusd zmm
}

__attribute__((target("avx2"), noinline)) uint64_t probe_avx2(uint64_t iterations) {
  __m256i acc[16];
  for (int i = 0; i < 16; i++) acc[i] = _mm256_set1_epi32(i);
  __m256i a = _mm256_set1_epi16(3), b = _mm256_set1_epi16(-5);
  for (uint64_t it = 0; it < iterations; it++) {
#define STEP(i) acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(a, b));
    POUW_ROUND(STEP)
#undef STEP
    __asm__ volatile("" : "+x"(a), "+x"(b));
  }
  __m256i s = acc[0];
  for (int i = 1; i < 16; i++) s = _mm256_add_epi32(s, acc[i]);
  volatile int sink = _mm256_extract_epi32(s, 0);
  (void)sink;
  return iterations * 16 * 16;  // 16 multiply-adds per vpmaddwd ymm
}

}  // namespace

extern "C" uint64_t pouw_peak_i8_probe(uint64_t iterations, const char** impl) {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512f")) {
    *impl = "avx512-vnni";
    return probe_vnni(iterations);
  }
  if (__builtin_cpu_supports("avx2")) {
    *impl = "avx2-vpmaddwd";
    return probe_avx2(iterations);
  }
  *impl = "scalar";
  volatile int32_t acc = 0;
  for (uint64_t i = 0; i < iterations * 16; i++) acc = acc + 3 * -5;
  return iterations * 16;
}

#else

extern "C" uint64_t pouw_peak_i8_probe(uint64_t iterations, const char** impl) {
  *impl = "scalar";
  volatile int32_t acc = 0;
  for (uint64_t i = 0; i < iterations * 16; i++) acc = acc + 3 * -5;
  return iterations * 16;
}

#endif
