// The int8 matmul lottery (protocol §15) as a plain C kernel: stream expansion,
// low-rank noise, the noisy product (A+E)(B+F) with int32 sums, the per-tile state
// fold after every r-wide slice of k, the tickets, the threshold test and the
// exact recovery of AB. It reproduces the TypeScript reference (core/lottery.ts)
// bit for bit. Seeds are computed by the caller (they are cheap) and passed in.
//
// House rules: no N-API, no threads, no allocation, no libc (the same source
// builds for freestanding wasm32). The caller owns every buffer, scratch included;
// the kernel aligns scratch pointers itself.
//
// Shapes (checked, POUW_LOTTERY_EDIMS otherwise): m, n >= 1; 2 <= rank <= k <= 65536;
// m % tile_rows == 0; n % tile_cols == 0. Entries of A and B must lie in [-64, 64]
// (POUW_LOTTERY_EENTRY otherwise; the outputs are then unspecified).
//
// Output conventions:
//  - tiles are numbered row-major: index = ti * (n / tile_cols) + tj;
//  - tickets_out (may be NULL) receives 32 bytes per tile at offset 32 * index;
//  - winners_out receives the indices of the tiles whose ticket, read as a
//    little-endian 256-bit integer, is <= threshold (also little-endian), in
//    increasing order; at most max_winners are written, *n_winners is the total
//    count (which may exceed max_winners); winners_out may be NULL when max_winners is 0;
//  - product_out (may be NULL: no recovery is done) receives AB exactly, m x n
//    int32, row-major.
//
// Two ways to call it:
//
// 1. One call, one thread: pouw_lottery_run with pouw_lottery_scratch_bytes.
//
// 2. Several threads on one job (the work is split by tile rows):
//      shared = buffer of pouw_lottery_shared_bytes(...), common to all threads;
//      phase 1, each thread p of P:   pouw_lottery_prepare(..., part = p, parts = P, shared)
//              (each part packs its own share of the columns of B+F; a single
//              caller may also do it alone with part 0 of 1);
//      barrier (every part must have returned before any phase 2 call starts);
//      phase 2, each thread with its own scratch of pouw_lottery_rows_scratch_bytes(...):
//              pouw_lottery_run_rows(..., tile_row_begin, tile_row_end, ...)
//              on disjoint tile-row ranges that together cover [0, m / tile_rows).
//    Phase 2 reads `shared` only. Each call writes only its own tiles' tickets, its
//    own rows of product_out (both arrays are passed whole, indexed globally) and its
//    own winners list (global tile indices, increasing); concatenating the winner lists
//    in tile-row order gives the job's list. The implementation in use must not change
//    between the two phases (POUW_LOTTERY_ESHARED otherwise).
//    Cost of the split: each phase-2 call regenerates the (cheap) index-pair streams;
//    B+F is packed only once, in phase 1.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pouw_lottery_config {
  uint32_t rank;       // r: noise rank and slice width
  uint32_t tile_rows;  // h
  uint32_t tile_cols;  // w
} pouw_lottery_config;

#define POUW_LOTTERY_OK 0
#define POUW_LOTTERY_EDIMS (-1)    // shape rules broken (or a dimension product too large)
#define POUW_LOTTERY_EENTRY (-2)   // an entry of A or B outside [-64, 64]
#define POUW_LOTTERY_ESHARED (-3)  // shared data prepared for another job shape or implementation
#define POUW_LOTTERY_ERANGE (-4)   // bad tile-row range or part index
#define POUW_LOTTERY_ENULL (-5)    // a required pointer is NULL

// ---------------------------------------------------------------------------
// One call

// Scratch bytes for pouw_lottery_run (with or without recovery). 0 when the shape is invalid.
size_t pouw_lottery_scratch_bytes(uint32_t m, uint32_t k, uint32_t n, uint32_t rank, uint32_t tile_rows,
                                  uint32_t tile_cols);

// The whole lottery on A (m x k) and B (k x n), both int8 row-major. Returns
// POUW_LOTTERY_OK or a negative POUW_LOTTERY_E* code.
int pouw_lottery_run(const int8_t* A, const int8_t* B, uint32_t m, uint32_t k, uint32_t n,
                     const pouw_lottery_config* cfg, const uint8_t seedA[32], const uint8_t seedB[32],
                     const uint8_t threshold_le[32], uint8_t* tickets_out, uint32_t* winners_out,
                     uint32_t max_winners, uint32_t* n_winners, int32_t* product_out, void* scratch);

