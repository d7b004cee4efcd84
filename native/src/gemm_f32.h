// Single-precision matrix product, the float counterpart of gemm_i8.h. Same house
// rules: plain C interface, no N-API, no allocation, no threads; the caller owns
// every buffer, including the packing scratch. To use several threads, give each a slice
// of rows (rows of A and C are contiguous in row-major order) and its own scratch.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Bytes of scratch pouw_gemm_f32 needs for an m x k by k x n product. Bounded: it
// grows with min(k, block) and min(n, block) only, never past about 1.1 MiB, and it
// covers every implementation compiled in (so pouw_gemm_f32_select cannot outgrow it).
size_t pouw_gemm_f32_scratch_bytes(uint32_t m, uint32_t k, uint32_t n);

// C = A * B, row-major, A m x k, B k x n, C m x n (overwritten), accumulated in
// float32 (fused multiply-adds where the path has them, so the last bits differ
// between paths; the order of summation over k is not specified). `scratch` holds
// at least pouw_gemm_f32_scratch_bytes(m, k, n) bytes, any alignment (a float*
// works). A, B and C must not overlap. m, n or k may be 0 (k = 0 zeroes C).
void pouw_gemm_f32(const float* A, const float* B, float* C, uint32_t m, uint32_t k, uint32_t n, void* scratch);

// The implementation in use: "avx512-fma", "avx2-fma", "portable" (x86-64 and other
// native targets), "simd128" or "portable" (wasm32). Stable strings, shown to users.
const char* pouw_gemm_f32_impl(void);

// Force an implementation by name (tests and benchmarks only; not thread-safe with
// concurrent calls). Returns 0 if available on this CPU, -1 otherwise.
int pouw_gemm_f32_select(const char* name);

#ifdef __cplusplus
}
#endif
