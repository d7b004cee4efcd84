// What this CPU and its OS let a kernel use, read once from cpuid and xgetbv:
// the one feature check every kernel's dispatch and the addon's CPU report
// share, so they can never disagree.
//
// A vector extension counts only when the OS also saves its register state
// (XCR0): AVX/AVX2/FMA need XMM and YMM, AVX-512 needs opmask and both ZMM
// halves. AMX also needs the tile state enabled in XCR0 and, on Linux, this
// process's permission to use the tile data (arch_prctl ARCH_REQ_XCOMP_PERM,
// requested by `amx_usable`; the request is idempotent).
//
// Header-only and freestanding (the wasm32 build has no libc): on anything
// but x86-64 every feature is false. Internal linkage on purpose, like the
// kernels' other private headers: the files that include it carry wide code
// only behind per-function target attributes.
#pragma once
#include <stdint.h>

namespace pouw {

struct CpuFeatures {
  bool ssse3, sse41, sha;                // SHA-NI with the SSE it needs
  bool avx2, fma, bmi2;                  // with the OS saving YMM
  bool avx512f, avx512bw, avx512vl;      // with the OS saving opmask and ZMM
  bool avx512vnni, avx512vbmi;
  bool amx_tile, amx_int8, amx_os;       // the CPU has AMX; the OS enabled XTILECFG and XTILEDATA
};

namespace {

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(__wasm__)
inline void pouw_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
  __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

inline CpuFeatures cpu_features() {
  CpuFeatures f = {};
  uint32_t r[4];
  pouw_cpuid(0, 0, r);
  const uint32_t max_leaf = r[0];
  pouw_cpuid(1, 0, r);
  const uint32_t c1 = r[2];
  f.ssse3 = c1 & (1u << 9);
  f.sse41 = c1 & (1u << 19);
  const bool fma = c1 & (1u << 12), osxsave = c1 & (1u << 27), avx = c1 & (1u << 28);
  uint64_t xcr0 = 0;
  if (osxsave) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    xcr0 = ((uint64_t)hi << 32) | lo;
  }
  const bool os_ymm = (xcr0 & 0x6) == 0x6;      // XMM, YMM
  const bool os_zmm = (xcr0 & 0xe6) == 0xe6;    // XMM, YMM, opmask, ZMM_Hi256, Hi16_ZMM
  f.amx_os = (xcr0 & 0x60000) == 0x60000;       // XTILECFG, XTILEDATA
  if (max_leaf < 7) return f;
  pouw_cpuid(7, 0, r);
  const uint32_t b7 = r[1], c7 = r[2], d7 = r[3];
  f.sha = (b7 & (1u << 29)) && f.ssse3 && f.sse41;
  f.avx2 = avx && os_ymm && (b7 & (1u << 5));
  f.fma = avx && os_ymm && fma;
  f.bmi2 = b7 & (1u << 8);
  f.avx512f = os_zmm && (b7 & (1u << 16));
  f.avx512bw = f.avx512f && (b7 & (1u << 30));
  f.avx512vl = f.avx512f && (b7 & (1u << 31));
  f.avx512vbmi = f.avx512f && (c7 & (1u << 1));
  f.avx512vnni = f.avx512f && (c7 & (1u << 11));
  f.amx_tile = d7 & (1u << 24);
  f.amx_int8 = d7 & (1u << 25);
  return f;
}

#if defined(__linux__)
// Asks Linux for this process's permission to use the AMX tile data (arch_prctl
// ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA); true when granted.
inline bool request_amx_permission() {
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(158L), "D"(0x1023L), "S"(18L) : "rcx", "r11", "memory");
  return ret == 0;
}
#else
inline bool request_amx_permission() { return false; }
#endif

#else
inline CpuFeatures cpu_features() { return CpuFeatures{}; }
inline bool request_amx_permission() { return false; }
#endif

// The feature sets the kernels' wide paths are compiled for.
inline bool cpu_avx2(const CpuFeatures& f) { return f.avx2 && f.fma && f.bmi2; }
inline bool cpu_avx512(const CpuFeatures& f) { return f.avx512f && f.avx512bw && f.avx512vl; }
inline bool cpu_avx512_vnni(const CpuFeatures& f) { return cpu_avx512(f) && f.avx512vnni; }

// AMX int8 tiles usable by this process: the CPU has them, the OS saves their state,
// and (Linux) the process was granted the tile data. Makes the permission request.
inline bool amx_usable() {
  const CpuFeatures f = cpu_features();
  return f.amx_tile && f.amx_int8 && f.amx_os && request_amx_permission();
}

}  // namespace
}  // namespace pouw
