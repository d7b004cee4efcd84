// Correctness of the GEMM kernels (gemm_i8, gemm_f32) on every implementation this
// CPU can run. Built and run by gemm_run.sh; exits non-zero on any failure.
//
//  - int8: equal to a naive triple loop, entry for entry, on all shapes with m, k, n
//    in {1, 3, 17, 64, 100, 257}, on extreme inputs (all 127, -127 against 127,
//    random +-127, and the full int8 range including -128), and on shapes that cross
//    every block boundary (several depth and column blocks, partial tiles).
//  - f32: within 1e-5 * sqrt(k) of a float64 naive reference, the error of each
//    entry measured relative to sum_p |a_ip * b_pj| (the scale of the dot product;
//    it equals |c_ij| when no terms cancel).
//  - every call gets exactly pouw_gemm_*_scratch_bytes of scratch, deliberately
//    misaligned, with guard bytes after it and after C that must stay untouched;
//    m, n or k = 0 are handled (k = 0 zeroes C).
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vector>

#include "gemm_f32.h"
#include "gemm_i8.h"

namespace {

int g_failures = 0;

void fail(const char* what) {
  if (g_failures < 20) printf("  FAIL: %s\n", what);
  g_failures++;
}

uint64_t g_rng = 0x9e3779b97f4a7c15ull;
uint32_t next_u32() {
  g_rng ^= g_rng << 13;
  g_rng ^= g_rng >> 7;
  g_rng ^= g_rng << 17;
  return (uint32_t)(g_rng >> 16);
}

constexpr unsigned char kGuard = 0xA5;
constexpr size_t kGuardBytes = 256;

// Scratch of exactly `bytes`, starting 1 byte past a 64-byte boundary, with guards.
struct Scratch {
  std::vector<unsigned char> buf;
  size_t bytes;
  explicit Scratch(size_t n) : buf(n + 64 + 1 + kGuardBytes, kGuard), bytes(n) {}
  void* ptr() {
    uintptr_t p = ((uintptr_t)buf.data() + 63) & ~(uintptr_t)63;
    return (void*)(p + 1);
  }
  bool guard_intact() {
    const unsigned char* g = (const unsigned char*)ptr() + bytes;
    for (size_t i = 0; i < kGuardBytes; i++)
      if (g[i] != kGuard) return false;
    return true;
  }
};

enum class Fill { Random127, All127, Neg127Pos127, RandomSign127, FullRange };

int8_t draw(Fill f, bool is_a) {
  switch (f) {
    case Fill::Random127: return (int8_t)((int)(next_u32() % 255) - 127);
    case Fill::All127: return 127;
    case Fill::Neg127Pos127: return is_a ? -127 : 127;
    case Fill::RandomSign127: return (next_u32() & 1) ? 127 : -127;
    case Fill::FullRange: return (int8_t)(next_u32() & 0xff);
  }
  return 0;
}

void check_i8(uint32_t m, uint32_t k, uint32_t n, Fill fill) {
  std::vector<int8_t> A((size_t)m * k), B((size_t)k * n);
  for (auto& v : A) v = draw(fill, true);
  for (auto& v : B) v = draw(fill, false);
  const std::vector<int8_t> A0 = A, B0 = B;
  const size_t cells = (size_t)m * n;
  std::vector<int32_t> C(cells + kGuardBytes / 4, (int32_t)0xA5A5A5A5);
  Scratch s(pouw_gemm_i8_scratch_bytes(m, k, n));
  pouw_gemm_i8(A.data(), B.data(), C.data(), m, k, n, s.ptr());
  char msg[160];
  size_t wrong = 0;
  std::vector<int32_t> row(n);
  for (uint32_t i = 0; i < m; i++) {
    for (uint32_t j = 0; j < n; j++) row[j] = 0;
    for (uint32_t p = 0; p < k; p++) {
      const int32_t a = A[(size_t)i * k + p];
      for (uint32_t j = 0; j < n; j++) row[j] += a * B[(size_t)p * n + j];
    }
    for (uint32_t j = 0; j < n; j++) wrong += row[j] != C[(size_t)i * n + j];
  }
  if (wrong) {
    snprintf(msg, sizeof msg, "i8 %ux%ux%u fill %d: %zu wrong entries", m, k, n, (int)fill, wrong);
    fail(msg);
  }
  for (size_t i = cells; i < C.size(); i++)
    if (C[i] != (int32_t)0xA5A5A5A5) {
      snprintf(msg, sizeof msg, "i8 %ux%ux%u: wrote past the end of C", m, k, n);
      fail(msg);
      break;
    }
  if (!s.guard_intact()) {
    snprintf(msg, sizeof msg, "i8 %ux%ux%u: wrote past the end of scratch (%zu bytes)", m, k, n, s.bytes);
    fail(msg);
  }
  if (A != A0 || B != B0) {
    snprintf(msg, sizeof msg, "i8 %ux%ux%u: modified an input", m, k, n);
    fail(msg);
  }
}

double check_f32(uint32_t m, uint32_t k, uint32_t n) {
  std::vector<float> A((size_t)m * k), B((size_t)k * n);
  for (auto& v : A) v = (float)((int)(next_u32() % 2001) - 1000) / 1000.0f;
  for (auto& v : B) v = (float)((int)(next_u32() % 2001) - 1000) / 1000.0f;
  const size_t cells = (size_t)m * n;
  std::vector<float> C(cells + kGuardBytes / 4);
  memset(C.data(), 0xA5, C.size() * sizeof(float));
  Scratch s(pouw_gemm_f32_scratch_bytes(m, k, n));
  pouw_gemm_f32(A.data(), B.data(), C.data(), m, k, n, s.ptr());
  char msg[160];
  double worst = 0;
  std::vector<double> ref(n), mag(n);
  for (uint32_t i = 0; i < m; i++) {
    for (uint32_t j = 0; j < n; j++) ref[j] = mag[j] = 0;
    for (uint32_t p = 0; p < k; p++) {
      const double a = A[(size_t)i * k + p];
      for (uint32_t j = 0; j < n; j++) {
        const double t = a * B[(size_t)p * n + j];
        ref[j] += t;
        mag[j] += fabs(t);
      }
    }
    for (uint32_t j = 0; j < n; j++) {
      const double c = C[(size_t)i * n + j];
      const double e = mag[j] > 0 ? fabs(c - ref[j]) / mag[j] : fabs(c);
      if (!(e <= worst)) worst = e;  // also catches NaN
    }
  }
  if (!(worst <= 1e-5 * sqrt((double)k))) {
    snprintf(msg, sizeof msg, "f32 %ux%ux%u: relative error %.3g > 1e-5 * sqrt(k)", m, k, n, worst);
    fail(msg);
  }
  unsigned char g[4];
  memset(g, 0xA5, 4);
  for (size_t i = cells; i < C.size(); i++)
    if (memcmp(&C[i], g, 4) != 0) {
      snprintf(msg, sizeof msg, "f32 %ux%ux%u: wrote past the end of C", m, k, n);
      fail(msg);
      break;
    }
  if (!s.guard_intact()) {
    snprintf(msg, sizeof msg, "f32 %ux%ux%u: wrote past the end of scratch (%zu bytes)", m, k, n, s.bytes);
    fail(msg);
  }
  return worst / sqrt((double)k);
}

void check_degenerate() {
  int32_t ci[6] = {1, 2, 3, 4, 5, 6};
  float cf[6] = {1, 2, 3, 4, 5, 6};
  int8_t a8[1] = {1};
  float af[1] = {1};
  Scratch s(pouw_gemm_i8_scratch_bytes(2, 0, 3) + pouw_gemm_f32_scratch_bytes(2, 0, 3));
  pouw_gemm_i8(a8, a8, ci, 2, 0, 3, s.ptr());
  pouw_gemm_f32(af, af, cf, 2, 0, 3, s.ptr());
  for (int i = 0; i < 6; i++)
    if (ci[i] != 0 || cf[i] != 0.0f) fail("k = 0 did not zero C");
  ci[0] = 7;
  cf[0] = 7;
  pouw_gemm_i8(a8, a8, ci, 0, 5, 3, s.ptr());
  pouw_gemm_i8(a8, a8, ci, 2, 5, 0, s.ptr());
  pouw_gemm_f32(af, af, cf, 0, 5, 3, s.ptr());
  pouw_gemm_f32(af, af, cf, 2, 5, 0, s.ptr());
  if (ci[0] != 7 || cf[0] != 7) fail("m = 0 or n = 0 touched C");
}

const uint32_t kSizes[] = {1, 3, 17, 64, 100, 257};

}  // namespace

