// Small helpers shared by the GEMM kernel files: microkernel attributes,
// row-unrolling macros and scratch arithmetic. Header-only, freestanding
// (wasm32 builds have no libc).
#pragma once
#include <stddef.h>
#include <stdint.h>

// Microkernels are kept out of interprocedural optimization: value ranges propagated
// from the callers have led a compiler to spill accumulators inside the hot loop.
#if defined(__clang__)
#define POUW_KERNEL_ATTR __attribute__((noinline))
#else
#define POUW_KERNEL_ATTR __attribute__((noipa))
#endif
#define POUW_ROWS14(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13)
#define POUW_ROWS6(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define POUW_ROWS4(X) X(0) X(1) X(2) X(3)

namespace {

[[maybe_unused]] inline size_t round_up(size_t x, size_t a) { return (x + a - 1) / a * a; }
[[maybe_unused]] inline uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }
[[maybe_unused]] inline uint8_t* align64(void* p) { return (uint8_t*)(((uintptr_t)p + 63) & ~(uintptr_t)63); }

}  // namespace
