// Matrix commitments and Freivalds' check, the integer kernels a verifier runs
// besides the lottery itself. Same house rules: plain C, no N-API, no
// allocation (the caller passes scratch), bit-identical to core/lottery.ts and
// core/freivalds.ts, which are the specification.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Scratch bytes for pouw_commit_lines on a rows x cols matrix.
size_t pouw_commit_scratch_bytes(uint32_t rows, uint32_t cols);

// RFC 6962 merkle root over the lines of M (row-major rows x cols): its rows when
// by_columns is 0, its columns otherwise. Leaf data of line i of length L is
// u32le i || u32le L || the line's int8 bytes. Returns 0, or -1 for empty shapes.
int pouw_commit_lines(const int8_t* M, uint32_t rows, uint32_t cols, int by_columns, uint8_t root[32],
                      void* scratch);

// Scratch bytes for pouw_freivalds.
size_t pouw_freivalds_scratch_bytes(uint32_t m, uint32_t k, uint32_t n);

// Does C (m x n, int32) equal A (m x k) * B (k x n)? `rounds` vectors drawn from the
// stream (seed, "freivalds") exactly as core/freivalds.ts draws them. Returns 1 when
// every round agrees, 0 when one does not (or an entry of C is too large to be a
// product), -1 for a bad shape (k*n above 2^39, zero dims, rounds outside 1..1024),
// -2 for an entry of A or B outside [-64, 64].
int pouw_freivalds(const int8_t* A, const int8_t* B, const int32_t* C, uint32_t m, uint32_t k, uint32_t n,
                   const uint8_t seed[32], uint32_t rounds, void* scratch);

// The folded 16-word state of one lottery tile from its noisy lines, exactly as
// core/lottery.ts tileState: AE holds the tile's h rows of A+E (h x k), BFT its
// w columns of B+F (w x k, each column contiguous); after every r-wide slice of
// k each accumulator is XORed into word (i*w + j) % 16, every word rotates left
// by 13 and word s % 16 gains s + 1. `scratch` holds 4*h*w bytes. Returns 0, or
// -1 for a bad shape (rank < 2, k > 65536, zero dims). This is the verifier's
// side of the lottery: O(h*w*k) for one tile, no noise generation.
int pouw_tile_state(const int8_t* AE, const int8_t* BFT, uint32_t h, uint32_t w, uint32_t k, uint32_t rank,
                    uint32_t state[16], void* scratch);

#ifdef __cplusplus
}
#endif
