// The SHA-256 compression (FIPS 180-4), written once for every kernel that
// hashes: the SHA-256d nonce search (sha256d*.cc) and the matmul lottery's
// noise streams and tile tickets (lottery_stream.cc).
//
// The round, the sigma functions and the schedule are templates over the
// lane type `V`: `uint32_t` for one message, or a compiler vector-extension
// type (`uint32_t __attribute__((vector_size(N)))`) for N/4 messages in
// lock step; the same source then compiles to scalar, SSE, AVX2 or AVX-512
// code, chosen by the caller's target attributes. Kernels with intrinsic
// rounds of their own (SHA-NI, the AVX-512 ternary-logic lanes) still take
// their constants and their scalar precomputation from here.
//
// Header-only, freestanding (the wasm32 build has no libc), and of internal
// linkage on purpose: the files that include it compile wide code behind
// per-function target attributes, and an inline function merged across files
// by the linker must never carry wide instructions into code that runs on
// every CPU.
#pragma once
#include <stddef.h>
#include <stdint.h>

#define POUW_SHA_INLINE inline __attribute__((always_inline))

namespace pouw {
namespace sha256 {
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

constexpr uint32_t kIV[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

template <class V>
constexpr POUW_SHA_INLINE V rotr(const V& x, int n) {
  return (x >> n) | (x << (32 - n));
}
template <class V>
constexpr POUW_SHA_INLINE V big_sigma0(const V& x) {
  return rotr(x, 2) ^ rotr(x, 13) ^ rotr(x, 22);
}
template <class V>
constexpr POUW_SHA_INLINE V big_sigma1(const V& x) {
  return rotr(x, 6) ^ rotr(x, 11) ^ rotr(x, 25);
}
template <class V>
constexpr POUW_SHA_INLINE V small_sigma0(const V& x) {
  return rotr(x, 7) ^ rotr(x, 18) ^ (x >> 3);
}
template <class V>
constexpr POUW_SHA_INLINE V small_sigma1(const V& x) {
  return rotr(x, 17) ^ rotr(x, 19) ^ (x >> 10);
}
// (e & f) ^ (~e & g) and the majority, in the forms with the fewest operations. Vectors
// are passed by reference: no out-of-line copy ever takes one by value.
template <class V>
constexpr POUW_SHA_INLINE V ch(const V& e, const V& f, const V& g) {
  return g ^ (e & (f ^ g));
}
template <class V>
constexpr POUW_SHA_INLINE V maj(const V& a, const V& b, const V& c) {
  return (a & b) | (c & (a | b));
}

/** One round: `kw` is K[t] + W[t]. The caller's variables rotate by renaming, so the moves cost nothing. */
template <class V>
POUW_SHA_INLINE void round(V& a, V& b, V& c, V& d, V& e, V& f, V& g, V& h, const V& kw) {
  const V t1 = h + big_sigma1(e) + ch(e, f, g) + kw;
  const V t2 = big_sigma0(a) + maj(a, b, c);
  h = g;
  g = f;
  f = e;
  e = d + t1;
  d = c;
  c = b;
  b = a;
  a = t1 + t2;
}

/** Schedule word t ≥ 16 of a rolling 16-word schedule, in place. */
template <class V>
POUW_SHA_INLINE V schedule(V w[16], int t) {
  return w[t & 15] = small_sigma1(w[(t - 2) & 15]) + w[(t - 7) & 15] + small_sigma0(w[(t - 15) & 15]) + w[t & 15];
}

/** Rounds [from, 64) on the working variables s[0..7] with a rolling 16-word schedule (w is consumed). */
template <class V>
POUW_SHA_INLINE void rounds(V s[8], V w[16], int from) {
  V a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
  _Pragma("GCC unroll 64") for (int t = from; t < 64; t++) {
    const V wt = t >= 16 ? schedule(w, t) : w[t & 15];
    round(a, b, c, d, e, f, g, h, wt + kK[t]);
  }
  s[0] = a, s[1] = b, s[2] = c, s[3] = d, s[4] = e, s[5] = f, s[6] = g, s[7] = h;
}

/** The full 64-word schedule of one block, for kernels that precompute what constant words fix. */
inline void expand_schedule(const uint32_t block[16], uint32_t w[64]) {
  for (int t = 0; t < 16; t++) w[t] = block[t];
  for (int t = 16; t < 64; t++) w[t] = small_sigma1(w[t - 2]) + w[t - 7] + small_sigma0(w[t - 15]) + w[t - 16];
}

/** Rounds [from, to) on v[0..7] = a..h with a full schedule w. */
inline void scalar_rounds(uint32_t v[8], const uint32_t w[64], int from, int to) {
  uint32_t a = v[0], b = v[1], c = v[2], d = v[3], e = v[4], f = v[5], g = v[6], h = v[7];
  for (int t = from; t < to; t++) round(a, b, c, d, e, f, g, h, kK[t] + w[t]);
  v[0] = a, v[1] = b, v[2] = c, v[3] = d, v[4] = e, v[5] = f, v[6] = g, v[7] = h;
}

constexpr POUW_SHA_INLINE uint32_t bswap32(uint32_t x) {
  return (x >> 24) | ((x >> 8) & 0xff00u) | ((x << 8) & 0xff0000u) | (x << 24);
}
POUW_SHA_INLINE uint32_t load_be32(const uint8_t* p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
POUW_SHA_INLINE uint32_t load_le32(const uint8_t* p) {
  return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}
POUW_SHA_INLINE void store_be32(uint8_t* p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/** One compression of a block given as 16 big-endian-decoded words. */
inline void compress_words(uint32_t state[8], const uint32_t block[16]) {
  uint32_t w[16], s[8];
  for (int i = 0; i < 16; i++) w[i] = block[i];
  for (int i = 0; i < 8; i++) s[i] = state[i];
  rounds<uint32_t>(s, w, 0);
  for (int i = 0; i < 8; i++) state[i] += s[i];
}

/** One compression of a 64-byte block. */
inline void compress_bytes(uint32_t state[8], const uint8_t block[64]) {
  uint32_t w[16];
  for (int i = 0; i < 16; i++) w[i] = load_be32(block + 4 * i);
  compress_words(state, w);
}

}  // namespace
}  // namespace sha256
}  // namespace pouw
