// SHA-256d nonce search: the kernel interface shared by the Node addon and the
// WASM build. Plain C++ with no N-API and no allocation; the caller owns every
// buffer. One call scans a contiguous nonce range on the calling thread; the
// addon splits ranges across threads.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pouw_sha256d_job {
  const uint8_t* header;   // 80..128 bytes
  uint32_t header_len;
  uint32_t nonce_offset;   // byte offset of the nonce field; the field lies at or after byte 64
                           // when header_len > 64 so the first block is a constant midstate
  uint32_t nonce_width;    // 4 or 8; the nonce is written little-endian
  uint8_t target[32];      // 256-bit target, little-endian (hash read as LE integer must be <= target)
} pouw_sha256d_job;

typedef struct pouw_sha256d_result {
  uint64_t hashes_done;    // nonces actually tried
  uint32_t found_count;    // entries written to found[] (<= max_found)
} pouw_sha256d_result;

// Tries nonces start, start+1, ..., start+count-1 (wrapping within the nonce width) and
// records each nonce whose SHA-256d(header with nonce) <= target in found[], in increasing
// scan order, up to max_found (scanning continues to count unless stop_on_find).
// `cancel` is polled between batches; when it becomes non-zero the scan stops early.
// Returns 0 on success, a negative code for invalid jobs.
int pouw_sha256d_scan(const pouw_sha256d_job* job, uint64_t start, uint64_t count,
                      uint64_t* found, uint32_t max_found, int stop_on_find,
                      const volatile int32_t* cancel, pouw_sha256d_result* out);

// The implementation the dispatcher picked on this CPU: "avx512-16x", "shani-4x",
// "portable", "simd128-4x" (wasm). Stable strings, shown to users.
const char* pouw_sha256d_impl(void);

// Force an implementation by name (for tests and benchmarks); returns 0 if available.
int pouw_sha256d_select(const char* name);

// Plain SHA-256d of a message (reference and tests).
void pouw_sha256d(const uint8_t* data, size_t len, uint8_t out[32]);

// Plain SHA-256 of a message: the one SHA-256 the other kernels (commitments,
// streams, tickets) share.
void pouw_sha256(const uint8_t* data, size_t len, uint8_t out[32]);

#ifdef __cplusplus
}
#endif
