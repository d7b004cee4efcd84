// Peak int8 multiply-add probes (see peak.h).
//
// x86-64: the SIMD probes are written in inline assembly so that the timed
// loop is exactly the named sequence: in C the compiler is free to hoist a
// loop-invariant multiply out of the loop or to spill accumulators, and either
// makes the "peak" a different (slower or faster) loop than any kernel runs.
// Inputs are loop-invariant registers and every step writes its own
// accumulator, so the only loop-carried chain is one add (or one vpdpbusd)
// per accumulator; 8 to 16 accumulators cover the multiply latency at two per
// cycle. AMX keeps the intrinsics: tile instructions cannot be folded.
//
// wasm32: no inline assembly; one operand is reloaded each round through a
// volatile pointer (see run_simd128), which keeps the products in the loop.
#include "peak.h"

#include "cpu_features.h"

#if defined(__x86_64__) && !defined(__wasm__)
#include <immintrin.h>
#define POUW_PEAK_X86 1
#elif defined(__wasm_simd128__)
#include <wasm_simd128.h>
#define POUW_PEAK_SIMD128 1
#endif

namespace {

struct Probe {
  const char* unit;
  const char* sequence;
  bool (*available)();
  uint64_t (*run)(uint32_t iterations);  // multiply-adds done
};

#if POUW_PEAK_X86

#define POUW_X8(S) S(0) S(1) S(2) S(3) S(4) S(5) S(6) S(7)
#define POUW_X16(S) POUW_X8(S) S(8) S(9) S(10) S(11) S(12) S(13) S(14) S(15)
#define POUW_STR2(x) #x
#define POUW_STR(x) POUW_STR2(x)
// The flags and all 16 vector registers the probes below overwrite (declaring
// one the loop leaves alone costs nothing).
#define POUW_YMM_CLOBBERS                                                                        \
  "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", \
      "xmm12", "xmm13", "xmm14", "xmm15"

// 16 vpdpbusd chains on zmm0..15, sources zmm30 (unsigned) and zmm31 (signed):
// 64 byte products per instruction.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) uint64_t run_vnni(uint32_t iterations) {
  if (!iterations) return 0;
  uint64_t n = iterations;
#define ZERO(i) "vpxord %%zmm" POUW_STR(i) ", %%zmm" POUW_STR(i) ", %%zmm" POUW_STR(i) "\n\t"
#define STEP(i) "vpdpbusd %%zmm31, %%zmm30, %%zmm" POUW_STR(i) "\n\t"
  __asm__ volatile(
      "vpternlogd $0xff, %%zmm30, %%zmm30, %%zmm30\n\t"
      "vpabsb %%zmm30, %%zmm31\n\t" POUW_X16(ZERO)
      "1:\n\t" POUW_X16(STEP)
      "dec %0\n\t"
      "jnz 1b\n\t"
      "vzeroupper\n\t"
      : "+r"(n)
      :
      : POUW_YMM_CLOBBERS, "xmm30", "xmm31");
#undef STEP
#undef ZERO
  return uint64_t(iterations) * 16 * 64;
}

// Closes a probe's loop: count the round down, leave AVX state clean.
#define POUW_ROUND_END(n) "dec %0\n\tjnz 1b\n\tvzeroupper\n\t" : "+r"(n) : : POUW_YMM_CLOBBERS
#define YZERO(i) "vpxor %%ymm" POUW_STR(i) ", %%ymm" POUW_STR(i) ", %%ymm" POUW_STR(i) "\n\t"

// The AVX2 int8 sequence: vpmaddubsw (32 u8 x s8 products into int16 pairs),
// vpmaddwd against ones (pairs into int32), vpaddd into the accumulator.
// 8 accumulators ymm0..7, sources ymm8/ymm9, ones ymm10, temporaries ymm11..14.
__attribute__((target("avx2"))) uint64_t run_avx2_maddubs(uint32_t iterations) {
  if (!iterations) return 0;
  uint64_t n = iterations;
#define STEP(i, t)                                               \
  "vpmaddubsw %%ymm9, %%ymm8, %%ymm" POUW_STR(t) "\n\t"          \
  "vpmaddwd %%ymm10, %%ymm" POUW_STR(t) ", %%ymm" POUW_STR(t) "\n\t" \
  "vpaddd %%ymm" POUW_STR(t) ", %%ymm" POUW_STR(i) ", %%ymm" POUW_STR(i) "\n\t"
  __asm__ volatile(
      "vpcmpeqd %%ymm8, %%ymm8, %%ymm8\n\t"
      "vpabsb %%ymm8, %%ymm9\n\t"
      "vpabsw %%ymm8, %%ymm10\n\t" POUW_X8(YZERO)
      "1:\n\t" STEP(0, 11) STEP(1, 12) STEP(2, 13) STEP(3, 14) STEP(4, 11) STEP(5, 12) STEP(6, 13) STEP(7, 14)
      POUW_ROUND_END(n));
#undef STEP
  return uint64_t(iterations) * 8 * 32;
}

