// Whether this process may use AMX int8 tiles: the CPU has AMX-TILE and
// AMX-INT8, the OS enabled the tile state (XCR0 bits 17-18), and Linux granted
// this process the tile data (arch_prctl ARCH_REQ_XCOMP_PERM; the request is
// idempotent). Header-only so every kernel file that dispatches to AMX shares
// one definition. x86-64 Linux only; false elsewhere.
#pragma once

#if defined(__x86_64__) && defined(__linux__) && !defined(__wasm__)
#include <stdint.h>

static inline bool pouw_amx_usable() {
  uint32_t a, b, c, d;
  __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
  if (!((d >> 24) & 1) || !((d >> 25) & 1)) return false;  // AMX-TILE, AMX-INT8
  __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
  if (!((c >> 27) & 1)) return false;  // OSXSAVE
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  if (((lo >> 17) & 3) != 3) return false;  // XTILECFG and XTILEDATA enabled by the OS
  long ret;  // arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)
  __asm__ volatile("syscall" : "=a"(ret) : "a"(158L), "D"(0x1023L), "S"(18L) : "rcx", "r11", "memory");
  return ret == 0;
}
#else
static inline bool pouw_amx_usable() { return false; }
#endif
