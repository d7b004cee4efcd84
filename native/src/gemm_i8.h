// Plain int8 matrix product with exact int32 results: the reference the matmul
// lottery's overhead is measured against. Same house rules as the other kernels:
// plain C interface, no N-API, no allocation, no threads; the caller owns every
// buffer, including the packing scratch. To use several threads, give each a slice
// of rows (rows of A and C are contiguous in row-major order) and its own scratch.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Bytes of scratch pouw_gemm_i8 needs for an m x k by k x n product. Bounded: it
// grows with min(k, block) and min(n, block) only, never past about 1.3 MiB, and it
// covers every implementation compiled in (so pouw_gemm_i8_select cannot outgrow it).
size_t pouw_gemm_i8_scratch_bytes(uint32_t m, uint32_t k, uint32_t n);

// C = A * B, row-major, A m x k, B k x n, C m x n (overwritten), int32 sums.
// Exact for all int8 inputs whenever every true result fits in int32 (always
// when k <= 131072); intermediate sums wrap modulo 2^32 and the final values are
// exact. `scratch` holds at least pouw_gemm_i8_scratch_bytes(m, k, n) bytes, any
// alignment. A, B and C must not overlap. m, n or k may be 0 (k = 0 zeroes C).
void pouw_gemm_i8(const int8_t* A, const int8_t* B, int32_t* C, uint32_t m, uint32_t k, uint32_t n,
                  void* scratch);

// The implementation in use: "avx512-vnni", "avx2", "portable" (x86-64 and other
// native targets), "simd128" or "portable" (wasm32). Stable strings, shown to users.
const char* pouw_gemm_i8_impl(void);

// Force an implementation by name (tests and benchmarks only; not thread-safe with
// concurrent calls). Returns 0 if available on this CPU, -1 otherwise.
int pouw_gemm_i8_select(const char* name);

#ifdef __cplusplus
}
#endif
