// Peak int8 multiply-add probe (see peak.h), with the widest int8 unit the CPU
// grants: AMX tiles (four independent tdpbssd accumulators), else AVX-512 VNNI
// (16 independent vpdpbusd chains), else AVX2. Operands stay in registers or
// tiles, so the rate is bounded by the unit and the clock alone. An empty asm
// statement keeps the compiler from folding the loops away.
#include "peak.h"

#include "cpu_features.h"

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

#if defined(__linux__)
struct alignas(64) TileConfig {
  uint8_t palette, start_row, reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};

// Four independent 16x16 int32 accumulators fed by two 16x64 int8 tiles:
// each tdpbssd is 16*16*64 multiply-adds.
__attribute__((target("amx-tile,amx-int8"), noinline)) uint64_t probe_amx(uint64_t iterations) {
  TileConfig cfg{};
  cfg.palette = 1;
  for (int t = 0; t < 6; t++) {
    cfg.colsb[t] = 64;
    cfg.rows[t] = 16;
  }
  alignas(64) static int8_t src[16 * 64];
  for (int i = 0; i < 16 * 64; i++) src[i] = (int8_t)(i % 7 - 3);
  _tile_loadconfig(&cfg);
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  _tile_loadd(4, src, 64);
  _tile_loadd(5, src, 64);
  for (uint64_t it = 0; it < iterations; it++) {
    _tile_dpbssd(0, 4, 5);
    _tile_dpbssd(1, 4, 5);
    _tile_dpbssd(2, 4, 5);
    _tile_dpbssd(3, 4, 5);
  }
  alignas(64) static int32_t out[16 * 16];
  _tile_stored(0, out, 64);
  _tile_release();
  volatile int32_t sink = out[0];
  (void)sink;
  return iterations * 4 * 16 * 16 * 64;
}
#else
uint64_t probe_amx(uint64_t) { return 0; }
#endif

bool wants(const char* unit, const char* name) {
  if (!unit) return true;
  while (*unit && *unit == *name) unit++, name++;
  return *unit == *name;
}

}  // namespace

extern "C" uint64_t pouw_peak_i8_probe(uint64_t iterations, const char* unit, const char** impl) {
  const pouw::CpuFeatures f = pouw::cpu_features();
  if (wants(unit, "amx-int8") && pouw::amx_usable()) {
    *impl = "amx-int8";
    return probe_amx(iterations);
  }
  if (wants(unit, "avx512-vnni") && f.avx512vnni) {
    *impl = "avx512-vnni";
    return probe_vnni(iterations);
  }
  if (f.avx2) {
    *impl = "avx2-vpmaddwd";
    return probe_avx2(iterations);
  }
  *impl = "scalar";
  volatile int32_t acc = 0;
  for (uint64_t i = 0; i < iterations * 16; i++) acc = acc + 3 * -5;
  return iterations * 16;
}

#else

extern "C" uint64_t pouw_peak_i8_probe(uint64_t iterations, const char*, const char** impl) {
  *impl = "scalar";
  volatile int32_t acc = 0;
  for (uint64_t i = 0; i < iterations * 16; i++) acc = acc + 3 * -5;
  return iterations * 16;
}

#endif