int main() {
  static const char* const kI8[] = {"avx512-vnni", "avx2", "simd128", "portable"};
  static const char* const kF32[] = {"avx512-fma", "avx2-fma", "simd128", "portable"};
  printf("default paths: i8 %s, f32 %s\n", pouw_gemm_i8_impl(), pouw_gemm_f32_impl());
  check_degenerate();

  for (const char* name : kI8) {
    if (pouw_gemm_i8_select(name) != 0) {
      printf("i8  %-12s not available here, skipped\n", name);
      continue;
    }
    const int before = g_failures;
    int shapes = 0;
    for (uint32_t m : kSizes)
      for (uint32_t k : kSizes)
        for (uint32_t n : kSizes) check_i8(m, k, n, Fill::Random127), shapes++;
    // Extremes, and shapes crossing the depth (1024), column (1024) and row blocks.
    check_i8(100, 1000, 33, Fill::All127);
    check_i8(100, 1000, 33, Fill::Neg127Pos127);
    check_i8(57, 2101, 35, Fill::Neg127Pos127);
    check_i8(29, 4099, 17, Fill::All127);
    check_i8(45, 1025, 1030, Fill::RandomSign127);
    check_i8(130, 2051, 1100, Fill::Random127);
    check_i8(70, 515, 97, Fill::FullRange);
    check_i8(15, 4096, 64, Fill::FullRange);
    shapes += 8;
    printf("i8  %-12s %d shapes: %s\n", name, shapes, g_failures == before ? "exact" : "MISMATCH");
  }

  for (const char* name : kF32) {
    if (pouw_gemm_f32_select(name) != 0) {
      printf("f32 %-12s not available here, skipped\n", name);
      continue;
    }
    const int before = g_failures;
    int shapes = 0;
    double worst = 0;
    for (uint32_t m : kSizes)
      for (uint32_t k : kSizes)
        for (uint32_t n : kSizes) {
          const double e = check_f32(m, k, n);
          if (e > worst) worst = e;
          shapes++;
        }
    const uint32_t big[][3] = {{100, 700, 1100}, {57, 2049, 45}, {15, 513, 1027}};
    for (auto& d : big) {
      const double e = check_f32(d[0], d[1], d[2]);
      if (e > worst) worst = e;
      shapes++;
    }
    printf("f32 %-12s %d shapes: worst error / sqrt(k) = %.2e (bound 1e-5): %s\n", name, shapes, worst,
           g_failures == before ? "ok" : "FAIL");
  }
  printf(g_failures ? "%d FAILURES\n" : "all passed\n", g_failures);
  return g_failures ? 1 : 0;
}