// ---------------------------------------------------------------------------
// Split calls (see the header comment)

// Bytes of the shared buffer (it holds the packed B+F and, for recovery, the packed
// F_R and E_R.B). 0 when the shape is invalid.
size_t pouw_lottery_shared_bytes(uint32_t m, uint32_t k, uint32_t n, uint32_t rank, uint32_t tile_rows,
                                 uint32_t tile_cols);

// Phase 1: part `part` of `parts` (parts >= 1). with_product != 0 also prepares what
// recovery needs (required if any phase-2 call passes product_out).
int pouw_lottery_prepare(const int8_t* B, uint32_t m, uint32_t k, uint32_t n, const pouw_lottery_config* cfg,
                         const uint8_t seedA[32], const uint8_t seedB[32], int with_product, uint32_t part,
                         uint32_t parts, void* shared);

// Per-thread scratch bytes for pouw_lottery_run_rows (any tile-row range). 0 when invalid.
size_t pouw_lottery_rows_scratch_bytes(uint32_t m, uint32_t k, uint32_t n, uint32_t rank, uint32_t tile_rows,
                                       uint32_t tile_cols);

// Phase 2: tile rows [tile_row_begin, tile_row_end) (rows tile_row_begin * h .. tile_row_end * h
// of A are read; A is the whole matrix). Outputs as described above.
int pouw_lottery_run_rows(const int8_t* A, uint32_t m, uint32_t k, uint32_t n, const pouw_lottery_config* cfg,
                          const uint8_t seedA[32], const uint8_t seedB[32], const uint8_t threshold_le[32],
                          const void* shared, uint32_t tile_row_begin, uint32_t tile_row_end,
                          uint8_t* tickets_out, uint32_t* winners_out, uint32_t max_winners,
                          uint32_t* n_winners, int32_t* product_out, void* scratch);

// ---------------------------------------------------------------------------
// Implementation choice

// "amx-int8", "avx512-vnni", "avx2" or "portable" on x86-64 (native builds elsewhere:
// "portable"; "amx-int8" needs Linux, which grants the tile state on request);
// "simd128" or "portable" on wasm32. Stable strings.
const char* pouw_lottery_impl(void);

// By default "amx-int8" hands jobs whose rank pads badly to its 64-deep tiles (more
// than half wasted, e.g. rank 32) to "avx512-vnni"; results are identical either way.
//
// Forces an implementation by name for every job (tests and benchmarks; not
// thread-safe with concurrent calls). Returns 0 when it is available on this machine,
// -1 otherwise.
int pouw_lottery_select(const char* name);

// ---------------------------------------------------------------------------
// Helpers for tests and debugging (not needed to mine)

// SHA-256 of len bytes.
void pouw_lottery_sha256(const void* data, size_t len, uint8_t out[32]);

// count bytes of the stream (seed, label) from byte offset: block i is
// SHA-256(seed || label || u64le i). label_len <= 64.
void pouw_lottery_expand(const uint8_t seed[32], const char* label, uint32_t label_len, uint64_t offset,
                         uint64_t count, uint8_t* out);

// The noisy operands, row-major: AE_out = A + E (m x k), BF_out = B + F (k x n); either
// may be NULL. Plain scalar code. Scratch: pouw_lottery_noisy_scratch_bytes.
size_t pouw_lottery_noisy_scratch_bytes(uint32_t m, uint32_t k, uint32_t n, uint32_t rank);
int pouw_lottery_noisy(const int8_t* A, const int8_t* B, uint32_t m, uint32_t k, uint32_t n, uint32_t rank,
                       const uint8_t seedA[32], const uint8_t seedB[32], int8_t* AE_out, int8_t* BF_out,
                       void* scratch);

// The plain int8 product C = A B (m x n int32) through the same packing and
// microkernel as the lottery, with no noise and no folding: the baseline the
// lottery's overhead is measured against. Scratch: pouw_lottery_plain_scratch_bytes.
size_t pouw_lottery_plain_scratch_bytes(uint32_t m, uint32_t k, uint32_t n);
int pouw_lottery_plain_gemm(const int8_t* A, const int8_t* B, uint32_t m, uint32_t k, uint32_t n, int32_t* C,
                            void* scratch);

#ifdef __cplusplus
}
#endif