// The int16 sequence the AVX2 kernels use on widened operands: vpmaddwd
// (16 int16 products into int32 pairs) and vpaddd. 12 accumulators ymm0..11,
// sources ymm12/ymm13, temporaries ymm14/ymm15.
__attribute__((target("avx2"))) uint64_t run_avx2_maddwd(uint32_t iterations) {
  if (!iterations) return 0;
  uint64_t n = iterations;
#define STEP(i, t)                                      \
  "vpmaddwd %%ymm13, %%ymm12, %%ymm" POUW_STR(t) "\n\t" \
  "vpaddd %%ymm" POUW_STR(t) ", %%ymm" POUW_STR(i) ", %%ymm" POUW_STR(i) "\n\t"
  __asm__ volatile(
      "vpcmpeqd %%ymm12, %%ymm12, %%ymm12\n\t"
      "vpabsw %%ymm12, %%ymm13\n\t" POUW_X8(YZERO) YZERO(8) YZERO(9) YZERO(10) YZERO(11)
      "1:\n\t" STEP(0, 14) STEP(1, 15) STEP(2, 14) STEP(3, 15) STEP(4, 14) STEP(5, 15) STEP(6, 14) STEP(7, 15)
          STEP(8, 14) STEP(9, 15) STEP(10, 14) STEP(11, 15)
      POUW_ROUND_END(n));
#undef STEP
  return uint64_t(iterations) * 12 * 16;
}

#if defined(__linux__)
struct alignas(64) TileConfig {
  uint8_t palette, start_row, reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};

// Four independent 16x16 int32 accumulators fed by two 16x64 int8 tiles:
// each tdpbssd is 16*16*64 multiply-adds.
__attribute__((target("amx-tile,amx-int8"), noinline)) uint64_t run_amx(uint32_t iterations) {
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
  for (uint32_t it = 0; it < iterations; it++) {
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
  return uint64_t(iterations) * 4 * 16 * 16 * 64;
}
bool has_amx() { return pouw::amx_usable(); }
#else
uint64_t run_amx(uint32_t) { return 0; }
bool has_amx() { return false; }
#endif

bool has_vnni() { return pouw::cpu_avx512_vnni(pouw::cpu_features()); }
bool has_avx2() { return pouw::cpu_avx2(pouw::cpu_features()); }

const Probe kProbes[] = {
    {"amx-int8", "tdpbssd tmm (4 accumulators)", has_amx, run_amx},
    {"avx512-vnni", "vpdpbusd zmm (16 accumulators)", has_vnni, run_vnni},
    {"avx2", "vpmaddubsw+vpmaddwd+vpaddd ymm (8 accumulators)", has_avx2, run_avx2_maddubs},
    {"avx2", "vpmaddwd+vpaddd ymm (12 accumulators)", has_avx2, run_avx2_maddwd},
};

#elif POUW_PEAK_SIMD128

// Six accumulators acc += dot(x_i, y): i32x4.dot_i16x8_s (8 int16 products
// into int32 pairs) and i32x4.add, the sequence the simd128 kernels run on
// widened bytes. x_0..x_5 stay in registers; y is reloaded once per round
// through a volatile pointer, so neither clang nor the engine can hoist the
// dot products out of the loop, while the loop-carried chain stays one add.
// 6 + 6 + 1 vectors fit the 16 registers of an x86-64 engine without spills.
uint64_t run_simd128(uint32_t iterations) {
  alignas(16) static int16_t ybuf[8] = {3, -5, 7, -9, 11, -13, 15, -17};
  const v128_t* volatile yp = reinterpret_cast<const v128_t*>(ybuf);
  const v128_t x0 = wasm_i16x8_splat(1), x1 = wasm_i16x8_splat(2), x2 = wasm_i16x8_splat(3);
  const v128_t x3 = wasm_i16x8_splat(4), x4 = wasm_i16x8_splat(5), x5 = wasm_i16x8_splat(6);
  v128_t a0 = wasm_i32x4_splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
  for (uint32_t it = 0; it < iterations; it++) {
    const v128_t y = wasm_v128_load(yp);
    a0 = wasm_i32x4_add(a0, wasm_i32x4_dot_i16x8(x0, y));
    a1 = wasm_i32x4_add(a1, wasm_i32x4_dot_i16x8(x1, y));
    a2 = wasm_i32x4_add(a2, wasm_i32x4_dot_i16x8(x2, y));
    a3 = wasm_i32x4_add(a3, wasm_i32x4_dot_i16x8(x3, y));
    a4 = wasm_i32x4_add(a4, wasm_i32x4_dot_i16x8(x4, y));
    a5 = wasm_i32x4_add(a5, wasm_i32x4_dot_i16x8(x5, y));
  }
  const v128_t s = wasm_i32x4_add(wasm_i32x4_add(wasm_i32x4_add(a0, a1), wasm_i32x4_add(a2, a3)), wasm_i32x4_add(a4, a5));
  volatile int32_t sink = wasm_i32x4_extract_lane(s, 0);
  (void)sink;
  return uint64_t(iterations) * 6 * 8;
}
bool always() { return true; }

const Probe kProbes[] = {
    {"simd128", "i32x4.dot_i16x8_s+i32x4.add (6 accumulators)", always, run_simd128},
};

#else

const Probe* const kProbes = nullptr;

#endif

#if POUW_PEAK_X86 || POUW_PEAK_SIMD128
constexpr int kCount = sizeof(kProbes) / sizeof(kProbes[0]);
#else
constexpr int kCount = 0;
#endif

bool in_range(int i) { return i >= 0 && i < kCount; }

}  // namespace

extern "C" {

int pouw_peak_i8_count(void) { return kCount; }
const char* pouw_peak_i8_unit(int i) { return in_range(i) ? kProbes[i].unit : ""; }
const char* pouw_peak_i8_sequence(int i) { return in_range(i) ? kProbes[i].sequence : ""; }
int pouw_peak_i8_available(int i) { return in_range(i) && kProbes[i].available() ? 1 : 0; }
double pouw_peak_i8_run(int i, uint32_t iterations) {
  if (!pouw_peak_i8_available(i)) return 0;
  return static_cast<double>(kProbes[i].run(iterations));
}

}  // extern "C"
