// Single-thread benchmark of the matmul-lottery kernel, per implementation.
//
// For each shape it reports, in G multiply-adds per second (m * n * k' for the
// lottery, m * n * k for the plain product; best of several runs):
//   lottery      pouw_lottery_run without recovery (streams, noise, packing, product,
//                folding, tickets)
//   + recovery   the same with product_out (the extra time is reported as "recovery")
//   plain        pouw_lottery_plain_gemm: the same packing and microkernel with no
//                noise, no folding and no tickets (the fair baseline of the backend)
//   ratio        lottery time / plain time (the lottery's overhead)
// and a breakdown of the lottery time: phase 1 (streams for F, noise, packing B+F) and
// phase 2 (the rest) through the split API.
// With -DPOUW_BENCH_GEMM_I8 (and gemm_i8.cc linked) it also times the project's plain
// int8 GEMM for reference.
//
// Usage: lottery_bench [impl ...]   (default: every available implementation)
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../src/lottery.h"
#ifdef POUW_BENCH_GEMM_I8
#include "../src/gemm_i8.h"
#endif

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

template <class F>
double best_of(int reps, double min_total, F f) {
  double best = 1e30, total = 0;
  for (int i = 0; i < reps || total < min_total; i++) {
    double t0 = now();
    f();
    double t = now() - t0;
    best = std::min(best, t);
    total += t;
    if (i > 50) break;
  }
  return best;
}

struct Shape {
  uint32_t m, k, n, r, h, w;
};

void bench(const std::string& impl, const Shape& s) {
  pouw_lottery_select(impl.c_str());
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<int> u(-64, 64);
  std::vector<int8_t> A((size_t)s.m * s.k), B((size_t)s.k * s.n);
  for (auto& x : A) x = (int8_t)u(rng);
  for (auto& x : B) x = (int8_t)u(rng);
  uint8_t seedA[32], seedB[32], thr[32];
  for (auto& x : seedA) x = (uint8_t)rng();
  for (auto& x : seedB) x = (uint8_t)rng();
  std::memset(thr, 0, 32);
  thr[28] = 1;
  pouw_lottery_config cfg{s.r, s.h, s.w};
  const uint32_t tiles = (s.m / s.h) * (s.n / s.w);
  std::vector<uint8_t> tickets((size_t)tiles * 32);
  std::vector<uint32_t> winners(tiles);
  std::vector<int32_t> C((size_t)s.m * s.n);
  std::vector<uint8_t> scratch(pouw_lottery_scratch_bytes(s.m, s.k, s.n, s.r, s.h, s.w));
  uint32_t nw = 0;
  const double kf = (double)(s.k - s.k % s.r);
  const double macs = (double)s.m * s.n * kf, macs_plain = (double)s.m * s.n * s.k;
  int rc = 0;

  double t_lot = best_of(3, 1.0, [&] {
    rc |= pouw_lottery_run(A.data(), B.data(), s.m, s.k, s.n, &cfg, seedA, seedB, thr, tickets.data(), winners.data(),
                           tiles, &nw, nullptr, scratch.data());
  });
  double t_rec = best_of(3, 1.0, [&] {
    rc |= pouw_lottery_run(A.data(), B.data(), s.m, s.k, s.n, &cfg, seedA, seedB, thr, tickets.data(), winners.data(),
                           tiles, &nw, C.data(), scratch.data());
  });
  std::vector<uint8_t> pscratch(pouw_lottery_plain_scratch_bytes(s.m, s.k, s.n));
  double t_plain = best_of(3, 1.0, [&] {
    rc |= pouw_lottery_plain_gemm(A.data(), B.data(), s.m, s.k, s.n, C.data(), pscratch.data());
  });
  // split API breakdown
  std::vector<uint8_t> shared(pouw_lottery_shared_bytes(s.m, s.k, s.n, s.r, s.h, s.w));
  std::vector<uint8_t> rows(pouw_lottery_rows_scratch_bytes(s.m, s.k, s.n, s.r, s.h, s.w));
  double t_p1 = best_of(3, 0.3, [&] {
    rc |= pouw_lottery_prepare(B.data(), s.m, s.k, s.n, &cfg, seedA, seedB, 0, 0, 1, shared.data());
  });
  double t_p2 = best_of(3, 0.5, [&] {
    rc |= pouw_lottery_run_rows(A.data(), s.m, s.k, s.n, &cfg, seedA, seedB, thr, shared.data(), 0, s.m / s.h,
                                tickets.data(), winners.data(), tiles, &nw, nullptr, rows.data());
  });
  std::printf("%-12s %5ux%5ux%5u r%-4u tile %ux%u: lottery %6.1f G/s (%.2f ms) | +recovery %6.1f ms (%.2f ms extra) | "
              "plain %6.1f G/s (%.2f ms) | ratio %.3f | phase1 %.2f ms, phase2 %.2f ms%s\n",
              impl.c_str(), s.m, s.k, s.n, s.r, s.h, s.w, macs / t_lot * 1e-9, t_lot * 1e3, t_rec * 1e3,
              (t_rec - t_lot) * 1e3, macs_plain / t_plain * 1e-9, t_plain * 1e3, t_lot / t_plain, t_p1 * 1e3,
              t_p2 * 1e3, rc ? "  ERROR" : "");
#ifdef POUW_BENCH_GEMM_I8
  if (pouw_gemm_i8_select(impl.c_str()) == 0) {
    std::vector<uint8_t> gs(pouw_gemm_i8_scratch_bytes(s.m, s.k, s.n));
    double t_g = best_of(3, 1.0, [&] { pouw_gemm_i8(A.data(), B.data(), C.data(), s.m, s.k, s.n, gs.data()); });
    std::printf("%-12s   gemm_i8 reference: %6.1f G/s (%.2f ms)\n", impl.c_str(), macs_plain / t_g * 1e-9, t_g * 1e3);
  }
#endif
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> impls;
  for (int i = 1; i < argc; i++) impls.push_back(argv[i]);
  if (impls.empty())
    for (const char* name : {"amx-int8", "avx512-vnni", "avx2", "simd128", "portable"})
      if (pouw_lottery_select(name) == 0) impls.push_back(name);
  const Shape shapes[] = {{1024, 1024, 1024, 128, 64, 64}, {512, 4096, 512, 128, 64, 64}};
  for (const std::string& impl : impls) {
    if (pouw_lottery_select(impl.c_str()) != 0) {
      std::printf("%s: not available\n", impl.c_str());
      continue;
    }
    for (const Shape& s : shapes) bench(impl, s);
  }
  return 0;
}
