// Private glue between the SHA-256d nonce-search kernels (not part of the public
// interface in sha256d.h).
//
// What it holds: the FIPS 180-4 constants and scalar helpers, the "prepared job"
// every kernel starts from (midstate of the constant first block, the remaining
// padded block(s) as big-endian words with the nonce field zeroed, the target as
// words), and the small kernel table the dispatcher uses.
//
// Division of work: the dispatcher (sha256d.cc) validates the job, prepares it once
// per call, splits the range into batches, polls the cancel flag between batches and
// confirms every candidate with the full 256-bit comparison. A kernel only reports,
// per batch, the nonce offsets whose most significant 32 bits of the little-endian
// hash integer are <= the target's top word ("candidates"), in increasing order.
//
// It does not define any kernel or any exported symbol, only shared declarations.
//
// Everything here has internal linkage (static / anonymous namespace) on purpose:
// the kernel files are compiled with different target options, and a shared inline
// function merged across them by the linker could carry wide instructions into the
// code that runs on every CPU.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "sha256d.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define POUW_X86_KERNELS 1
#else
#define POUW_X86_KERNELS 0
#endif

namespace pouw {
namespace {

constexpr uint32_t kK[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

constexpr uint32_t kIV[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                             0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

constexpr uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
constexpr uint32_t big_sigma0(uint32_t x) { return rotr(x, 2) ^ rotr(x, 13) ^ rotr(x, 22); }
constexpr uint32_t big_sigma1(uint32_t x) { return rotr(x, 6) ^ rotr(x, 11) ^ rotr(x, 25); }
constexpr uint32_t small_sigma0(uint32_t x) { return rotr(x, 7) ^ rotr(x, 18) ^ (x >> 3); }
constexpr uint32_t small_sigma1(uint32_t x) { return rotr(x, 17) ^ rotr(x, 19) ^ (x >> 10); }
constexpr uint32_t ch(uint32_t e, uint32_t f, uint32_t g) { return (e & f) ^ (~e & g); }
constexpr uint32_t maj(uint32_t a, uint32_t b, uint32_t c) { return (a & b) ^ (a & c) ^ (b & c); }
constexpr uint32_t bswap32(uint32_t x) {
  return (x >> 24) | ((x >> 8) & 0xff00u) | ((x << 8) & 0xff0000u) | (x << 24);
}

inline uint32_t load_be32(const uint8_t* p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
inline uint32_t load_le32(const uint8_t* p) {
  return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}
inline void store_be32(uint8_t* p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

// Full message schedule of one block (W[0..63]) from its 16 words.
inline void expand_schedule(const uint32_t block[16], uint32_t w[64]) {
  for (int t = 0; t < 16; t++) w[t] = block[t];
  for (int t = 16; t < 64; t++)
    w[t] = small_sigma1(w[t - 2]) + w[t - 7] + small_sigma0(w[t - 15]) + w[t - 16];
}

// Runs rounds [from, to) on the working variables v[0..7] = a..h with schedule w.
inline void scalar_rounds(uint32_t v[8], const uint32_t w[64], int from, int to) {
  for (int t = from; t < to; t++) {
    uint32_t t1 = v[7] + big_sigma1(v[4]) + ch(v[4], v[5], v[6]) + kK[t] + w[t];
    uint32_t t2 = big_sigma0(v[0]) + maj(v[0], v[1], v[2]);
    v[7] = v[6];
    v[6] = v[5];
    v[5] = v[4];
    v[4] = v[3] + t1;
    v[3] = v[2];
    v[2] = v[1];
    v[1] = v[0];
    v[0] = t1 + t2;
  }
}

// One SHA-256 compression of a block given as 16 big-endian-decoded words.
inline void compress_words(uint32_t state[8], const uint32_t block[16]) {
  uint32_t w[64];
  expand_schedule(block, w);
  uint32_t v[8];
  for (int i = 0; i < 8; i++) v[i] = state[i];
  scalar_rounds(v, w, 0, 64);
  for (int i = 0; i < 8; i++) state[i] += v[i];
}

}  // namespace

// A validated job, prepared once per scan call.
struct Prep {
  uint32_t mid[8];          // state after the first (nonce-free) 64-byte block
  uint32_t block[2][16];    // the remaining padded block(s), big-endian words, nonce bytes zero
  uint32_t tail_blocks;     // 1 (header_len <= 119) or 2 (120..128)
  uint32_t nonce_pos;       // byte offset of the nonce inside block[0] (0..60)
  uint32_t nonce_width;     // 4 or 8
  uint32_t first_word;      // block[0] word holding the nonce's first byte
  uint32_t last_word;       // block[0] word holding the nonce's last byte
  uint64_t nonce_mask;      // 0xffffffff or ~0
  uint32_t target_words[8]; // target as little-endian 32-bit words; [7] is the most significant
};

namespace {

// ORs the nonce bytes (little-endian, at p.nonce_pos) into the big-endian words of a
// copy of block[0]. Only words first_word..last_word change.
inline void put_nonce(const Prep& p, uint64_t nonce, uint32_t words[16]) {
  for (uint32_t j = 0; j < p.nonce_width; j++) {
    uint32_t pos = p.nonce_pos + j;
    words[pos >> 2] |= (uint32_t)((nonce >> (8 * j)) & 0xff) << (24 - 8 * (pos & 3));
  }
}

// Big-endian nonce words first_word..last_word (at most 3) for one nonce, each
// including the constant bytes of block[0] that share the word.
inline void nonce_words(const Prep& p, uint64_t nonce, uint32_t out[3]) {
  uint32_t tmp[16];
  for (uint32_t i = p.first_word; i <= p.last_word; i++) tmp[i] = p.block[0][i];
  put_nonce(p, nonce, tmp);
  for (uint32_t i = p.first_word; i <= p.last_word; i++) out[i - p.first_word] = tmp[i];
}

}  // namespace

// Per-scan scratch a kernel may fill in init() and read in batch(); no allocation.
struct alignas(64) KernelScratch {
  unsigned char bytes[6144];
};

// Largest batch the dispatcher hands to a kernel; candidate offsets fit in uint16_t.
constexpr uint32_t kBatch = 4096;

struct Kernel {
  const char* name;
  void (*init)(const Prep& p, KernelScratch* s);
  // Hashes nonces (first + i) & p.nonce_mask for i in [0, n), n <= kBatch, and writes the
  // offsets i whose candidate test passes, in increasing order, to cand[]. Returns how many.
  uint32_t (*batch)(const Prep& p, const KernelScratch* s, uint64_t first, uint32_t n,
                    uint16_t* cand);
};

#if POUW_X86_KERNELS
extern const Kernel kKernelAvx512;
extern const Kernel kKernelShani4;
extern const Kernel kKernelShani2;
#endif
#if defined(__wasm_simd128__)
extern const Kernel kKernelSimd128;
#endif

}  // namespace pouw
