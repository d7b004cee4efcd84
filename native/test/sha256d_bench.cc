// Single-thread throughput of each SHA-256d implementation available on this CPU, for
// the two layouts that matter: a 104-byte header with an 8-byte nonce at 96 and an
// 80-byte (Bitcoin) header with a 4-byte nonce at 76. The target is all zero, so no
// nonce qualifies and the number reported is the raw search rate.
//
// With -DPOUW_BENCH_OPENSSL (and -lcrypto) it also times OpenSSL's SHA256 as a
// reference, both hashing the full header twice per nonce and resuming from a copied
// context after the first 64 bytes (a midstate).
//
// It does not check results (the test does) and measures one thread only; the rate
// of several threads depends on the caller's thread split, not on these kernels.
//
// Usage: sha256d_bench [seconds per measurement, default 1.0]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../src/sha256d.h"

#ifdef POUW_BENCH_OPENSSL
#include <openssl/sha.h>
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif

namespace {

using Clock = std::chrono::steady_clock;

struct Layout {
  uint32_t len, off, width;
  const char* name;
};
const Layout kLayouts[] = {{104, 96, 8, "104B/nonce@96/w8"}, {80, 76, 4, "80B/nonce@76/w4"}};

std::vector<uint8_t> header_for(const Layout& l) {
  std::vector<uint8_t> h(l.len);
  for (uint32_t i = 0; i < l.len; i++) h[i] = (uint8_t)(i * 37 + 11);
  return h;
}

// Runs fn(count) in growing chunks until `seconds` pass; returns hashes per second.
template <class F>
double rate(double seconds, F fn) {
  uint64_t chunk = 1 << 14, total = 0;
  auto t0 = Clock::now();
  double el = 0;
  while (el < seconds) {
    total += fn(chunk);
    el = std::chrono::duration<double>(Clock::now() - t0).count();
    if (el < seconds / 8) chunk *= 2;
  }
  return total / el;
}

double bench_impl(const Layout& l, double seconds) {
  std::vector<uint8_t> h = header_for(l);
  pouw_sha256d_job job;
  job.header = h.data();
  job.header_len = l.len;
  job.nonce_offset = l.off;
  job.nonce_width = l.width;
  std::memset(job.target, 0, 32);
  uint64_t next = 0;
  return rate(seconds, [&](uint64_t n) {
    uint64_t found[4];
    pouw_sha256d_result r;
    if (pouw_sha256d_scan(&job, next, n, found, 4, 0, nullptr, &r) != 0) std::abort();
    next += n;
    return r.hashes_done;
  });
}

#ifdef POUW_BENCH_OPENSSL
volatile uint8_t g_sink;

double bench_openssl_full(const Layout& l, double seconds) {
  std::vector<uint8_t> h = header_for(l);
  uint64_t nonce = 0;
  return rate(seconds, [&](uint64_t n) {
    uint8_t d1[32], d2[32];
    for (uint64_t i = 0; i < n; i++, nonce++) {
      std::memcpy(h.data() + l.off, &nonce, l.width);
      SHA256(h.data(), l.len, d1);
      SHA256(d1, 32, d2);
      g_sink ^= d2[31];
    }
    return n;
  });
}

double bench_openssl_midstate(const Layout& l, double seconds) {
  std::vector<uint8_t> h = header_for(l);
  SHA256_CTX mid;
  SHA256_Init(&mid);
  SHA256_Update(&mid, h.data(), 64);
  uint64_t nonce = 0;
  return rate(seconds, [&](uint64_t n) {
    uint8_t d1[32], d2[32];
    for (uint64_t i = 0; i < n; i++, nonce++) {
      std::memcpy(h.data() + l.off, &nonce, l.width);
      SHA256_CTX c = mid;
      SHA256_Update(&c, h.data() + 64, l.len - 64);
      SHA256_Final(d1, &c);
      SHA256(d1, 32, d2);
      g_sink ^= d2[31];
    }
    return n;
  });
}
#endif

}  // namespace

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
  if (seconds <= 0) seconds = 1.0;
  const char* impls[] = {"avx512-16x", "shani-4x", "shani-2x", "portable"};
  std::printf("default implementation: %s; %.2f s per measurement, best of 3, 1 thread\n",
              pouw_sha256d_impl(), seconds);
  std::printf("%-26s %18s %18s\n", "implementation", kLayouts[0].name, kLayouts[1].name);
  for (const char* impl : impls) {
    if (pouw_sha256d_select(impl) != 0) {
      std::printf("%-26s %18s\n", impl, "(not available)");
      continue;
    }
    std::printf("%-26s", impl);
    for (const Layout& l : kLayouts) {
      double best = 0;
      for (int rep = 0; rep < 3; rep++) {
        double r = bench_impl(l, seconds);
        if (r > best) best = r;
      }
      std::printf(" %14.2f M/s", best / 1e6);
    }
    std::printf("\n");
  }
#ifdef POUW_BENCH_OPENSSL
  std::printf("%-26s", "openssl SHA256 x2 (full)");
  for (const Layout& l : kLayouts) {
    double best = 0;
    for (int rep = 0; rep < 3; rep++) best = std::max(best, bench_openssl_full(l, seconds));
    std::printf(" %14.2f M/s", best / 1e6);
  }
  std::printf("\n%-26s", "openssl SHA256 midstate");
  for (const Layout& l : kLayouts) {
    double best = 0;
    for (int rep = 0; rep < 3; rep++) best = std::max(best, bench_openssl_midstate(l, seconds));
    std::printf(" %14.2f M/s", best / 1e6);
  }
  std::printf("\n");
#else
  std::printf("openssl: headers not found, reference skipped\n");
#endif
  return 0;
}
