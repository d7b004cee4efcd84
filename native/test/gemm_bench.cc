// Single-thread throughput of every GEMM implementation this CPU can run, at 256^3,
// 512^3 and 1024^3 (best of several runs), with a naive triple loop as a sanity
// reference. Built and run by gemm_run.sh --bench.
//
// Units: f32 in GFLOP/s (2 flops per multiply-add); int8 in G multiply-adds/s
// ("GMAC/s", one multiply-add = one op), with twice that shown as GOP/s for
// comparison with figures that count the multiply and the add separately.
//
// On x86-64 it also estimates the clock (a chain of dependent integer adds, one per
// cycle) and the resulting peaks: FP32 = 2 FMA ports x 16 lanes x 2 flops x clock;
// int8 VNNI = 2 ports x 64 multiply-adds (one vpdpbusd on a ZMM) x clock. The AVX-512
// clock can be lower than the one measured with integer code.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <chrono>
#include <vector>

#include "gemm_f32.h"
#include "gemm_i8.h"

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

#if defined(__x86_64__)
double clock_ghz() {
  uint64_t x = 1;
  const uint64_t step = 3;
  const long n = 200000000;
  const double t = now();
  for (long i = 0; i < n; i++)
    __asm__ volatile("add %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0" : "+r"(x) : "r"(step));
  return 4.0 * n / (now() - t) / 1e9;
}
#endif

template <class F>
double best_seconds(F&& f, double budget) {
  f();  // warm-up
  double best = 1e30, spent = 0;
  int runs = 0;
  while ((runs < 3 || spent < budget) && runs < 200) {
    const double t = now();
    f();
    const double dt = now() - t;
    spent += dt;
    if (dt < best) best = dt;
    runs++;
  }
  return best;
}

void naive_i8(const int8_t* A, const int8_t* B, int32_t* C, uint32_t m, uint32_t k, uint32_t n) {
  for (uint32_t i = 0; i < m; i++)
    for (uint32_t j = 0; j < n; j++) {
      int32_t s = 0;
      for (uint32_t p = 0; p < k; p++) s += A[(size_t)i * k + p] * B[(size_t)p * n + j];
      C[(size_t)i * n + j] = s;
    }
}

void naive_f32(const float* A, const float* B, float* C, uint32_t m, uint32_t k, uint32_t n) {
  for (uint32_t i = 0; i < m; i++)
    for (uint32_t j = 0; j < n; j++) {
      float s = 0;
      for (uint32_t p = 0; p < k; p++) s += A[(size_t)i * k + p] * B[(size_t)p * n + j];
      C[(size_t)i * n + j] = s;
    }
}

}  // namespace

int main(int argc, char** argv) {
  const double budget = argc > 1 ? atof(argv[1]) : 1.0;  // seconds per measurement
  const uint32_t sizes[] = {256, 512, 1024};
#if defined(__x86_64__)
  const double ghz = clock_ghz();
  printf("clock ~ %.2f GHz (integer); peaks at that clock: f32 %.0f GFLOP/s (AVX-512 FMA), %.0f (AVX2 FMA); "
         "int8 %.0f GMAC/s (AVX-512 VNNI)\n",
         ghz, 2 * 16 * 2 * ghz, 2 * 8 * 2 * ghz, 2 * 64 * ghz);
#endif
  printf("default paths: i8 %s, f32 %s\n\n", pouw_gemm_i8_impl(), pouw_gemm_f32_impl());

  static const char* const kI8[] = {"avx512-vnni", "avx2", "simd128", "portable"};
  static const char* const kF32[] = {"avx512-fma", "avx2-fma", "simd128", "portable"};
  for (uint32_t N : sizes) {
    const size_t nn = (size_t)N * N;
    std::vector<int8_t> A8(nn), B8(nn);
    std::vector<int32_t> C8(nn);
    std::vector<float> Af(nn), Bf(nn), Cf(nn);
    uint32_t r = 12345;
    for (size_t i = 0; i < nn; i++) {
      r = r * 1103515245u + 12345u;
      A8[i] = (int8_t)((int)((r >> 8) % 255) - 127);
      Af[i] = (float)((int)((r >> 8) % 2001) - 1000) / 1000.0f;
      r = r * 1103515245u + 12345u;
      B8[i] = (int8_t)((int)((r >> 8) % 255) - 127);
      Bf[i] = (float)((int)((r >> 8) % 2001) - 1000) / 1000.0f;
    }
    const double macs = (double)N * N * N;
    std::vector<unsigned char> s8(pouw_gemm_i8_scratch_bytes(N, N, N)), sf(pouw_gemm_f32_scratch_bytes(N, N, N));
    for (const char* name : kI8) {
      if (pouw_gemm_i8_select(name) != 0) continue;
      const double t = best_seconds([&] { pouw_gemm_i8(A8.data(), B8.data(), C8.data(), N, N, N, s8.data()); }, budget);
      printf("i8  %-12s %4u^3  %8.1f GMAC/s  (%7.1f GOP/s)\n", name, N, macs / t / 1e9, 2 * macs / t / 1e9);
    }
    if (N <= 512) {
      const double t = best_seconds([&] { naive_i8(A8.data(), B8.data(), C8.data(), N, N, N); }, budget);
      printf("i8  %-12s %4u^3  %8.1f GMAC/s\n", "naive-loop", N, macs / t / 1e9);
    }
    for (const char* name : kF32) {
      if (pouw_gemm_f32_select(name) != 0) continue;
      const double t = best_seconds([&] { pouw_gemm_f32(Af.data(), Bf.data(), Cf.data(), N, N, N, sf.data()); }, budget);
      printf("f32 %-12s %4u^3  %8.1f GFLOP/s\n", name, N, 2 * macs / t / 1e9);
    }
    if (N <= 512) {
      const double t = best_seconds([&] { naive_f32(Af.data(), Bf.data(), Cf.data(), N, N, N); }, budget);
      printf("f32 %-12s %4u^3  %8.1f GFLOP/s\n", "naive-loop", N, 2 * macs / t / 1e9);
    }
    printf("\n");
  }
  return 0;
}
