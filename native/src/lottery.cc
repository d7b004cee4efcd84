// The int8 matmul lottery kernel (see lottery.h; the oracle is core/lottery.ts and
// the specification protocol §15).
//
// Structure
//  - SHA-256: a scalar compression (tickets, one-shot helper) and a multi-lane
//    counter-mode stream generator written once with compiler vector extensions
//    and instantiated for 16 lanes (AVX-512), 8 (AVX2) and 4 (SSE2 / SIMD128 /
//    anything else). Every stream block is one compression; rounds 0..7 only see
//    the seed, so they are done once per stream.
//  - Noise: E[i][t] = EL[i][p_t] - EL[i][q_t] is applied while A is packed (a
//    byte-table lookup per row with AVX-512 VBMI when the rank is <= 128; for the
//    int16 layouts two 8-byte loads from E_L transposed give E for 8 rows), and
//    F[t][j] = FR[c_t][j] - FR[d_t][j] while B is packed (row vectors of F_R).
//    Entries are range-checked in the same passes.
//  - Depth layout: k is cut into segments, one per r-wide slice plus the unfolded
//    tail (k mod r); each segment is padded with zeros to a multiple of the group
//    G the multiply instruction consumes (64 for AMX, 4 bytes for VNNI, 2 int16 for
//    AVX2/SIMD128, 1 for portable), so every slice end falls on a group boundary
//    whatever r is.
//  - Product: a blocked GEMM. B+F is packed once per job into NR-column panels
//    (shared by all threads); for every block of MC rows (whole tile rows) and
//    every k-block of S segments, A+E is packed into MR-row panels and a
//    microkernel computes MR x NR accumulators, continuing from the running
//    accumulators of the previous k-block. At the end of every folded segment the
//    microkernel XORs its accumulators, still in registers (or, for AMX, just
//    stored from the tiles to an L1 buffer), into the tile's slice partial
//    X[tile][slice] (16 words): when tile_cols % 16 == 0 word (i*w + j) mod 16 is
//    just the lane j mod 16, so a column vector XORs straight in and the rows of
//    one tile reduce first ("mode A"). Other tile shapes spill the accumulators
//    and fold them word by word ("mode B", slow but exact). After a k-block every
//    tile state absorbs its slices in order: state ^= X; rotl 13;
//    state[s mod 16] += s + 1. Folding costs O(MR*NV) vector operations per slice
//    against MR*NV*r/G multiply instructions.
//  - VNNI (vpdpbusd, u8 x s8): A+E is stored as u8 (a + 128); every segment of a B
//    panel ends with a row of 128 * (column sums of B+F over the segment), which
//    the microkernel subtracts at the segment end, so the accumulators are the true
//    int32 sums whenever they are folded or stored. Sums wrap modulo 2^32 without
//    saturation, so results are exact. AMX (tdpbssd) and the int16 paths multiply
//    signed values and need no correction.
//  - Recovery: AB = C' - (A'F_L) F_R - E_L (E_R B), where A' = A + E (equal to the
//    §15 formula: C' = A'B + A'F and A'B = AB + EB). P = A'F_L (m x r) is
//    scattered from the packed A' blocks (AMX: computed by the tile product with
//    F_L packed as extra B panels); Q = E_R B (r x n) is scattered from the rows
//    of B when B is packed. Both are int32 with zero row sums (P) and zero column
//    sums (Q), split into balanced digits (base 256 for VNNI and AMX, base 2^16 for
//    int16 paths), and the rank-r products are computed by the same multiply
//    instructions, digit by digit with a Horner shift. The zero sums let F_R and
//    E_L be offset by +32 into u8 for VNNI at no cost. Everything is exact modulo
//    2^32 and |AB| < 2^31.
//
// Implementations: "amx-int8" (tiles, 32 x 32 blocks; Linux, after the kernel grants
// the tile state), "avx512-vnni" (MR 8 x NR 48), "avx2" (int16 pairs, vpmaddwd,
// MR 4 x NR 16), "simd128" (wasm, i32x4.dot_i16x8_s, MR 4 x NR 8) and "portable"
// (int16 rows with scalar loops the compiler vectorizes). Dispatch on x86-64 checks
// the CPU at run time; every wide function carries its own target attribute, so
// the file is compiled for baseline x86-64. All implementations give identical
// results.
#include <stddef.h>
#include <stdint.h>

#include "lottery.h"

#include "cpu_amx.h"
#include "dispatch.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define PL_X86 1
#include <immintrin.h>
#else
#define PL_X86 0
#endif

#if defined(__wasm_simd128__)
#define PL_SIMD128 1
#include <wasm_simd128.h>
#else
#define PL_SIMD128 0
#endif

#if defined(__GNUC__) && !defined(__clang__)
// Vector-extension helpers are always inlined into their target-specific callers; the
// notes about by-value vector arguments of the out-of-line copies do not apply.
#pragma GCC diagnostic ignored "-Wpsabi"
// GCC 12 reports its own intrinsics' undefined pass-through operands as possibly
// uninitialized once inlined; a false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#elif defined(__clang__)
#pragma clang diagnostic ignored "-Wpsabi"
#endif

#define PL_INLINE inline __attribute__((always_inline))
#if defined(__clang__)
#define PL_KERNEL __attribute__((noinline))
#else
#define PL_KERNEL __attribute__((noipa))
#endif
#define PL_UNROLL _Pragma("GCC unroll 32")

#if PL_X86
#define PL_TARGET_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512vbmi,avx2,fma,bmi2")))
#define PL_TARGET_VNNI_NOVBMI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,bmi2")))
#define PL_TARGET_AVX2 __attribute__((target("avx2,fma,bmi2")))
#define PL_TARGET_AVX512F __attribute__((target("avx512f")))
#endif

namespace {

// ---------------------------------------------------------------------------
// Small helpers (no libc)

PL_INLINE size_t round_up(size_t x, size_t a) { return (x + a - 1) / a * a; }
PL_INLINE uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }
PL_INLINE uint32_t max_u32(uint32_t a, uint32_t b) { return a > b ? a : b; }
PL_INLINE uint8_t* align64(void* p) { return (uint8_t*)(((uintptr_t)p + 63) & ~(uintptr_t)63); }
__attribute__((unused)) PL_INLINE uint32_t load_u32(const void* p) {
  uint32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}
__attribute__((unused)) PL_INLINE void store_u32(void* p, uint32_t v) { __builtin_memcpy(p, &v, 4); }
PL_INLINE int32_t load_i32(const void* p) {
  int32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}
PL_INLINE void store_i32(void* p, int32_t v) { __builtin_memcpy(p, &v, 4); }
PL_INLINE uint32_t rotl32(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }
PL_INLINE uint32_t load_be32(const uint8_t* p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
PL_INLINE void store_be32(uint8_t* p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

// Bump allocator over caller scratch; every piece 64-byte aligned. With base == null it
// only measures.
struct Carve {
  uint8_t* base;
  size_t used;
  template <class T>
  T* take(size_t count) {
    size_t off = round_up(used, 64);
    used = off + count * sizeof(T);
    return base ? (T*)(base + off) : (T*)nullptr;
  }
};

// ---------------------------------------------------------------------------
// SHA-256

const uint32_t kK[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
const uint32_t kIV[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                         0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

// The round and schedule functions, for scalars and for vector-extension lanes alike.
template <class V>
PL_INLINE V rotr_v(const V& x, int n) {
  return (x >> n) | (x << (32 - n));
}
template <class V>
PL_INLINE V bsig0(const V& x) {
  return rotr_v(x, 2) ^ rotr_v(x, 13) ^ rotr_v(x, 22);
}
template <class V>
PL_INLINE V bsig1(const V& x) {
  return rotr_v(x, 6) ^ rotr_v(x, 11) ^ rotr_v(x, 25);
}
template <class V>
PL_INLINE V ssig0(const V& x) {
  return rotr_v(x, 7) ^ rotr_v(x, 18) ^ (x >> 3);
}
template <class V>
PL_INLINE V ssig1(const V& x) {
  return rotr_v(x, 17) ^ rotr_v(x, 19) ^ (x >> 10);
}
template <class V>
PL_INLINE V ch_v(const V& e, const V& f, const V& g) {
  return g ^ (e & (f ^ g));
}
template <class V>
PL_INLINE V maj_v(const V& a, const V& b, const V& c) {
  return (a & b) | (c & (a | b));
}
template <class V>
PL_INLINE V splat_v(uint32_t x) {
  V v = {};
  return v + x;
}

// Rounds [from, 64) on working variables s[0..7] with a rolling 16-word schedule.
template <class V>
PL_INLINE void sha_rounds(V s[8], V w[16], int from) {
  V a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
  _Pragma("GCC unroll 64")
  for (int t = from; t < 64; t++) {
    if (t >= 16)
      w[t & 15] = ssig1(w[(t - 2) & 15]) + w[(t - 7) & 15] + ssig0(w[(t - 15) & 15]) + w[t & 15];
    V t1 = h + bsig1(e) + ch_v(e, f, g) + kK[t] + w[t & 15];
    V t2 = bsig0(a) + maj_v(a, b, c);
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  s[0] = a, s[1] = b, s[2] = c, s[3] = d, s[4] = e, s[5] = f, s[6] = g, s[7] = h;
}

void sha_compress(uint32_t h[8], const uint8_t* block) {
  uint32_t w[16], s[8];
  for (int i = 0; i < 16; i++) w[i] = load_be32(block + 4 * i);
  for (int i = 0; i < 8; i++) s[i] = h[i];
  sha_rounds<uint32_t>(s, w, 0);
  for (int i = 0; i < 8; i++) h[i] += s[i];
}

struct Sha {
  uint32_t h[8];
  uint8_t buf[64];
  uint64_t total;
  uint32_t fill;
};

void sha_init(Sha& s) {
  for (int i = 0; i < 8; i++) s.h[i] = kIV[i];
  s.total = 0;
  s.fill = 0;
}

void sha_update(Sha& s, const void* data, size_t len) {
  const uint8_t* p = (const uint8_t*)data;
  s.total += len;
  while (len > 0) {
    if (s.fill == 0 && len >= 64) {
      sha_compress(s.h, p);
      p += 64;
      len -= 64;
      continue;
    }
    uint32_t take = (uint32_t)(len < 64 - s.fill ? len : 64 - s.fill);
    __builtin_memcpy(s.buf + s.fill, p, take);
    s.fill += take;
    p += take;
    len -= take;
    if (s.fill == 64) {
      sha_compress(s.h, s.buf);
      s.fill = 0;
    }
  }
}

void sha_final(Sha& s, uint8_t out[32]) {
  uint64_t bits = s.total * 8;
  uint8_t pad = 0x80;
  sha_update(s, &pad, 1);
  uint8_t zero = 0;
  while (s.fill != 56) sha_update(s, &zero, 1);
  uint8_t len[8];
  for (int i = 0; i < 8; i++) len[i] = (uint8_t)(bits >> (56 - 8 * i));
  sha_update(s, len, 8);
  for (int i = 0; i < 8; i++) store_be32(out + 4 * i, s.h[i]);
}

void sha256(const void* data, size_t len, uint8_t out[32]) {
  Sha s;
  sha_init(s);
  sha_update(s, data, len);
  sha_final(s, out);
}

// ---------------------------------------------------------------------------
// Stream: block i = SHA-256(seed || label || u64le i)

struct StreamKey {
  uint32_t w[16];    // the single padded block, big-endian words, counter bytes zero
  uint32_t mid[8];   // working variables after rounds 0..7 (they only see the seed)
  uint32_t co;       // byte offset of the counter
  uint32_t one_block;
  uint8_t seed[32];
  const char* label;
  uint32_t label_len;
};

void stream_init(StreamKey& k, const uint8_t seed[32], const char* label, uint32_t label_len) {
  __builtin_memcpy(k.seed, seed, 32);
  k.label = label;
  k.label_len = label_len;
  k.co = 32 + label_len;
  k.one_block = 32 + label_len + 8 + 9 <= 64;
  if (!k.one_block) return;
  uint8_t b[64];
  __builtin_memset(b, 0, 64);
  __builtin_memcpy(b, seed, 32);
  __builtin_memcpy(b + 32, label, label_len);
  b[k.co + 8] = 0x80;
  uint64_t bits = (uint64_t)(k.co + 8) * 8;
  for (int i = 0; i < 8; i++) b[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
  for (int i = 0; i < 16; i++) k.w[i] = load_be32(b + 4 * i);
  uint32_t s[8], w[16];
  for (int i = 0; i < 8; i++) s[i] = kIV[i];
  for (int i = 0; i < 16; i++) w[i] = k.w[i];
  // rounds 0..7 by hand (sha_rounds runs to 64)
  uint32_t a = s[0], bb = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
  for (int t = 0; t < 8; t++) {
    uint32_t t1 = h + bsig1(e) + ch_v(e, f, g) + kK[t] + w[t];
    uint32_t t2 = bsig0(a) + maj_v(a, bb, c);
    h = g, g = f, f = e, e = d + t1, d = c, c = bb, bb = a, a = t1 + t2;
  }
  k.mid[0] = a, k.mid[1] = bb, k.mid[2] = c, k.mid[3] = d;
  k.mid[4] = e, k.mid[5] = f, k.mid[6] = g, k.mid[7] = h;
}

// Message word j of the block with counter ctr.
PL_INLINE uint32_t stream_word(const StreamKey& k, uint32_t j, uint64_t ctr) {
  uint32_t x = k.w[j];
  for (uint32_t b = 0; b < 4; b++) {
    uint32_t pos = 4 * j + b;
    if (pos >= k.co && pos < k.co + 8) x |= (uint32_t)((ctr >> (8 * (pos - k.co))) & 0xff) << (24 - 8 * b);
  }
  return x;
}

// N blocks (counters ctr .. ctr + N - 1) into out (N * 32 bytes).
template <class V, int N>
PL_INLINE void stream_lanes(const StreamKey& k, uint64_t ctr, uint8_t* out) {
  V w[16];
  PL_UNROLL
  for (int j = 0; j < 16; j++) w[j] = splat_v<V>(k.w[j]);
  if (k.co == 34) {  // two-byte labels: counter bytes 34..41 in words 8, 9, 10
    uint32_t iota[N];
    for (int l = 0; l < N; l++) iota[l] = (uint32_t)l;
    V lo, hi;
    __builtin_memcpy(&lo, iota, sizeof(V));
    const uint32_t base = (uint32_t)ctr;
    lo = lo + base;
    hi = splat_v<V>((uint32_t)(ctr >> 32)) - (V)(lo < base);  // carry out of the low word
    const uint32_t ff = 0xff;
    w[8] = w[8] | ((lo & ff) << 8) | ((lo >> 8) & ff);
    w[9] = (((lo >> 16) & ff) << 24) | ((lo >> 24) << 16) | ((hi & ff) << 8) | ((hi >> 8) & ff);
    w[10] = w[10] | (((hi >> 16) & ff) << 24) | ((hi >> 24) << 16);
  } else {
    const uint32_t wa = k.co / 4, wb = (k.co + 7) / 4;
    for (uint32_t j = wa; j <= wb && j < 16; j++) {
      uint32_t tmp[N];
      for (int l = 0; l < N; l++) tmp[l] = stream_word(k, j, ctr + (uint64_t)l);
      __builtin_memcpy(&w[j], tmp, sizeof(V));
    }
  }
  V s[8];
  PL_UNROLL
  for (int i = 0; i < 8; i++) s[i] = splat_v<V>(k.mid[i]);
  sha_rounds<V>(s, w, 8);
  uint32_t tmp[8][N];
  PL_UNROLL
  for (int i = 0; i < 8; i++) {
    const V x = s[i] + kIV[i];
    const V y = (x >> 24) | ((x >> 8) & 0xff00u) | ((x << 8) & 0xff0000u) | (x << 24);  // to big-endian bytes
    __builtin_memcpy(tmp[i], &y, sizeof(V));
  }
  for (int l = 0; l < N; l++)
    PL_UNROLL
    for (int i = 0; i < 8; i++) __builtin_memcpy(out + 32 * l + 4 * i, &tmp[i][l], 4);
}

template <class V, int N>
PL_INLINE void stream_blocks_n(const StreamKey& k, uint64_t first, uint64_t count, uint8_t* out) {
  while (count >= (uint64_t)N) {
    stream_lanes<V, N>(k, first, out);
    first += N;
    count -= N;
    out += 32 * N;
  }
  if (count) {
    uint8_t tmp[32 * N];
    stream_lanes<V, N>(k, first, tmp);
    __builtin_memcpy(out, tmp, 32 * count);
  }
}

typedef uint32_t u32x4 __attribute__((vector_size(16)));
#if PL_X86
typedef uint32_t u32x8 __attribute__((vector_size(32)));
typedef uint32_t u32x16 __attribute__((vector_size(64)));
PL_TARGET_AVX512F void stream_blocks_16(const StreamKey& k, uint64_t first, uint64_t count, uint8_t* out) {
  stream_blocks_n<u32x16, 16>(k, first, count, out);
}
PL_TARGET_AVX2 void stream_blocks_8(const StreamKey& k, uint64_t first, uint64_t count, uint8_t* out) {
  stream_blocks_n<u32x8, 8>(k, first, count, out);
}
#endif
void stream_blocks_4(const StreamKey& k, uint64_t first, uint64_t count, uint8_t* out) {
  stream_blocks_n<u32x4, 4>(k, first, count, out);
}

int g_stream_lanes = 0;  // 16, 8 or 4 once chosen

int stream_lanes_available() {
  int lanes = __atomic_load_n(&g_stream_lanes, __ATOMIC_RELAXED);
  if (lanes == 0) {
    lanes = 4;
#if PL_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
      lanes = 16;
    else if (__builtin_cpu_supports("avx2"))
      lanes = 8;
#endif
    __atomic_store_n(&g_stream_lanes, lanes, __ATOMIC_RELAXED);
  }
  return lanes;
}

void stream_blocks(const StreamKey& k, uint64_t first, uint64_t count, uint8_t* out) {
  if (!k.one_block) {  // long labels: plain hashing (debug helper only)
    for (uint64_t i = 0; i < count; i++) {
      Sha s;
      sha_init(s);
      sha_update(s, k.seed, 32);
      sha_update(s, k.label, k.label_len);
      uint8_t c[8];
      for (int b = 0; b < 8; b++) c[b] = (uint8_t)((first + i) >> (8 * b));
      sha_update(s, c, 8);
      sha_final(s, out + 32 * i);
    }
    return;
  }
#if PL_X86
  const int lanes = stream_lanes_available();
  if (lanes == 16) return stream_blocks_16(k, first, count, out);
  if (lanes == 8) return stream_blocks_8(k, first, count, out);
#endif
  stream_blocks_4(k, first, count, out);
}

// count bytes of the stream from byte offset.
void expand_range(const StreamKey& k, uint64_t offset, uint64_t count, uint8_t* out) {
  if (count == 0) return;
  uint64_t first = offset / 32, skip = offset % 32;
  if (skip) {
    uint8_t blk[32];
    stream_blocks(k, first, 1, blk);
    uint64_t take = 32 - skip < count ? 32 - skip : count;
    __builtin_memcpy(out, blk + skip, take);
    out += take;
    count -= take;
    first++;
  }
  uint64_t full = count / 32;
  if (full) stream_blocks(k, first, full, out);
  out += 32 * full;
  count -= 32 * full;
  first += full;
  if (count) {
    uint8_t blk[32];
    stream_blocks(k, first, 1, blk);
    __builtin_memcpy(out, blk, count);
  }
}

// Dense noise entries: (byte & 63) - 32.
void dense_range(const StreamKey& k, uint64_t offset, uint64_t count, int8_t* out) {
  expand_range(k, offset, count, (uint8_t*)out);
  for (uint64_t i = 0; i < count; i++) out[i] = (int8_t)(((uint8_t)out[i] & 63) - 32);
}

// x mod d for x < 2^16 and d <= 2^16 by one multiply: exact because x * d < 2^32.
struct FastMod {
  uint64_t mul;
  uint32_t d;
  void init(uint32_t div) {
    d = div;
    mul = ((uint64_t)1 << 32) / div + (((uint64_t)1 << 32) % div != 0);
  }
  PL_INLINE uint32_t mod(uint32_t x) const { return x - (uint32_t)((x * mul) >> 32) * d; }
};

// Index pairs for t in [t0, t0 + count): p = u mod r, q = (p + 1 + v mod (r - 1)) mod r.
void pairs_range(const StreamKey& k, uint32_t r, uint32_t t0, uint32_t count, uint16_t* p, uint16_t* q) {
  FastMod mr, mr1;
  mr.init(r);
  mr1.init(r - 1);
  uint8_t buf[1024];
  while (count > 0) {
    uint32_t c = count < 256 ? count : 256;
    expand_range(k, (uint64_t)t0 * 4, (uint64_t)c * 4, buf);
    for (uint32_t i = 0; i < c; i++) {
      uint32_t u = buf[4 * i] | (uint32_t)buf[4 * i + 1] << 8;
      uint32_t v = buf[4 * i + 2] | (uint32_t)buf[4 * i + 3] << 8;
      uint32_t a = mr.mod(u);
      uint32_t b = a + 1 + mr1.mod(v);
      p[i] = (uint16_t)a;
      q[i] = (uint16_t)(b >= r ? b - r : b);
    }
    p += c;
    q += c;
    t0 += c;
    count -= c;
  }
}

// ---------------------------------------------------------------------------
// Tickets: tagged SHA-256 ("pouw/lottery-ticket") over seedA || u32 ti || u32 tj || 16 words.

struct TicketKey {
  uint32_t mid[8];  // state after SHA256(tag) || SHA256(tag)
};

void ticket_init(TicketKey& t) {
  static const char tag[] = "pouw/lottery-ticket";
  uint8_t th[32], blk[64];
  sha256(tag, sizeof(tag) - 1, th);
  __builtin_memcpy(blk, th, 32);
  __builtin_memcpy(blk + 32, th, 32);
  for (int i = 0; i < 8; i++) t.mid[i] = kIV[i];
  sha_compress(t.mid, blk);
}

PL_INLINE uint32_t bswap32(uint32_t x) {
  return (x >> 24) | ((x >> 8) & 0xff00u) | ((x << 8) & 0xff0000u) | (x << 24);
}

// Up to N tickets at once: tile (ti[l], tj[l]) with state states + 16 * l.
template <class V, int N>
PL_INLINE void ticket_lanes(const TicketKey& t, const uint8_t seedA[32], uint32_t count, const uint32_t* ti,
                            const uint32_t* tj, const uint32_t* states, uint8_t* out) {
  uint32_t m[2][16][N];
  for (int l = 0; l < N; l++) {
    const uint32_t x = (uint32_t)l < count ? (uint32_t)l : 0;
    const uint32_t* st = states + 16 * x;
    for (int i = 0; i < 8; i++) m[0][i][l] = load_be32(seedA + 4 * i);
    m[0][8][l] = bswap32(ti[x]);
    m[0][9][l] = bswap32(tj[x]);
    for (int i = 0; i < 6; i++) m[0][10 + i][l] = bswap32(st[i]);
    for (int i = 0; i < 10; i++) m[1][i][l] = bswap32(st[6 + i]);
    m[1][10][l] = 0x80000000u;
    m[1][11][l] = m[1][12][l] = m[1][13][l] = m[1][14][l] = 0;
    m[1][15][l] = (64 + 104) * 8;
  }
  V h[8], s[8], w[16];
  PL_UNROLL
  for (int i = 0; i < 8; i++) h[i] = splat_v<V>(t.mid[i]);
  for (int b = 0; b < 2; b++) {
    PL_UNROLL
    for (int i = 0; i < 16; i++) __builtin_memcpy(&w[i], m[b][i], sizeof(V));
    PL_UNROLL
    for (int i = 0; i < 8; i++) s[i] = h[i];
    sha_rounds<V>(s, w, 0);
    PL_UNROLL
    for (int i = 0; i < 8; i++) h[i] = h[i] + s[i];
  }
  PL_UNROLL
  for (int i = 0; i < 8; i++) {
    uint32_t tmp[N];
    __builtin_memcpy(tmp, &h[i], sizeof(V));
    for (uint32_t l = 0; l < count; l++) store_be32(out + 32 * l + 4 * i, tmp[l]);
  }
}

#if PL_X86
PL_TARGET_AVX512F void tickets_16(const TicketKey& t, const uint8_t* seedA, uint32_t count, const uint32_t* ti,
                                  const uint32_t* tj, const uint32_t* states, uint8_t* out) {
  ticket_lanes<u32x16, 16>(t, seedA, count, ti, tj, states, out);
}
PL_TARGET_AVX2 void tickets_8(const TicketKey& t, const uint8_t* seedA, uint32_t count, const uint32_t* ti,
                              const uint32_t* tj, const uint32_t* states, uint8_t* out) {
  ticket_lanes<u32x8, 8>(t, seedA, count, ti, tj, states, out);
}
#endif
void tickets_4(const TicketKey& t, const uint8_t* seedA, uint32_t count, const uint32_t* ti, const uint32_t* tj,
               const uint32_t* states, uint8_t* out) {
  ticket_lanes<u32x4, 4>(t, seedA, count, ti, tj, states, out);
}

// Tickets of `count` tiles (any count), 16 per batch at most.
void tickets_batch(const TicketKey& t, const uint8_t* seedA, uint32_t count, const uint32_t* ti, const uint32_t* tj,
                   const uint32_t* states, uint8_t* out) {
  const int lanes = stream_lanes_available();
  while (count > 0) {
    uint32_t c = count < (uint32_t)lanes ? count : (uint32_t)lanes;
#if PL_X86
    if (lanes == 16)
      tickets_16(t, seedA, c, ti, tj, states, out);
    else if (lanes == 8)
      tickets_8(t, seedA, c, ti, tj, states, out);
    else
#endif
      tickets_4(t, seedA, c, ti, tj, states, out);
    count -= c, ti += c, tj += c, states += 16 * c, out += 32 * c;
  }
}

// ticket <= threshold, both little-endian 256-bit integers.
bool ticket_wins(const uint8_t ticket[32], const uint8_t thr[32]) {
  for (int i = 31; i >= 0; i--) {
    if (ticket[i] != thr[i]) return ticket[i] < thr[i];
  }
  return true;
}

// ---------------------------------------------------------------------------
// Element layouts
//
// Q8 (VNNI): groups of 4 k-values. A panel: u8 (a + 128), [group][MR][4]. B panel:
// s8, [group][NR][4], each segment followed by one row of NR int32 = 128 * column sums.
// Recovery: P digits s8 and EL + 32 u8 (broadcast side); F_R + 32 u8 and Q digits s8
// (vector side); balanced base-256 digits.
// W16: groups of 2 int16. A [pair][MR][2], B [pair][NR][2], no correction rows;
// recovery all int16, balanced base-2^16 digits.
// S16 (portable): W16 with groups of 1. AMX: see the amx-int8 section.

#if PL_X86
struct LayQ8 {
  typedef uint8_t AT;
  typedef int8_t BT;
  typedef int8_t RPT;   // P digits
  typedef uint8_t RET;  // EL
  typedef uint8_t RFT;  // F_R
  typedef int8_t RQT;   // Q digits
  static constexpr uint32_t G = 4, CR = 1, DMAX = 3;
  static PL_INLINE AT a_enc(int v) { return (uint8_t)(v + 128); }
  static PL_INLINE int a_dec(AT x) { return (int)x - 128; }
  static PL_INLINE BT b_enc(int v) { return (int8_t)v; }
  static PL_INLINE RET el_enc(int v) { return (uint8_t)(v + 32); }
  static PL_INLINE RFT fr_enc(int v) { return (uint8_t)(v + 32); }
  static PL_INLINE void digits(int32_t v, int32_t d[DMAX]) {
    d[0] = (int8_t)(uint8_t)v;
    v = (v - d[0]) >> 8;
    d[1] = (int8_t)(uint8_t)v;
    v = (v - d[1]) >> 8;
    d[2] = v;
  }
  static PL_INLINE uint32_t digits_needed(int32_t lo, int32_t hi) {
    if (lo >= -128 && hi <= 127) return 1;
    if (lo >= -128 * 257 && hi <= 127 * 257) return 2;
    return 3;
  }
};
#endif  // PL_X86

struct LayW16 {
  typedef int16_t AT;
  typedef int16_t BT;
  typedef int16_t RPT;
  typedef int16_t RET;
  typedef int16_t RFT;
  typedef int16_t RQT;
  static constexpr uint32_t G = 2, CR = 0, DMAX = 2;
  static PL_INLINE AT a_enc(int v) { return (int16_t)v; }
  static PL_INLINE int a_dec(AT x) { return x; }
  static PL_INLINE BT b_enc(int v) { return (int16_t)v; }
  static PL_INLINE RET el_enc(int v) { return (int16_t)v; }
  static PL_INLINE RFT fr_enc(int v) { return (int16_t)v; }
  static PL_INLINE void digits(int32_t v, int32_t d[DMAX]) {
    d[0] = (int16_t)(uint16_t)v;
    d[1] = (v - d[0]) >> 16;
  }
  static PL_INLINE uint32_t digits_needed(int32_t lo, int32_t hi) {
    return lo >= -32768 && hi <= 32767 ? 1 : 2;
  }
};

// Portable: groups of 1 (plain int16 rows), so the scalar loops vectorize as widening
// multiply-adds; recovery as W16.
struct LayS16 : LayW16 {
  static constexpr uint32_t G = 1;
};

// ---------------------------------------------------------------------------
// Job geometry

constexpr uint32_t kMaxNV = 8;
constexpr uint32_t kRowsDefault = 128;   // rows per row block (rounded to whole tile rows)
constexpr uint32_t kDepthDefault = 512;  // k-values per k-block (rounded to whole segments)
constexpr size_t kXBudget = 1 << 20;   // bytes of slice partials per k-block
constexpr uint32_t kPlainSeg = 512;    // segment length of the plain GEMM

struct Geo {
  uint32_t m, k, n, r, h, w;
  bool plain;
  uint32_t G, MR, NR, L, CR;
  uint32_t nfold, tail, nseg, gps, tgroups, seg_rows;
  size_t b_rows;  // group rows (including correction rows) per B panel
  uint32_t npanels, npad, across, down;
  uint32_t rq;  // rank groups (recovery)
  uint32_t nrp; // panels of NR columns over the rank (F_L as extra B panels, when P is a product)
  uint32_t MC, MCpad, S, tiles_rb;
  bool modeA;

  uint32_t seg_groups(uint32_t s) const { return s < nfold ? gps : tgroups; }
  uint32_t seg_len(uint32_t s) const { return s < nfold ? r : tail; }
};

// Shape rules of §15; true when valid.
bool dims_ok(uint32_t m, uint32_t k, uint32_t n, uint32_t r, uint32_t h, uint32_t w) {
  if (m == 0 || n == 0 || k == 0 || h == 0 || w == 0) return false;
  if (r < 2 || r > 65536 || k > 65536 || k < r) return false;
  if (m % h != 0 || n % w != 0) return false;
  // keep byte counts well inside size_t on 32-bit targets
  if ((uint64_t)m * k > ((uint64_t)1 << 31) || (uint64_t)k * n > ((uint64_t)1 << 31) ||
      (uint64_t)m * n > ((uint64_t)1 << 29))
    return false;
  return true;
}

template <class P>
Geo make_geo(uint32_t m, uint32_t k, uint32_t n, uint32_t r, uint32_t h, uint32_t w, bool plain) {
  Geo g;
  g.m = m, g.k = k, g.n = n, g.r = r, g.h = h, g.w = w, g.plain = plain;
  g.G = P::G, g.MR = P::MR, g.NR = P::NR, g.L = P::L, g.CR = P::CR;
  g.nfold = k / r;
  g.tail = k % r;
  g.nseg = g.nfold + (g.tail ? 1 : 0);
  g.gps = (r + P::G - 1) / P::G;
  g.tgroups = (g.tail + P::G - 1) / P::G;
  g.seg_rows = g.gps + P::CR;
  g.b_rows = (size_t)g.nfold * g.seg_rows + (g.tail ? g.tgroups + P::CR : 0);
  g.npanels = (n + P::NR - 1) / P::NR;
  g.npad = g.npanels * P::NR;
  g.across = n / w;
  g.down = m / h;
  g.rq = (r + P::G - 1) / P::G;
  g.nrp = (r + P::NR - 1) / P::NR;
  if (plain) {
    g.MC = (uint32_t)round_up(min_u32(m, P::kRowsTarget), P::MR);
    g.S = 1;
    g.tiles_rb = 0;
    g.modeA = true;
  } else {
    g.MC = h * max_u32(1, P::kRowsTarget / h);
    if (g.MC > m) g.MC = m;
    g.tiles_rb = (g.MC / h) * g.across;
    uint32_t s = max_u32(1, P::kDepthTarget / (g.gps * P::G));
    if (s > g.nseg) s = g.nseg;
    while (s > 1 && (size_t)g.tiles_rb * s * 64 > kXBudget) s /= 2;
    g.S = s;
    g.modeA = (w % 16 == 0) && (h % P::kRowQuantum == 0);
  }
  g.MCpad = (uint32_t)round_up(g.MC, P::MR);
  return g;
}

// ---------------------------------------------------------------------------
// Shared buffer (phase 1 output)

constexpr uint32_t kMagic = 0x4c4f5454;  // "LOTT"

struct SharedHeader {
  uint32_t magic;
  uint32_t impl;
  uint32_t m, k, n, r, h, w;
  uint32_t with_product;
  uint32_t plain;
};

template <class P>
struct SharedView {
  SharedHeader* hdr;
  typename P::BT* bp;     // npanels x b_rows x NR x G
  int8_t* frt;            // r x npad: F_R row-major
  int32_t* qtmp;          // r x npad: Q = E_R B (int32)
  typename P::RFT* frp;   // npanels x rq x NR x G
  typename P::RQT* qp;    // DMAX x npanels x rq x NR x G
  uint8_t* dq;            // digits needed per panel
  typename P::BT* fl;     // nrp x b_rows x NR x G: F_L in the B layout (when P is a product)
  size_t bytes;
};

template <class P>
SharedView<P> shared_view(const Geo& g, void* base) {
  Carve c{base ? align64(base) : nullptr, 0};
  SharedView<P> v;
  v.hdr = c.take<SharedHeader>(1);
  const size_t panel = g.b_rows * P::NR * P::G;
  v.bp = c.take<typename P::BT>((size_t)g.npanels * panel);
  if (!g.plain) {
    v.frt = c.take<int8_t>((size_t)g.r * g.npad);
    v.qtmp = c.take<int32_t>((size_t)g.r * g.npad);
    const size_t rpanel = (size_t)g.rq * P::NR * P::G;
    v.frp = c.take<typename P::RFT>((size_t)g.npanels * rpanel);
    v.qp = c.take<typename P::RQT>((size_t)P::DMAX * g.npanels * rpanel);
    v.dq = c.take<uint8_t>(g.npanels);
    v.fl = P::kPviaGemm ? c.take<typename P::BT>((size_t)g.nrp * panel) : nullptr;
  } else {
    v.frt = nullptr, v.qtmp = nullptr, v.frp = nullptr, v.qp = nullptr, v.dq = nullptr, v.fl = nullptr;
  }
  v.bytes = c.used + 64;
  return v;
}

// ---------------------------------------------------------------------------
// Per-thread scratch (phase 2)

template <class P>
struct RowsView {
  uint16_t *erp, *erq, *flp, *flq;
  uint8_t *erp8, *erq8;
  int8_t* el;                 // MC x r
  int8_t* elt;                // r x MCpad
  typename P::AT* ablk;       // MCpad x (S * gps * G)
  int32_t* cbuf;              // MCpad x npad
  uint32_t* states;           // tiles_rb x 16
  uint32_t* xs;               // tiles_rb x S x 16
  uint32_t* sink;             // S x 16 + 16
  int32_t* pt;                // (MCpad / MR) x (rq * G) x MR, or MCpad x (nrp * NR) when P is a product
  typename P::RPT* ppk;       // (MCpad / MR) x DMAX x rq x MR x G
  typename P::RET* epk;       // (MCpad / MR) x rq x MR x G
  size_t bytes;
};

template <class P>
RowsView<P> rows_view(const Geo& g, void* base) {
  Carve c{base ? align64(base) : nullptr, 0};
  RowsView<P> v;
  v.erp = c.take<uint16_t>(g.k);
  v.erq = c.take<uint16_t>(g.k);
  v.flp = c.take<uint16_t>(g.k);
  v.flq = c.take<uint16_t>(g.k);
  v.erp8 = c.take<uint8_t>(g.k + 64);
  v.erq8 = c.take<uint8_t>(g.k + 64);
  v.el = c.take<int8_t>((size_t)g.MC * g.r + 64);
  v.elt = c.take<int8_t>((size_t)g.r * g.MCpad + 64);
  v.ablk = c.take<typename P::AT>((size_t)g.MCpad * g.S * g.gps * P::G + 64);
  v.cbuf = c.take<int32_t>((size_t)g.MCpad * g.npad);
  v.states = c.take<uint32_t>((size_t)g.tiles_rb * 16);
  v.xs = c.take<uint32_t>((size_t)g.tiles_rb * g.S * 16);
  v.sink = c.take<uint32_t>((size_t)g.S * 16 + 16);
  const uint32_t panels = g.MCpad / P::MR;
  if (!g.plain) {
    v.pt = c.take<int32_t>(P::kPviaGemm ? (size_t)g.MCpad * g.nrp * P::NR : (size_t)panels * g.rq * P::G * P::MR);
    v.ppk = c.take<typename P::RPT>((size_t)panels * P::DMAX * g.rq * P::MR * P::G);
    v.epk = c.take<typename P::RET>((size_t)panels * g.rq * P::MR * P::G);
  } else {
    v.pt = nullptr, v.ppk = nullptr, v.epk = nullptr;
  }
  v.bytes = c.used + 64;
  return v;
}

// ---------------------------------------------------------------------------
// Microkernel interface

// Generic fold (mode B): accumulators of one MR x NR block, given row by row.
struct FoldCtx {
  uint32_t h, w, n, rows, across, S;
  uint32_t* X;  // tiles_rb x S x 16
};

PL_KERNEL void fold_generic(const FoldCtx* f, const int32_t* vals, uint32_t MR, uint32_t NR, uint32_t row0,
                            uint32_t col0, uint32_t seg) {
  const uint32_t wm = f->w % 16;
  for (uint32_t i = 0; i < MR; i++) {
    const uint32_t row = row0 + i;
    if (row >= f->rows) break;
    const uint32_t ti = row / f->h, li = row % f->h;
    const uint32_t base = (li % 16) * wm;
    for (uint32_t j = 0; j < NR; j++) {
      const uint32_t col = col0 + j;
      if (col >= f->n) break;
      const uint32_t tj = col / f->w, lj = col % f->w;
      uint32_t* x = f->X + ((size_t)(ti * f->across + tj) * f->S + seg) * 16;
      x[(base + lj) & 15] ^= (uint32_t)vals[i * NR + j];
    }
  }
}

struct KArgs {
  const void* ap;
  const void* bp;
  int32_t* c;
  size_t ldc;
  uint32_t nseg, gps, last_groups, nfold;  // segments [0, nfold) of this call are folded
  uint32_t load_c;
  uint32_t* xp[kMaxNV];  // mode A: X pointer per column vector; slice stride 16 words
  const FoldCtx* gen;    // mode B when not null
  uint32_t row0, col0;   // block-relative row and absolute column of the MR x NR block (mode B)
};

struct RArgs {
  const void* pp;  // P digits of the MR panel: [d][rq][MR][G]
  const void* ep;  // EL of the MR panel: [rq][MR][G]
  const void* fp;  // F_R panel: [rq][NR][G]
  const void* qp;  // Q digits panel 0: [rq][NR][G]; digit d at qp + d * qstride
  size_t pstride, qstride;  // elements between digits
  uint32_t rq, D;
  const int32_t* c;
  size_t ldc;
  int32_t* out;
  size_t ldo;
  uint32_t rows, cols;
};

// ---------------------------------------------------------------------------
// Generic packing (scalar; paths may override)

// What pack_a needs to add E to A (el == null: no noise, the plain product).
struct ANoise {
  const int8_t* el;    // E_L rows of the row block, rows x r
  const int8_t* elt;   // the same transposed, r x MCpad (rows past `rows` zero)
  const uint16_t* erp;  // E_R index pairs for every t
  const uint16_t* erq;
  const uint8_t* erp8;  // the same as bytes (valid when r <= 256), 64 bytes of zero padding
  const uint8_t* erq8;
};

// A + E for rows [0, rows) of the block starting at global row R (rows beyond `rows`,
// up to MCpad, and padded depth are zero), segments [s0, s1), into MR-row panels.
// Returns false when an entry of A lies outside [-64, 64].
template <class P>
bool pack_a_generic(const Geo& g, const int8_t* A, uint32_t R, uint32_t rows, const ANoise& nz, uint32_t s0,
                    uint32_t s1, typename P::AT* dst) {
  const int8_t* el = nz.el;
  const uint16_t* erp = nz.erp;
  const uint16_t* erq = nz.erq;
  const uint32_t MR = P::MR, G = P::G;
  const size_t stride = (size_t)(s1 - s0) * g.gps * MR * G;  // per panel (upper bound, fixed)
  bool ok = true;
  const uint32_t panels = g.MCpad / MR;
  for (uint32_t ip = 0; ip < panels; ip++) {
    for (uint32_t i = 0; i < MR; i++) {
      const uint32_t row = ip * MR + i;
      const bool valid = row < rows;
      const int8_t* arow = valid ? A + (size_t)(R + row) * g.k : nullptr;
      const int8_t* erow = valid && el ? el + (size_t)row * g.r : nullptr;
      typename P::AT* d0 = dst + ip * stride + i * G;
      for (uint32_t s = s0; s < s1; s++) {
        const uint32_t t0 = s * g.r, len = g.seg_len(s), groups = g.seg_groups(s);
        typename P::AT* d = d0 + (size_t)(s - s0) * g.gps * MR * G;
        for (uint32_t gi = 0; gi < groups; gi++) {
          for (uint32_t e = 0; e < G; e++) {
            const uint32_t tl = gi * G + e;
            int v = 0;
            if (valid && tl < len) {
              const uint32_t t = t0 + tl;
              v = arow[t];
              if (!g.plain && (v < -64 || v > 64)) ok = false;
              if (erow) v += erow[erp[t]] - erow[erq[t]];
            }
            d[(size_t)gi * MR * G + e] = P::a_enc(v);
          }
        }
      }
    }
  }
  return ok;
}

// B + F for global rows [t0, t0 + G) of one group (rows past the segment are zero) and
// columns [c0, c1), into buf (G rows x (c1 - c0)). fl: F_L pairs of those rows.
PL_INLINE bool noisy_b_rows(const Geo& g, const int8_t* B, const int8_t* frt, uint32_t t0, uint32_t valid_rows,
                            const uint16_t* flp, const uint16_t* flq, uint32_t c0, uint32_t c1, int8_t* buf,
                            uint32_t G) {
  const uint32_t cw = c1 - c0;
  bool ok = true;
  for (uint32_t e = 0; e < G; e++) {
    int8_t* out = buf + (size_t)e * cw;
    if (e >= valid_rows) {
      __builtin_memset(out, 0, cw);
      continue;
    }
    const int8_t* brow = B + (size_t)(t0 + e) * g.n + c0;
    if (!frt) {
      __builtin_memcpy(out, brow, cw);
      continue;
    }
    const int8_t* fc = frt + (size_t)flp[e] * g.npad + c0;
    const int8_t* fd = frt + (size_t)flq[e] * g.npad + c0;
    uint8_t bad = 0;
    for (uint32_t j = 0; j < cw; j++) {
      const int8_t b = brow[j];
      bad |= (uint8_t)((uint8_t)(b + 64) > 128);
      out[j] = (int8_t)(b + fc[j] - fd[j]);
    }
    if (bad) ok = false;
  }
  return ok;
}

// Packs G rows (buf, G x cw, columns [c0, c0 + cw), c0 a multiple of NR) into the
// panels at group row `grow`; with a correction row (Q8) adds 128 * column sums into
// the int32 row at group row `corr_grow`.
template <class P>
void pack_b_group_generic(const Geo& g, const int8_t* buf, uint32_t c0, uint32_t cw, size_t grow,
                          size_t corr_grow, typename P::BT* bp) {
  const uint32_t NR = P::NR, G = P::G;
  const size_t panel = g.b_rows * NR * G;
  for (uint32_t j = 0; j < cw; j++) {
    const uint32_t col = c0 + j;
    typename P::BT* pb = bp + (size_t)(col / NR) * panel;
    typename P::BT* d = pb + grow * NR * G + (size_t)(col % NR) * G;
    int sum = 0;
    for (uint32_t e = 0; e < G; e++) {
      const int v = buf[(size_t)e * cw + j];
      d[e] = P::b_enc(v);
      sum += v;
    }
    if (P::CR) {
      uint8_t* cp = (uint8_t*)(pb + corr_grow * NR * G) + 4 * (size_t)(col % NR);
      store_i32(cp, load_i32(cp) + 128 * sum);
    }
  }
}

// B + F for the group of rows [t, t + vr) (vr <= G; missing rows are zero), columns
// [c0, c1), packed at group row grow (correction row corr_grow). Generic version.
template <class P>
bool prep_group_generic(const Geo& g, const int8_t* B, const int8_t* frt, uint32_t t, uint32_t vr,
                        const uint16_t* flp, const uint16_t* flq, uint32_t c0, uint32_t c1, size_t grow,
                        size_t corr_grow, typename P::BT* bp) {
  const uint32_t CW = P::NR * max_u32(1, 256 / P::NR);
  int8_t buf[4 * 256 + 64];
  bool ok = true;
  for (uint32_t cc = c0; cc < c1; cc += CW) {
    const uint32_t cw = min_u32(CW, c1 - cc);
    if (!noisy_b_rows(g, B, frt, t, vr, flp, flq, cc, cc + cw, buf, P::G)) ok = false;
    pack_b_group_generic<P>(g, buf, cc, cw, grow, corr_grow, bp);
  }
  return ok;
}

// P = A' F_L, scattered from a packed A' block: P[i][c_t] += A'[i][t], P[i][d_t] -= A'[i][t].
// pt holds, per MR panel, (rq * G) rows of MR int32.
template <class P>
void scatter_p_generic(const Geo& g, const typename P::AT* ablk, uint32_t rows, uint32_t s0, uint32_t s1,
                       const uint16_t* flp, const uint16_t* flq, int32_t* pt) {
  const uint32_t MR = P::MR, G = P::G;
  const size_t astride = (size_t)(s1 - s0) * g.gps * MR * G;
  const uint32_t panels = (rows + MR - 1) / MR;
  for (uint32_t ip = 0; ip < panels; ip++) {
    int32_t* ptp = pt + (size_t)ip * g.rq * G * MR;
    for (uint32_t s = s0; s < s1; s++) {
      const uint32_t t0 = s * g.r, len = g.seg_len(s);
      const typename P::AT* d = ablk + ip * astride + (size_t)(s - s0) * g.gps * MR * G;
      for (uint32_t tl = 0; tl < len; tl++) {
        const uint32_t t = t0 + tl;
        const typename P::AT* a = d + (size_t)(tl / G) * MR * G + tl % G;
        int32_t* pc = ptp + (size_t)flp[t] * MR;
        int32_t* pd = ptp + (size_t)flq[t] * MR;
        for (uint32_t i = 0; i < MR; i++) {
          const int32_t v = P::a_dec(a[i * G]);
          pc[i] += v;
          pd[i] -= v;
        }
      }
    }
  }
}

// Q = E_R B, one row t of B: qa += B[t], qb -= B[t] over columns [c0, c1). Generic version.
PL_INLINE void q_update_generic(int32_t* qa, int32_t* qb, const int8_t* brow, uint32_t c0, uint32_t c1) {
  for (uint32_t j = c0; j < c1; j++) {
    qa[j] += brow[j];
    qb[j] -= brow[j];
  }
}

// Recovery operands of one row block: P digits [ip][d][rq][MR][G] and E_L
// [ip][rq][MR][G] (rows past `rows` and ranks past r are zero). Generic version.
template <class P>
void pack_p_generic(const Geo& g, const int32_t* pt, uint32_t apanels, uint32_t rows, const int8_t* el,
                    typename P::RPT* ppk, typename P::RET* epk) {
  const uint32_t MR = P::MR, G = P::G, r = g.r, rg = g.rq * G;
  const size_t pstride = (size_t)g.rq * MR * G;
  for (uint32_t ip = 0; ip < apanels; ip++) {
    const int32_t* ptp = pt + (size_t)ip * rg * MR;
    typename P::RPT* pp = ppk + (size_t)ip * P::DMAX * pstride;
    typename P::RET* ep = epk + (size_t)ip * pstride;
    for (uint32_t cq = 0; cq < g.rq; cq++)
      for (uint32_t i = 0; i < MR; i++)
        for (uint32_t e = 0; e < G; e++) {
          const uint32_t c = cq * G + e, row = ip * MR + i;
          const size_t at = ((size_t)cq * MR + i) * G + e;
          int32_t dig[P::DMAX];
          P::digits(ptp[(size_t)c * MR + i], dig);
          for (uint32_t d = 0; d < P::DMAX; d++) pp[d * pstride + at] = (typename P::RPT)dig[d];
          ep[at] = c < r && row < rows ? P::el_enc(el[(size_t)row * r + c]) : 0;
        }
  }
}

// F_R of panel pj, [rq][NR][G]. Generic version.
template <class P>
void pack_fr_generic(const Geo& g, const int8_t* frt, uint32_t pj, typename P::RFT* d) {
  const uint32_t NR = P::NR, G = P::G;
  for (uint32_t cq = 0; cq < g.rq; cq++)
    for (uint32_t jj = 0; jj < NR; jj++)
      for (uint32_t e = 0; e < G; e++) {
        const uint32_t c = cq * G + e, j = pj * NR + jj;
        d[((size_t)cq * NR + jj) * G + e] = c < g.r && j < g.n ? P::fr_enc(frt[(size_t)c * g.npad + j]) : 0;
      }
}

// Digits of Q for panel pj, [d][rq][NR][G] with digit stride qstride; returns how many
// digits the panel needs. Generic version.
template <class P>
uint32_t pack_q_generic(const Geo& g, const int32_t* qtmp, uint32_t pj, typename P::RQT* d, size_t qstride) {
  const uint32_t NR = P::NR, G = P::G;
  int32_t lo = 0, hi = 0;
  for (uint32_t cq = 0; cq < g.rq; cq++)
    for (uint32_t jj = 0; jj < NR; jj++)
      for (uint32_t e = 0; e < G; e++) {
        const uint32_t c = cq * G + e;
        const int32_t v = c < g.r ? qtmp[(size_t)c * g.npad + pj * NR + jj] : 0;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        int32_t dig[P::DMAX];
        P::digits(v, dig);
        for (uint32_t x = 0; x < P::DMAX; x++) d[x * qstride + ((size_t)cq * NR + jj) * G + e] = (typename P::RQT)dig[x];
      }
  return P::digits_needed(lo, hi);
}

// ---------------------------------------------------------------------------
// Portable path: int16 rows (S16 layout), scalar loops

struct PathPortable : LayS16 {
  static constexpr uint32_t MR = 4, NV = 1, L = 16, NR = 16;
  static bool wants_elt(const Geo&) { return false; }
  static constexpr uint32_t kRowQuantum = MR;
  static constexpr bool kPviaGemm = false;
  static constexpr uint32_t kRowsTarget = kRowsDefault, kDepthTarget = kDepthDefault;
  static void begin() {}
  static void end() {}
  static bool pack_a(const Geo& g, const int8_t* A, uint32_t R, uint32_t rows, const ANoise& nz, uint32_t s0,
                     uint32_t s1, AT* dst) {
    return pack_a_generic<PathPortable>(g, A, R, rows, nz, s0, s1, dst);
  }
  static bool prep_group(const Geo& g, const int8_t* B, const int8_t* frt, uint32_t t, uint32_t vr,
                         const uint16_t* flp, const uint16_t* flq, uint32_t c0, uint32_t c1, size_t grow,
                         size_t corr_grow, BT* bp) {
    return prep_group_generic<PathPortable>(g, B, frt, t, vr, flp, flq, c0, c1, grow, corr_grow, bp);
  }
  static void scatter_p(const Geo& g, const AT* ablk, uint32_t rows, uint32_t s0, uint32_t s1,
                        const uint16_t* flp, const uint16_t* flq, int32_t* pt) {
    scatter_p_generic<PathPortable>(g, ablk, rows, s0, s1, flp, flq, pt);
  }
  static void pack_p(const Geo& g, const int32_t* pt, uint32_t apanels, uint32_t rows, const int8_t* el, RPT* ppk,
                     RET* epk) {
    pack_p_generic<PathPortable>(g, pt, apanels, rows, el, ppk, epk);
  }
  static void pack_fr(const Geo& g, const int8_t* frt, uint32_t pj, RFT* d) { pack_fr_generic<PathPortable>(g, frt, pj, d); }
  static void q_update(int32_t* qa, int32_t* qb, const int8_t* brow, uint32_t c0, uint32_t c1) {
    q_update_generic(qa, qb, brow, c0, c1);
  }
  static uint32_t pack_q(const Geo& g, const int32_t* qtmp, uint32_t pj, RQT* d, size_t qstride) {
    return pack_q_generic<PathPortable>(g, qtmp, pj, d, qstride);
  }

  PL_KERNEL static void kernel(const KArgs* ka) {
    const int16_t* ap = (const int16_t*)ka->ap;
    const int16_t* bp = (const int16_t*)ka->bp;
    int32_t acc[MR][NR];
    for (uint32_t i = 0; i < MR; i++)
      for (uint32_t j = 0; j < NR; j++) acc[i][j] = ka->load_c ? ka->c[i * ka->ldc + j] : 0;
    for (uint32_t s = 0; s < ka->nseg; s++) {
      const uint32_t groups = s + 1 == ka->nseg ? ka->last_groups : ka->gps;
      for (uint32_t q = 0; q < groups; q++) {
        for (uint32_t i = 0; i < MR; i++) {
          const int32_t a = ap[i];
          for (uint32_t j = 0; j < NR; j++) acc[i][j] += a * bp[j];
        }
        ap += MR;
        bp += NR;
      }
      if (s < ka->nfold) {
        if (ka->gen) {
          fold_generic(ka->gen, &acc[0][0], MR, NR, ka->row0, ka->col0, s);
        } else {
          uint32_t* x = ka->xp[0] + 16 * s;
          for (uint32_t i = 0; i < MR; i++)
            for (uint32_t j = 0; j < NR; j++) x[j] ^= (uint32_t)acc[i][j];
        }
      }
    }
    for (uint32_t i = 0; i < MR; i++)
      for (uint32_t j = 0; j < NR; j++) ka->c[i * ka->ldc + j] = acc[i][j];
  }

  PL_KERNEL static void rec_kernel(const RArgs* ra) {
    uint32_t acc[MR][NR];
    for (uint32_t i = 0; i < MR; i++)
      for (uint32_t j = 0; j < NR; j++) acc[i][j] = 0;
    for (uint32_t d = ra->D; d-- > 0;) {
      for (uint32_t i = 0; i < MR; i++)
        for (uint32_t j = 0; j < NR; j++) acc[i][j] <<= 16;
      const int16_t* pp = (const int16_t*)ra->pp + d * ra->pstride;
      const int16_t* qp = (const int16_t*)ra->qp + d * ra->qstride;
      const int16_t* ep = (const int16_t*)ra->ep;
      const int16_t* fp = (const int16_t*)ra->fp;
      for (uint32_t q = 0; q < ra->rq; q++) {
        for (uint32_t i = 0; i < MR; i++) {
          const int32_t a = pp[i], e = ep[i];  // int16 x int16 products fit int32; sums wrap as uint32
          for (uint32_t j = 0; j < NR; j++) acc[i][j] += (uint32_t)(a * fp[j]) + (uint32_t)(e * qp[j]);
        }
        pp += MR;
        ep += MR;
        fp += NR;
        qp += NR;
      }
    }
    for (uint32_t i = 0; i < ra->rows; i++)
      for (uint32_t j = 0; j < ra->cols; j++)
        ra->out[i * ra->ldo + j] = (int32_t)((uint32_t)ra->c[i * ra->ldc + j] - acc[i][j]);
  }
};

// ---------------------------------------------------------------------------
// avx512-vnni: Q8 layout, MR 8 x NR 48, vpdpbusd

#if PL_X86
int g_vbmi = -1;
bool has_vbmi_cached() {
  int v = __atomic_load_n(&g_vbmi, __ATOMIC_RELAXED);
  if (v < 0) {
    __builtin_cpu_init();
    v = __builtin_cpu_supports("avx512vbmi") ? 1 : 0;
    __atomic_store_n(&g_vbmi, v, __ATOMIC_RELAXED);
  }
  return v == 1;
}

// A + E packed for the VNNI microkernel (u8 = a + 128, [group][8 rows][4]) with AVX-512:
// 64 k-values of 8 rows at a time, then an 8 x 16 transpose of 32-bit words. E comes from
// byte-table lookups into the row of E_L (VBMI, rank <= 128); the plain variant (no
// noise, for the baseline product) needs no VBMI.

// Transposes x[i] (row i, 16 words) into groups [g][8 rows] and stores the first gv.
PL_TARGET_VNNI_NOVBMI PL_INLINE void store_groups_8x16(const __m512i* x, uint8_t* o, uint32_t gv) {
  const __m512i ilo = _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0);
  const __m512i ihi = _mm512_set_epi64(15, 14, 7, 6, 13, 12, 5, 4);
  const __m512i t0a = _mm512_unpacklo_epi32(x[0], x[1]), t1a = _mm512_unpackhi_epi32(x[0], x[1]);
  const __m512i t2a = _mm512_unpacklo_epi32(x[2], x[3]), t3a = _mm512_unpackhi_epi32(x[2], x[3]);
  const __m512i t0b = _mm512_unpacklo_epi32(x[4], x[5]), t1b = _mm512_unpackhi_epi32(x[4], x[5]);
  const __m512i t2b = _mm512_unpacklo_epi32(x[6], x[7]), t3b = _mm512_unpackhi_epi32(x[6], x[7]);
  __m512i u[4], v[4];
  u[0] = _mm512_unpacklo_epi64(t0a, t2a), u[1] = _mm512_unpackhi_epi64(t0a, t2a);
  u[2] = _mm512_unpacklo_epi64(t1a, t3a), u[3] = _mm512_unpackhi_epi64(t1a, t3a);
  v[0] = _mm512_unpacklo_epi64(t0b, t2b), v[1] = _mm512_unpackhi_epi64(t0b, t2b);
  v[2] = _mm512_unpacklo_epi64(t1b, t3b), v[3] = _mm512_unpackhi_epi64(t1b, t3b);
  // group 4L + xx is lane L of u[xx] (rows 0..3) then lane L of v[xx] (rows 4..7)
  alignas(64) uint8_t tmp[16 * 32];
  uint8_t* dst = gv == 16 ? o : tmp;
  PL_UNROLL
  for (uint32_t xx = 0; xx < 4; xx++) {
    const __m512i lo = _mm512_permutex2var_epi64(u[xx], ilo, v[xx]);
    const __m512i hi = _mm512_permutex2var_epi64(u[xx], ihi, v[xx]);
    _mm256_storeu_si256((__m256i*)(dst + 32 * xx), _mm512_castsi512_si256(lo));
    _mm256_storeu_si256((__m256i*)(dst + 32 * (4 + xx)), _mm512_extracti64x4_epi64(lo, 1));
    _mm256_storeu_si256((__m256i*)(dst + 32 * (8 + xx)), _mm512_castsi512_si256(hi));
    _mm256_storeu_si256((__m256i*)(dst + 32 * (12 + xx)), _mm512_extracti64x4_epi64(hi, 1));
  }
  if (gv != 16) __builtin_memcpy(o, tmp, (size_t)gv * 32);
}

PL_TARGET_VNNI bool pack_a_vbmi(const Geo& g, const int8_t* A, uint32_t R, uint32_t rows, const int8_t* el,
                                const uint8_t* erp8, const uint8_t* erq8, uint32_t s0, uint32_t s1, uint8_t* dst) {
  constexpr uint32_t MR = 8;
  const size_t stride = (size_t)(s1 - s0) * g.gps * MR * 4;
  const uint32_t panels = g.MCpad / MR;
  const __m512i k64 = _mm512_set1_epi8(64), k128 = _mm512_set1_epi8(-128), k80 = _mm512_set1_epi8((char)0x80);
  const bool wide = g.r > 64;
  __mmask64 bad = 0;
  for (uint32_t ip = 0; ip < panels; ip++) {
    for (uint32_t s = s0; s < s1; s++) {
      const uint32_t t0 = s * g.r, len = g.seg_len(s), groups = g.seg_groups(s);
      uint8_t* d = dst + ip * stride + (size_t)(s - s0) * g.gps * MR * 4;
      for (uint32_t pos = 0; pos < groups * 4; pos += 64) {
        const uint32_t nv = min_u32(64, len - pos);
        const __mmask64 mk = nv >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << nv) - 1);
        const __m512i ip8 = _mm512_maskz_loadu_epi8(mk, erp8 + t0 + pos);
        const __m512i iq8 = _mm512_maskz_loadu_epi8(mk, erq8 + t0 + pos);
        __m512i x[MR];
        PL_UNROLL
        for (uint32_t i = 0; i < MR; i++) {
          const uint32_t row = ip * MR + i;
          __m512i a = _mm512_setzero_si512();
          if (row < rows) {
            a = _mm512_maskz_loadu_epi8(mk, A + (size_t)(R + row) * g.k + t0 + pos);
            bad |= _mm512_cmpgt_epu8_mask(_mm512_add_epi8(a, k64), k128);
            const int8_t* er = el + (size_t)row * g.r;
            const __m512i lo = _mm512_loadu_si512((const void*)er);
            __m512i e;
            if (wide) {
              const __m512i hi = _mm512_loadu_si512((const void*)(er + 64));
              e = _mm512_sub_epi8(_mm512_permutex2var_epi8(lo, ip8, hi), _mm512_permutex2var_epi8(lo, iq8, hi));
            } else {
              e = _mm512_sub_epi8(_mm512_permutexvar_epi8(ip8, lo), _mm512_permutexvar_epi8(iq8, lo));
            }
            a = _mm512_add_epi8(a, e);
          }
          x[i] = _mm512_xor_si512(a, k80);
        }
        store_groups_8x16(x, d + (size_t)(pos / 4) * 32, min_u32(16, groups - pos / 4));
      }
    }
  }
  return bad == 0;
}

// A + E for the VNNI layout without VBMI (or rank > 128): per quad of k-values, the
// A bytes of 8 rows are 8 dword loads and E for 8 rows comes from the transposed E_L
// (two 8-byte loads per k-value), interleaved to [row][4].
PL_TARGET_VNNI_NOVBMI bool pack_a_q8_elt(const Geo& g, const int8_t* A, uint32_t R, uint32_t rows, const ANoise& nz,
                                         uint32_t s0, uint32_t s1, uint8_t* dst) {
  constexpr uint32_t MR = 8;
  const size_t stride = (size_t)(s1 - s0) * g.gps * MR * 4;
  const uint32_t panels = g.MCpad / MR;
  const __m256i k64 = _mm256_set1_epi8(64), k129 = _mm256_set1_epi8((char)129), k80 = _mm256_set1_epi8((char)0x80);
  __m256i bad = _mm256_setzero_si256();
  for (uint32_t ip = 0; ip < panels; ip++) {
    const int8_t* arow[MR];
    for (uint32_t i = 0; i < MR; i++) {
      const uint32_t row = ip * MR + i;
      arow[i] = row < rows ? A + (size_t)(R + row) * g.k : nullptr;
    }
    const int8_t* base = nz.elt + ip * MR;
    for (uint32_t s = s0; s < s1; s++) {
      const uint32_t t0 = s * g.r, len = g.seg_len(s), groups = g.seg_groups(s);
      uint8_t* d = dst + ip * stride + (size_t)(s - s0) * g.gps * MR * 4;
      for (uint32_t gi = 0; gi < groups; gi++) {
        const uint32_t t = t0 + 4 * gi, ne = min_u32(4, len - 4 * gi);
        uint32_t av[MR];
        for (uint32_t i = 0; i < MR; i++) {
          uint32_t x = 0;
          if (arow[i]) {
            if (ne == 4) x = load_u32(arow[i] + t);
            else
              for (uint32_t e = 0; e < ne; e++) x |= (uint32_t)(uint8_t)arow[i][t + e] << (8 * e);
          }
          av[i] = x;
        }
        __m256i a = _mm256_setr_epi32((int)av[0], (int)av[1], (int)av[2], (int)av[3], (int)av[4], (int)av[5],
                                      (int)av[6], (int)av[7]);
        const __m256i x = _mm256_add_epi8(a, k64);
        bad = _mm256_or_si256(bad, _mm256_cmpeq_epi8(_mm256_max_epu8(x, k129), x));
        __m128i n[4];
        for (uint32_t e = 0; e < 4; e++)
          n[e] = e < ne ? _mm_sub_epi8(_mm_loadl_epi64((const __m128i*)(base + (size_t)nz.erp[t + e] * g.MCpad)),
                                       _mm_loadl_epi64((const __m128i*)(base + (size_t)nz.erq[t + e] * g.MCpad)))
                        : _mm_setzero_si128();
        const __m128i u01 = _mm_unpacklo_epi8(n[0], n[1]), u23 = _mm_unpacklo_epi8(n[2], n[3]);
        const __m256i e8 = _mm256_setr_m128i(_mm_unpacklo_epi16(u01, u23), _mm_unpackhi_epi16(u01, u23));
        a = _mm256_xor_si256(_mm256_add_epi8(a, e8), k80);
        _mm256_storeu_si256((__m256i*)(d + (size_t)gi * 32), a);
      }
    }
  }
  return _mm256_movemask_epi8(bad) == 0;
}

PL_TARGET_VNNI_NOVBMI bool pack_a_plain512(const Geo& g, const int8_t* A, uint32_t R, uint32_t rows, uint32_t s0,
                                           uint32_t s1, uint8_t* dst) {
  constexpr uint32_t MR = 8;
  const size_t stride = (size_t)(s1 - s0) * g.gps * MR * 4;
  const uint32_t panels = g.MCpad / MR;
  const __m512i k80 = _mm512_set1_epi8((char)0x80);
  for (uint32_t ip = 0; ip < panels; ip++) {
    for (uint32_t s = s0; s < s1; s++) {
      const uint32_t t0 = s * g.r, len = g.seg_len(s), groups = g.seg_groups(s);
      uint8_t* d = dst + ip * stride + (size_t)(s - s0) * g.gps * MR * 4;
      for (uint32_t pos = 0; pos < groups * 4; pos += 64) {
        const uint32_t nv = min_u32(64, len - pos);
        const __mmask64 mk = nv >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << nv) - 1);
        __m512i x[MR];
        PL_UNROLL
        for (uint32_t i = 0; i < MR; i++) {
          const uint32_t row = ip * MR + i;
          const __m512i a = row < rows ? _mm512_maskz_loadu_epi8(mk, A + (size_t)(R + row) * g.k + t0 + pos)
                                       : _mm512_setzero_si512();
          x[i] = _mm512_xor_si512(a, k80);
        }
        store_groups_8x16(x, d + (size_t)(pos / 4) * 32, min_u32(16, groups - pos / 4));
      }
    }
  }
  return true;
}

// B + F for one group of 4 rows, columns [c0, c1) (c0 a multiple of 16): 64 columns at a
// time, interleaved to [column][4] (byte unpacks within 128-bit lanes, then a 4 x 4
// transpose of the lanes), with the column sums (times 128) added into the segment's
// correction row.
PL_TARGET_VNNI_NOVBMI bool prep_group_vnni(const Geo& g, const int8_t* B, const int8_t* frt, uint32_t t, uint32_t vr,
                                           const uint16_t* flp, const uint16_t* flq, uint32_t c0, uint32_t c1,
                                           size_t grow, size_t corr_grow, int8_t* bp, uint32_t NR, size_t panel,
                                           bool with_corr) {
  const __m512i k64 = _mm512_set1_epi8(64), k128 = _mm512_set1_epi8(-128);
  const __m512i ones = _mm512_set1_epi8(1);
  const int8_t* brow[4];
  const int8_t* fc[4];
  const int8_t* fd[4];
  for (uint32_t e = 0; e < 4; e++) {
    brow[e] = e < vr ? B + (size_t)(t + e) * g.n : nullptr;
    fc[e] = frt && e < vr ? frt + (size_t)flp[e] * g.npad : nullptr;
    fd[e] = frt && e < vr ? frt + (size_t)flq[e] * g.npad : nullptr;
  }
  __mmask64 bad = 0;
  for (uint32_t j = c0; j < c1; j += 64) {
    const uint32_t nv = min_u32(64, c1 - j);
    const __mmask64 mk = nv >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << nv) - 1);
    __m512i x[4];
    PL_UNROLL
    for (uint32_t e = 0; e < 4; e++) {
      if (!brow[e]) {
        x[e] = _mm512_setzero_si512();
        continue;
      }
      __m512i b = _mm512_maskz_loadu_epi8(mk, brow[e] + j);
      bad |= _mm512_cmpgt_epu8_mask(_mm512_add_epi8(b, k64), k128);
      if (fc[e])  // the rows of F_R are padded to whole panels; columns past n are zero
        b = _mm512_add_epi8(b, _mm512_maskz_sub_epi8(mk, _mm512_maskz_loadu_epi8(mk, fc[e] + j),
                                                       _mm512_maskz_loadu_epi8(mk, fd[e] + j)));
      x[e] = b;
    }
    const __m512i t0 = _mm512_unpacklo_epi8(x[0], x[1]), t1 = _mm512_unpackhi_epi8(x[0], x[1]);
    const __m512i t2 = _mm512_unpacklo_epi8(x[2], x[3]), t3 = _mm512_unpackhi_epi8(x[2], x[3]);
    const __m512i u0 = _mm512_unpacklo_epi16(t0, t2), u1 = _mm512_unpackhi_epi16(t0, t2);
    const __m512i u2 = _mm512_unpacklo_epi16(t1, t3), u3 = _mm512_unpackhi_epi16(t1, t3);
    const __m512i ta = _mm512_shuffle_i32x4(u0, u1, 0x44), tb = _mm512_shuffle_i32x4(u2, u3, 0x44);
    const __m512i tc = _mm512_shuffle_i32x4(u0, u1, 0xEE), td = _mm512_shuffle_i32x4(u2, u3, 0xEE);
    __m512i z[4];
    z[0] = _mm512_shuffle_i32x4(ta, tb, 0x88);
    z[1] = _mm512_shuffle_i32x4(ta, tb, 0xDD);
    z[2] = _mm512_shuffle_i32x4(tc, td, 0x88);
    z[3] = _mm512_shuffle_i32x4(tc, td, 0xDD);
    const uint32_t blocks = (nv + 15) / 16;
    for (uint32_t L = 0; L < blocks; L++) {
      const uint32_t col = j + 16 * L;
      int8_t* pb = bp + (size_t)(col / NR) * panel;
      _mm512_store_si512((void*)(pb + grow * NR * 4 + (size_t)(col % NR) * 4), z[L]);
      if (with_corr) {
        int32_t* corr = (int32_t*)(pb + corr_grow * NR * 4) + (col % NR);
        const __m512i sums = _mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, z[L]);
        _mm512_store_si512((void*)corr,
                           _mm512_add_epi32(_mm512_load_si512((const void*)corr), _mm512_slli_epi32(sums, 7)));
      }
    }
  }
  return frt == nullptr || bad == 0;
}

// Recovery helpers of the VNNI path (Q8 layout, MR = 8).

// P += A' F_L from a packed A' block: 8 rows per 256-bit vector.
PL_TARGET_VNNI_NOVBMI void scatter_p_vnni(const Geo& g, const uint8_t* ablk, uint32_t rows, uint32_t s0, uint32_t s1,
                                          const uint16_t* flp, const uint16_t* flq, int32_t* pt) {
  constexpr uint32_t MR = 8;
  const size_t astride = (size_t)(s1 - s0) * g.gps * MR * 4;
  const uint32_t panels = (rows + MR - 1) / MR;
  const __m256i k128 = _mm256_set1_epi32(128);
  for (uint32_t ip = 0; ip < panels; ip++) {
    int32_t* ptp = pt + (size_t)ip * g.rq * 4 * MR;
    for (uint32_t s = s0; s < s1; s++) {
      const uint32_t t0 = s * g.r, len = g.seg_len(s);
      const uint8_t* d = ablk + ip * astride + (size_t)(s - s0) * g.gps * MR * 4;
      for (uint32_t tl = 0; tl < len; tl += 4) {
        const __m256i x = _mm256_loadu_si256((const __m256i*)(d + (size_t)(tl / 4) * 32));
        __m256i v[4];
        v[0] = _mm256_sub_epi32(_mm256_and_si256(x, _mm256_set1_epi32(0xff)), k128);
        v[1] = _mm256_sub_epi32(_mm256_and_si256(_mm256_srli_epi32(x, 8), _mm256_set1_epi32(0xff)), k128);
        v[2] = _mm256_sub_epi32(_mm256_and_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(0xff)), k128);
        v[3] = _mm256_sub_epi32(_mm256_srli_epi32(x, 24), k128);
        const uint32_t ne = min_u32(4, len - tl);
        for (uint32_t e = 0; e < ne; e++) {
          const uint32_t t = t0 + tl + e;
          int32_t* pc = ptp + (size_t)flp[t] * MR;
          int32_t* pd = ptp + (size_t)flq[t] * MR;
          _mm256_storeu_si256((__m256i*)pc, _mm256_add_epi32(_mm256_loadu_si256((const __m256i*)pc), v[e]));
          _mm256_storeu_si256((__m256i*)pd, _mm256_sub_epi32(_mm256_loadu_si256((const __m256i*)pd), v[e]));
        }
      }
    }
  }
}

// Balanced base-256 digits of 32-bit lanes: d0, d1 in [-128, 127], d2 the rest.
PL_TARGET_VNNI_NOVBMI PL_INLINE void digits3_512(__m512i v, __m512i* d0, __m512i* d1, __m512i* d2) {
  *d0 = _mm512_srai_epi32(_mm512_slli_epi32(v, 24), 24);
  const __m512i v1 = _mm512_srai_epi32(_mm512_sub_epi32(v, *d0), 8);
  *d1 = _mm512_srai_epi32(_mm512_slli_epi32(v1, 24), 24);
  *d2 = _mm512_srai_epi32(_mm512_sub_epi32(v1, *d1), 8);
}

// Four 32-bit vectors (k-values e = 0..3) to bytes [lane][e].
PL_TARGET_VNNI_NOVBMI PL_INLINE __m512i bytes4_512(__m512i a, __m512i b, __m512i c, __m512i d) {
  const __m512i ff = _mm512_set1_epi32(0xff);
  return _mm512_or_si512(
      _mm512_or_si512(_mm512_and_si512(a, ff), _mm512_slli_epi32(_mm512_and_si512(b, ff), 8)),
      _mm512_or_si512(_mm512_slli_epi32(_mm512_and_si512(c, ff), 16), _mm512_slli_epi32(d, 24)));
}

PL_TARGET_VNNI_NOVBMI void pack_p_vnni(const Geo& g, const int32_t* pt, uint32_t apanels, uint32_t rows,
                                       const int8_t* el, int8_t* ppk, uint8_t* epk) {
  constexpr uint32_t MR = 8;
  const size_t pstride = (size_t)g.rq * MR * 4;
  for (uint32_t ip = 0; ip < apanels; ip++) {
    const int32_t* ptp = pt + (size_t)ip * g.rq * 4 * MR;
    int8_t* pp = ppk + (size_t)ip * 3 * pstride;
    uint8_t* ep = epk + (size_t)ip * pstride;
    for (uint32_t cq = 0; cq < g.rq; cq += 2) {  // two rank quads (16 int32 per row of P) at once
      __m512i v[4], d[3][4];
      for (uint32_t e = 0; e < 4; e++) {
        // lanes 0..7: quad cq, lanes 8..15: quad cq + 1 (pt rows are zero past rq * 4)
        const __m256i lo = _mm256_loadu_si256((const __m256i*)(ptp + (size_t)(cq * 4 + e) * MR));
        const __m256i hi = cq + 1 < g.rq ? _mm256_loadu_si256((const __m256i*)(ptp + (size_t)(cq * 4 + 4 + e) * MR))
                                         : _mm256_setzero_si256();
        v[e] = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
        digits3_512(v[e], &d[0][e], &d[1][e], &d[2][e]);
      }
      const uint32_t nq = cq + 1 < g.rq ? 2 : 1;
      for (uint32_t x = 0; x < 3; x++) {
        const __m512i w = bytes4_512(d[x][0], d[x][1], d[x][2], d[x][3]);
        int8_t* o = pp + x * pstride + (size_t)cq * MR * 4;
        _mm256_storeu_si256((__m256i*)o, _mm512_castsi512_si256(w));
        if (nq == 2) _mm256_storeu_si256((__m256i*)(o + 32), _mm512_extracti64x4_epi64(w, 1));
      }
      for (uint32_t q = cq; q < cq + nq; q++)
        for (uint32_t i = 0; i < MR; i++) {
          const uint32_t row = ip * MR + i;
          uint32_t wv = 0;
          for (uint32_t e = 0; e < 4; e++) {
            const uint32_t c = q * 4 + e;
            if (c < g.r && row < rows) wv |= (uint32_t)(uint8_t)(el[(size_t)row * g.r + c] + 32) << (8 * e);
          }
          store_u32(ep + ((size_t)q * MR + i) * 4, wv);
        }
    }
  }
}

PL_TARGET_VNNI_NOVBMI void pack_fr_vnni(const Geo& g, const int8_t* frt, uint32_t pj, uint8_t* d, uint32_t NR) {
  const __m512i k32 = _mm512_set1_epi32(32);
  for (uint32_t cq = 0; cq < g.rq; cq++)
    for (uint32_t jj = 0; jj < NR; jj += 16) {
      const uint32_t j = pj * NR + jj;
      const uint32_t nv = j < g.n ? min_u32(16, g.n - j) : 0;
      const __mmask16 mk = nv >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nv) - 1);
      __m512i v[4];
      for (uint32_t e = 0; e < 4; e++) {
        const uint32_t c = cq * 4 + e;
        v[e] = c < g.r ? _mm512_maskz_add_epi32(mk, _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i*)(frt + (size_t)c * g.npad + j))), k32)
                       : _mm512_setzero_si512();
      }
      _mm512_storeu_si512((void*)(d + ((size_t)cq * NR + jj) * 4), bytes4_512(v[0], v[1], v[2], v[3]));
    }
}

PL_TARGET_VNNI_NOVBMI void q_update_vnni(int32_t* qa, int32_t* qb, const int8_t* brow, uint32_t c0, uint32_t c1) {
  for (uint32_t j = c0; j < c1; j += 16) {
    const uint32_t nv = min_u32(16, c1 - j);
    const __mmask16 mk = nv >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nv) - 1);
    const __m512i b = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mk, brow + j));
    _mm512_mask_storeu_epi32(qa + j, mk, _mm512_add_epi32(_mm512_maskz_loadu_epi32(mk, qa + j), b));
    _mm512_mask_storeu_epi32(qb + j, mk, _mm512_sub_epi32(_mm512_maskz_loadu_epi32(mk, qb + j), b));
  }
}

PL_TARGET_VNNI_NOVBMI uint32_t pack_q_vnni(const Geo& g, const int32_t* qtmp, uint32_t pj, int8_t* d, size_t qstride,
                                           uint32_t NR) {
  __m512i lo = _mm512_setzero_si512(), hi = _mm512_setzero_si512();
  for (uint32_t cq = 0; cq < g.rq; cq++)
    for (uint32_t jj = 0; jj < NR; jj += 16) {
      __m512i dg[3][4];
      for (uint32_t e = 0; e < 4; e++) {
        const uint32_t c = cq * 4 + e;
        const __m512i v = c < g.r ? _mm512_loadu_si512((const void*)(qtmp + (size_t)c * g.npad + pj * NR + jj))
                                  : _mm512_setzero_si512();
        lo = _mm512_min_epi32(lo, v);
        hi = _mm512_max_epi32(hi, v);
        digits3_512(v, &dg[0][e], &dg[1][e], &dg[2][e]);
      }
      for (uint32_t x = 0; x < 3; x++)
        _mm512_storeu_si512((void*)(d + x * qstride + ((size_t)cq * NR + jj) * 4),
                            bytes4_512(dg[x][0], dg[x][1], dg[x][2], dg[x][3]));
    }
  return LayQ8::digits_needed(_mm512_reduce_min_epi32(lo), _mm512_reduce_max_epi32(hi));
}

template <uint32_t NVv>
struct PathVnniT : LayQ8 {
  static constexpr uint32_t MR = 8, NV = NVv, L = 16, NR = 16 * NVv;

  static bool wants_elt(const Geo& g) { return !g.plain && !(g.r <= 128 && has_vbmi_cached()); }
  static constexpr uint32_t kRowQuantum = MR;
  static constexpr bool kPviaGemm = false;
  static constexpr uint32_t kRowsTarget = kRowsDefault, kDepthTarget = kDepthDefault;
  static void begin() {}
  static void end() {}
  static bool pack_a(const Geo& g, const int8_t* A, uint32_t R, uint32_t rows, const ANoise& nz, uint32_t s0,
                     uint32_t s1, AT* dst) {
    if (!nz.el) return pack_a_plain512(g, A, R, rows, s0, s1, dst);
    if (g.r <= 128 && has_vbmi_cached()) return pack_a_vbmi(g, A, R, rows, nz.el, nz.erp8, nz.erq8, s0, s1, dst);
    return pack_a_q8_elt(g, A, R, rows, nz, s0, s1, dst);
  }
  static bool prep_group(const Geo& g, const int8_t* B, const int8_t* frt, uint32_t t, uint32_t vr,
                         const uint16_t* flp, const uint16_t* flq, uint32_t c0, uint32_t c1, size_t grow,
                         size_t corr_grow, BT* bp) {
    return prep_group_vnni(g, B, frt, t, vr, flp, flq, c0, c1, grow, corr_grow, bp, NR, g.b_rows * NR * 4, true);
  }
  static void scatter_p(const Geo& g, const AT* ablk, uint32_t rows, uint32_t s0, uint32_t s1,
                        const uint16_t* flp, const uint16_t* flq, int32_t* pt) {
    scatter_p_vnni(g, ablk, rows, s0, s1, flp, flq, pt);
  }
  static void pack_p(const Geo& g, const int32_t* pt, uint32_t apanels, uint32_t rows, const int8_t* el, RPT* ppk,
                     RET* epk) {
    pack_p_vnni(g, pt, apanels, rows, el, ppk, epk);
  }
  static void pack_fr(const Geo& g, const int8_t* frt, uint32_t pj, RFT* d) { pack_fr_vnni(g, frt, pj, d, NR); }
  static void q_update(int32_t* qa, int32_t* qb, const int8_t* brow, uint32_t c0, uint32_t c1) {
    q_update_vnni(qa, qb, brow, c0, c1);
  }
  static uint32_t pack_q(const Geo& g, const int32_t* qtmp, uint32_t pj, RQT* d, size_t qstride) {
    return pack_q_vnni(g, qtmp, pj, d, qstride, NR);
  }

  PL_TARGET_VNNI_NOVBMI PL_KERNEL static void kernel(const KArgs* ka) {
    if (ka->gen)
      kernel_t<true>(ka);
    else
      kernel_t<false>(ka);
  }

  // Written with one named variable per accumulator (8 rows x 3 vectors): with an
  // array, GCC spills the accumulators to memory at every segment end.
  template <bool kGen>
  PL_TARGET_VNNI_NOVBMI PL_KERNEL static void kernel_t(const KArgs* ka) {
    static_assert(MR == 8 && NV == 3, "the row macros spell out an 8 x 48 block");
    const uint8_t* ap = (const uint8_t*)ka->ap;
    const int8_t* bp = (const int8_t*)ka->bp;
    int32_t* c = ka->c;
    const size_t ldc = ka->ldc;
#define PL_R8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define PL_DECL(i) __m512i c##i##a, c##i##b, c##i##c;
#define PL_LOADC(i)                                                      \
  c##i##a = _mm512_loadu_si512((const void*)(c + (i) * ldc));      \
  c##i##b = _mm512_loadu_si512((const void*)(c + (i) * ldc + 16)); \
  c##i##c = _mm512_loadu_si512((const void*)(c + (i) * ldc + 32));
#define PL_ZERO(i) c##i##a = c##i##b = c##i##c = _mm512_setzero_si512();
#define PL_STEP(i)                                                        \
  {                                                                       \
    const __m512i a = _mm512_set1_epi32((int32_t)load_u32(ap + 4 * (i))); \
    c##i##a = _mm512_dpbusd_epi32(c##i##a, a, b0);                        \
    c##i##b = _mm512_dpbusd_epi32(c##i##b, a, b1);                        \
    c##i##c = _mm512_dpbusd_epi32(c##i##c, a, b2);                        \
  }
#define PL_CORR_A(i) c##i##a = _mm512_sub_epi32(c##i##a, kv);
#define PL_CORR_B(i) c##i##b = _mm512_sub_epi32(c##i##b, kv);
#define PL_CORR_C(i) c##i##c = _mm512_sub_epi32(c##i##c, kv);
#define PL_SPILL(i)                                          \
  _mm512_store_si512((void*)(tile + (i) * NR), c##i##a);      \
  _mm512_store_si512((void*)(tile + (i) * NR + 16), c##i##b); \
  _mm512_store_si512((void*)(tile + (i) * NR + 32), c##i##c);
#define PL_STOREC(i)                                            \
  _mm512_storeu_si512((void*)(c + (i) * ldc), c##i##a);      \
  _mm512_storeu_si512((void*)(c + (i) * ldc + 16), c##i##b); \
  _mm512_storeu_si512((void*)(c + (i) * ldc + 32), c##i##c);
#define PL_XOR8(v)                                                                  \
  _mm512_xor_si512(_mm512_ternarylogic_epi32(                                       \
                       _mm512_ternarylogic_epi32(c0##v, c1##v, c2##v, 0x96),        \
                       _mm512_ternarylogic_epi32(c3##v, c4##v, c5##v, 0x96), c6##v, 0x96), \
                   c7##v)
    PL_R8(PL_DECL)
    if (ka->load_c) {
      PL_R8(PL_LOADC)
    } else {
      PL_R8(PL_ZERO)
    }
    const uint32_t nseg = ka->nseg;
    for (uint32_t s = 0; s < nseg; s++) {
      const uint32_t groups = s + 1 == nseg ? ka->last_groups : ka->gps;
      for (uint32_t q = 0; q < groups; q++) {
        const __m512i b0 = _mm512_load_si512((const void*)bp);
        const __m512i b1 = _mm512_load_si512((const void*)(bp + 64));
        const __m512i b2 = _mm512_load_si512((const void*)(bp + 128));
        PL_R8(PL_STEP)
        ap += MR * 4;
        bp += NR * 4;
      }
      // correction row (the accumulators become the true sums), then the fold, one
      // column vector at a time to keep register pressure low
      const bool fold = !kGen && s < ka->nfold;
      {
        const __m512i kv = _mm512_load_si512((const void*)bp);
        PL_R8(PL_CORR_A)
        if (fold) {
          uint32_t* X = ka->xp[0] + 16 * s;
          _mm512_storeu_si512((void*)X, _mm512_xor_si512(_mm512_loadu_si512((const void*)X), PL_XOR8(a)));
        }
      }
      {
        const __m512i kv = _mm512_load_si512((const void*)(bp + 64));
        PL_R8(PL_CORR_B)
        if (fold) {
          uint32_t* X = ka->xp[1] + 16 * s;
          _mm512_storeu_si512((void*)X, _mm512_xor_si512(_mm512_loadu_si512((const void*)X), PL_XOR8(b)));
        }
      }
      {
        const __m512i kv = _mm512_load_si512((const void*)(bp + 128));
        PL_R8(PL_CORR_C)
        if (fold) {
          uint32_t* X = ka->xp[2] + 16 * s;
          _mm512_storeu_si512((void*)X, _mm512_xor_si512(_mm512_loadu_si512((const void*)X), PL_XOR8(c)));
        }
      }
      bp += NR * 4;
      if (kGen && s < ka->nfold) {
        {
          alignas(64) int32_t tile[MR * NR];
          PL_R8(PL_SPILL)
          fold_generic(ka->gen, tile, MR, NR, ka->row0, ka->col0, s);
        }
      }
    }
    PL_R8(PL_STOREC)
#undef PL_DECL
#undef PL_LOADC
#undef PL_ZERO
#undef PL_STEP
#undef PL_CORR_A
#undef PL_CORR_B
#undef PL_CORR_C
#undef PL_SPILL
#undef PL_STOREC
#undef PL_XOR8
#undef PL_R8
  }

  PL_TARGET_VNNI_NOVBMI PL_KERNEL static void rec_kernel(const RArgs* ra) {
    __m512i acc[MR][NV];
    PL_UNROLL
    for (uint32_t i = 0; i < MR; i++)
      PL_UNROLL
      for (uint32_t v = 0; v < NV; v++) acc[i][v] = _mm512_setzero_si512();
    for (uint32_t d = ra->D; d-- > 0;) {
      PL_UNROLL
      for (uint32_t i = 0; i < MR; i++)
        PL_UNROLL
        for (uint32_t v = 0; v < NV; v++) acc[i][v] = _mm512_slli_epi32(acc[i][v], 8);
      const int8_t* pp = (const int8_t*)ra->pp + d * ra->pstride;
      const uint8_t* fp = (const uint8_t*)ra->fp;
      for (uint32_t q = 0; q < ra->rq; q++) {  // P digits (s8) x (F_R + 32) (u8)
        __m512i b[NV];
        PL_UNROLL
        for (uint32_t v = 0; v < NV; v++) b[v] = _mm512_load_si512((const void*)(fp + 64 * v));
        PL_UNROLL
        for (uint32_t i = 0; i < MR; i++) {
          const __m512i a = _mm512_set1_epi32((int32_t)load_u32(pp + 4 * i));
          PL_UNROLL
          for (uint32_t v = 0; v < NV; v++) acc[i][v] = _mm512_dpbusd_epi32(acc[i][v], b[v], a);
        }
        pp += MR * 4;
        fp += NR * 4;
      }
      const uint8_t* ep = (const uint8_t*)ra->ep;
      const int8_t* qp = (const int8_t*)ra->qp + d * ra->qstride;
      for (uint32_t q = 0; q < ra->rq; q++) {  // (E_L + 32) (u8) x Q digits (s8)
        __m512i b[NV];
        PL_UNROLL
        for (uint32_t v = 0; v < NV; v++) b[v] = _mm512_load_si512((const void*)(qp + 64 * v));
        PL_UNROLL
        for (uint32_t i = 0; i < MR; i++) {
          const __m512i a = _mm512_set1_epi32((int32_t)load_u32(ep + 4 * i));
          PL_UNROLL
          for (uint32_t v = 0; v < NV; v++) acc[i][v] = _mm512_dpbusd_epi32(acc[i][v], a, b[v]);
        }
        ep += MR * 4;
        qp += NR * 4;
      }
    }
    alignas(64) int32_t tile[MR * NR];
    PL_UNROLL
    for (uint32_t i = 0; i < MR; i++)
      PL_UNROLL
      for (uint32_t v = 0; v < NV; v++) _mm512_store_si512((void*)(tile + i * NR + 16 * v), acc[i][v]);
    for (uint32_t i = 0; i < ra->rows; i++)
      for (uint32_t v = 0; v < NV; v++) {
        if (16 * v >= ra->cols) break;
        const uint32_t left = ra->cols - 16 * v;
        const __mmask16 mk = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
        const __m512i cv = _mm512_loadu_si512((const void*)(ra->c + i * ra->ldc + 16 * v));
        const __m512i t = _mm512_load_si512((const void*)(tile + i * NR + 16 * v));
        _mm512_mask_storeu_epi32((void*)(ra->out + i * ra->ldo + 16 * v), mk, _mm512_sub_epi32(cv, t));
      }
  }
};
typedef PathVnniT<3> PathVnni;

// ---------------------------------------------------------------------------
// amx-int8: tiles of 16 rows x 64 bytes, tdpbssd (s8 x s8 into int32, no correction).
//
// Layout: groups of 64 k-values (one tdpbssd depth); segments are padded to whole groups.
// A panel: [group][32 rows][64] s8 (two A tiles per group, contiguous rows); B panel:
// [group][16 quads][32 columns][4] s8 (two B tiles per group, row stride 128 bytes), the
// same interleave as the VNNI panels. The 32 x 32 block of accumulators lives in four C
// tiles; at the end of a folded slice they are stored to an L1 buffer and XOR-reduced
// with AVX-512 (rows 0..15 and 16..31 may belong to different tile rows, so each half
// has its own slice partial). Recovery runs the same tile product once per digit
// (P digits x F_R and E_L x Q digits, all signed) and combines the digits in vectors.
// The tile state is per thread: run_rows configures the tiles on entry and releases them.

#define PL_TILE_LOAD(t, base, stride) \
  __asm__ volatile("tileloadd (%0,%1,1), %%tmm" #t ::"r"((const void*)(base)), "r"((long)(stride)) : "memory")
#define PL_TILE_STORE(t, base, stride) \
  __asm__ volatile("tilestored %%tmm" #t ", (%0,%1,1)" ::"r"((void*)(base)), "r"((long)(stride)) : "memory")
#define PL_TILE_ZERO(t) __asm__ volatile("tilezero %%tmm" #t ::)
#define PL_TILE_DP(c, a, b) __asm__ volatile("tdpbssd %%tmm" #b ", %%tmm" #a ", %%tmm" #c ::)

struct alignas(64) TileConfig {
  uint8_t palette, start_row, reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};

bool has_amx() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni") && pouw_amx_usable();
}

struct LayAmx {
  typedef int8_t AT;
  typedef int8_t BT;
  typedef int8_t RPT;
  typedef int8_t RET;
  typedef int8_t RFT;
  typedef int8_t RQT;
  static constexpr uint32_t G = 64, CR = 0, DMAX = 3;
  static PL_INLINE AT a_enc(int v) { return (int8_t)v; }
  static PL_INLINE int a_dec(AT x) { return x; }
  static PL_INLINE BT b_enc(int v) { return (int8_t)v; }
  static PL_INLINE RET el_enc(int v) { return (int8_t)v; }
  static PL_INLINE RFT fr_enc(int v) { return (int8_t)v; }
  static PL_INLINE void digits(int32_t v, int32_t d[DMAX]) { LayQ8::digits(v, d); }
  static PL_INLINE uint32_t digits_needed(int32_t lo, int32_t hi) { return LayQ8::digits_needed(lo, hi); }
};

// XOR of the 16 rows of a stored C tile.
PL_TARGET_VNNI_NOVBMI PL_INLINE __m512i xor_rows16(const int32_t* t) {
  __m512i x[16];
  PL_UNROLL
  for (int i = 0; i < 16; i++) x[i] = _mm512_load_si512((const void*)(t + 16 * i));
  __m512i a = _mm512_ternarylogic_epi32(x[0], x[1], x[2], 0x96);
  __m512i b = _mm512_ternarylogic_epi32(x[3], x[4], x[5], 0x96);
  __m512i c = _mm512_ternarylogic_epi32(x[6], x[7], x[8], 0x96);
  __m512i d = _mm512_ternarylogic_epi32(x[9], x[10], x[11], 0x96);
  __m512i e = _mm512_ternarylogic_epi32(x[12], x[13], x[14], 0x96);
  a = _mm512_ternarylogic_epi32(a, b, c, 0x96);
  d = _mm512_ternarylogic_epi32(d, e, x[15], 0x96);
  return _mm512_xor_si512(a, d);
}

PL_TARGET_VNNI_NOVBMI PL_INLINE void xor_into(uint32_t* X, __m512i x) {
  _mm512_storeu_si512((void*)X, _mm512_xor_si512(_mm512_loadu_si512((const void*)X), x));
}

// A + E for the AMX layout: one 64-byte row per (row, group); no transposition needed.
PL_TARGET_VNNI bool pack_a_amx_vbmi(const Geo& g, const int8_t* A, uint32_t R, uint32_t rows, const ANoise& nz,
                                    uint32_t s0, uint32_t s1, int8_t* dst) {
  constexpr uint32_t MR = 32;
  const size_t stride = (size_t)(s1 - s0) * g.gps * MR * 64;
  const uint32_t panels = g.MCpad / MR;
  const __m512i k64 = _mm512_set1_epi8(64), k128 = _mm512_set1_epi8(-128);
  const bool noise = nz.el != nullptr, wide = g.r > 64;
  __mmask64 bad = 0;
  for (uint32_t ip = 0; ip < panels; ip++) {
    for (uint32_t s = s0; s < s1; s++) {
      const uint32_t t0 = s * g.r, len = g.seg_len(s), groups = g.seg_groups(s);
      int8_t* d = dst + ip * stride + (size_t)(s - s0) * g.gps * MR * 64;
      for (uint32_t gi = 0; gi < groups; gi++) {
        const uint32_t pos = gi * 64, nv = min_u32(64, len - pos);
        const __mmask64 mk = nv >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << nv) - 1);
        __m512i ip8 = _mm512_setzero_si512(), iq8 = _mm512_setzero_si512();
        if (noise) {
          ip8 = _mm512_maskz_loadu_epi8(mk, nz.erp8 + t0 + pos);
          iq8 = _mm512_maskz_loadu_epi8(mk, nz.erq8 + t0 + pos);
        }
        int8_t* o = d + (size_t)gi * MR * 64;
        for (uint32_t i = 0; i < MR; i++) {
          const uint32_t row = ip * MR + i;
          __m512i a = _mm512_setzero_si512();
          if (row < rows) {
            a = _mm512_maskz_loadu_epi8(mk, A + (size_t)(R + row) * g.k + t0 + pos);
            bad |= _mm512_cmpgt_epu8_mask(_mm512_add_epi8(a, k64), k128);
            if (noise) {
              const int8_t* er = nz.el + (size_t)row * g.r;
              const __m512i lo = _mm512_loadu_si512((const void*)er);
              __m512i e;
              if (wide) {
                const __m512i hi = _mm512_loadu_si512((const void*)(er + 64));
                e = _mm512_sub_epi8(_mm512_permutex2var_epi8(lo, ip8, hi), _mm512_permutex2var_epi8(lo, iq8, hi));
              } else {
                e = _mm512_sub_epi8(_mm512_permutexvar_epi8(ip8, lo), _mm512_permutexvar_epi8(iq8, lo));
              }
              a = _mm512_add_epi8(a, e);
            }
          }
          _mm512_store_si512((void*)(o + 64 * i), a);
        }
      }
    }
  }
  return g.plain || bad == 0;
}

PL_TARGET_VNNI_NOVBMI bool pack_a_amx_plain(const Geo& g, const int8_t* A, uint32_t R, uint32_t rows, uint32_t s0,
                                            uint32_t s1, int8_t* dst) {
  constexpr uint32_t MR = 32;
  const size_t stride = (size_t)(s1 - s0) * g.gps * MR * 64;
  const uint32_t panels = g.MCpad / MR;
  for (uint32_t ip = 0; ip < panels; ip++)
    for (uint32_t s = s0; s < s1; s++) {
      const uint32_t t0 = s * g.r, len = g.seg_len(s), groups = g.seg_groups(s);
      int8_t* d = dst + ip * stride + (size_t)(s - s0) * g.gps * MR * 64;
      for (uint32_t gi = 0; gi < groups; gi++) {
        const uint32_t pos = gi * 64, nv = min_u32(64, len - pos);
        const __mmask64 mk = nv >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << nv) - 1);
        int8_t* o = d + (size_t)gi * MR * 64;
        for (uint32_t i = 0; i < MR; i++) {
          const uint32_t row = ip * MR + i;
          const __m512i a = row < rows ? _mm512_maskz_loadu_epi8(mk, A + (size_t)(R + row) * g.k + t0 + pos)
                                       : _mm512_setzero_si512();
          _mm512_store_si512((void*)(o + 64 * i), a);
        }
      }
    }
  return true;
}

// F_R (s8) of panel pj for the B tiles: [rank group][16 quads][32][4].
PL_TARGET_VNNI_NOVBMI void pack_fr_amx(const Geo& g, const int8_t* frt, uint32_t pj, int8_t* d, uint32_t NR) {
  for (uint32_t cg = 0; cg < g.rq; cg++)
    for (uint32_t q = 0; q < 16; q++)
      for (uint32_t jj = 0; jj < NR; jj += 16) {
        const uint32_t j = pj * NR + jj;
        const uint32_t nv = j < g.n ? min_u32(16, g.n - j) : 0;
        const __mmask16 mk = nv >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nv) - 1);
        __m512i v[4];
        for (uint32_t e = 0; e < 4; e++) {
          const uint32_t c = cg * 64 + q * 4 + e;
          v[e] = c < g.r ? _mm512_maskz_mov_epi32(mk, _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i*)(frt + (size_t)c * g.npad + j))))
                         : _mm512_setzero_si512();
        }
        _mm512_storeu_si512((void*)(d + (((size_t)cg * 16 + q) * NR + jj) * 4), bytes4_512(v[0], v[1], v[2], v[3]));
      }
}

// Q digits of panel pj for the B tiles: [d][rank group][16 quads][32][4], digit stride qstride.
PL_TARGET_VNNI_NOVBMI uint32_t pack_q_amx(const Geo& g, const int32_t* qtmp, uint32_t pj, int8_t* d, size_t qstride,
                                          uint32_t NR) {
  __m512i lo = _mm512_setzero_si512(), hi = _mm512_setzero_si512();
  for (uint32_t cg = 0; cg < g.rq; cg++)
    for (uint32_t q = 0; q < 16; q++)
      for (uint32_t jj = 0; jj < NR; jj += 16) {
        __m512i dg[3][4];
        for (uint32_t e = 0; e < 4; e++) {
          const uint32_t c = cg * 64 + q * 4 + e;
          const __m512i v = c < g.r ? _mm512_loadu_si512((const void*)(qtmp + (size_t)c * g.npad + pj * NR + jj))
                                    : _mm512_setzero_si512();
          lo = _mm512_min_epi32(lo, v);
          hi = _mm512_max_epi32(hi, v);
          digits3_512(v, &dg[0][e], &dg[1][e], &dg[2][e]);
        }
        for (uint32_t x = 0; x < 3; x++)
          _mm512_storeu_si512((void*)(d + x * qstride + (((size_t)cg * 16 + q) * NR + jj) * 4),
                              bytes4_512(dg[x][0], dg[x][1], dg[x][2], dg[x][3]));
      }
  return LayQ8::digits_needed(_mm512_reduce_min_epi32(lo), _mm512_reduce_max_epi32(hi));
}

// Recovery operands of one row block from P (row-major, ldp int32 per row): P digits
// [ip][d][rank group][32][64] and E_L [ip][rank group][32][64], as A tiles. Returns the
// digits P needs.
PL_TARGET_VNNI_NOVBMI uint32_t pack_p_rows_amx(const Geo& g, const int32_t* pb, size_t ldp, uint32_t apanels,
                                               uint32_t rows, const int8_t* el, int8_t* ppk, int8_t* epk) {
  constexpr uint32_t MR = 32;
  const size_t pstride = (size_t)g.rq * MR * 64;
  __m512i lo = _mm512_setzero_si512(), hi = _mm512_setzero_si512();
  for (uint32_t ip = 0; ip < apanels; ip++)
    for (uint32_t i = 0; i < MR; i++) {
      const uint32_t row = ip * MR + i;
      const bool valid = row < rows;
      for (uint32_t cq = 0; cq < g.rq; cq++) {
        const size_t at = ((size_t)cq * MR + i) * 64;
        for (uint32_t x = 0; x < 4; x++) {
          const uint32_t c = cq * 64 + 16 * x;
          const uint32_t nv = c < g.r && valid ? min_u32(16, g.r - c) : 0;
          const __mmask16 mk = nv >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nv) - 1);
          const __m512i v = _mm512_maskz_loadu_epi32(mk, pb + (size_t)row * ldp + c);
          lo = _mm512_min_epi32(lo, v);
          hi = _mm512_max_epi32(hi, v);
          __m512i d0, d1, d2;
          digits3_512(v, &d0, &d1, &d2);
          int8_t* o = ppk + (size_t)ip * 3 * pstride + at + 16 * x;
          _mm_storeu_si128((__m128i*)o, _mm512_cvtepi32_epi8(d0));
          _mm_storeu_si128((__m128i*)(o + pstride), _mm512_cvtepi32_epi8(d1));
          _mm_storeu_si128((__m128i*)(o + 2 * pstride), _mm512_cvtepi32_epi8(d2));
        }
        const uint32_t c = cq * 64;
        const uint32_t nv = c < g.r && valid ? min_u32(64, g.r - c) : 0;
        const __mmask64 mk = nv >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << nv) - 1);
        _mm512_storeu_si512((void*)(epk + (size_t)ip * pstride + at),
                            _mm512_maskz_loadu_epi8(mk, el + (size_t)row * g.r + c));
      }
    }
  return LayQ8::digits_needed(_mm512_reduce_min_epi32(lo), _mm512_reduce_max_epi32(hi));
}

struct PathAmx : LayAmx {
  static constexpr uint32_t MR = 32, NV = 2, L = 16, NR = 32;
  static bool wants_elt(const Geo&) { return false; }
  static constexpr uint32_t kRowQuantum = 16;
  static constexpr bool kPviaGemm = true;  // P = A' F_L by the tile product
  static constexpr uint32_t kRowsTarget = 128, kDepthTarget = 1024;

  PL_TARGET_VNNI_NOVBMI static void begin() {
    TileConfig c;
    __builtin_memset(&c, 0, sizeof c);
    c.palette = 1;
    for (int t = 0; t < 8; t++) c.colsb[t] = 64, c.rows[t] = 16;
    __asm__ volatile("ldtilecfg %0" ::"m"(c) : "memory");
  }
  static void end() { __asm__ volatile("tilerelease" ::: "memory"); }

  static bool pack_a(const Geo& g, const int8_t* A, uint32_t R, uint32_t rows, const ANoise& nz, uint32_t s0,
                     uint32_t s1, AT* dst) {
    if (!nz.el) return pack_a_amx_plain(g, A, R, rows, s0, s1, dst);
    if (g.r <= 128 && has_vbmi_cached()) return pack_a_amx_vbmi(g, A, R, rows, nz, s0, s1, dst);
    return pack_a_generic<PathAmx>(g, A, R, rows, nz, s0, s1, dst);
  }
  // 64 rows of B + F: sixteen groups of 4 rows in the VNNI interleave.
  static bool prep_group(const Geo& g, const int8_t* B, const int8_t* frt, uint32_t t, uint32_t vr,
                         const uint16_t* flp, const uint16_t* flq, uint32_t c0, uint32_t c1, size_t grow, size_t,
                         BT* bp) {
    bool ok = true;
    for (uint32_t q = 0; q < 16 && 4 * q < vr; q++)
      if (!prep_group_vnni(g, B, frt, t + 4 * q, min_u32(4, vr - 4 * q), flp + 4 * q, flq + 4 * q, c0, c1,
                           grow * 16 + q, 0, bp, NR, g.b_rows * NR * 64, false))
        ok = false;
    return ok;
  }
  static uint32_t pack_p_rows(const Geo& g, const int32_t* pb, size_t ldp, uint32_t apanels, uint32_t rows,
                              const int8_t* el, RPT* ppk, RET* epk) {
    return pack_p_rows_amx(g, pb, ldp, apanels, rows, el, ppk, epk);
  }
  static void pack_fr(const Geo& g, const int8_t* frt, uint32_t pj, RFT* d) { pack_fr_amx(g, frt, pj, d, NR); }
  static void q_update(int32_t* qa, int32_t* qb, const int8_t* brow, uint32_t c0, uint32_t c1) {
    q_update_vnni(qa, qb, brow, c0, c1);
  }
  static uint32_t pack_q(const Geo& g, const int32_t* qtmp, uint32_t pj, RQT* d, size_t qstride) {
    return pack_q_amx(g, qtmp, pj, d, qstride, NR);
  }

  PL_TARGET_VNNI_NOVBMI PL_KERNEL static void kernel(const KArgs* ka) {
    if (ka->gen)
      kernel_t<true>(ka);
    else
      kernel_t<false>(ka);
  }

  template <bool kGen>
  PL_TARGET_VNNI_NOVBMI PL_KERNEL static void kernel_t(const KArgs* ka) {
    const int8_t* ap = (const int8_t*)ka->ap;
    const int8_t* bp = (const int8_t*)ka->bp;
    int32_t* c = ka->c;
    const long ldcb = (long)ka->ldc * 4;
    if (ka->load_c) {
      PL_TILE_LOAD(0, c, ldcb);
      PL_TILE_LOAD(1, c + 16, ldcb);
      PL_TILE_LOAD(2, c + 16 * ka->ldc, ldcb);
      PL_TILE_LOAD(3, c + 16 * ka->ldc + 16, ldcb);
    } else {
      PL_TILE_ZERO(0);
      PL_TILE_ZERO(1);
      PL_TILE_ZERO(2);
      PL_TILE_ZERO(3);
    }
    alignas(64) int32_t buf[kGen ? 32 * 32 : 4 * 256];
    const uint32_t nseg = ka->nseg;
    for (uint32_t s = 0; s < nseg; s++) {
      const uint32_t groups = s + 1 == nseg ? ka->last_groups : ka->gps;
      for (uint32_t q = 0; q < groups; q++) {
        PL_TILE_LOAD(4, ap, 64);
        PL_TILE_LOAD(6, bp, 128);
        PL_TILE_LOAD(5, ap + 1024, 64);
        PL_TILE_LOAD(7, bp + 64, 128);
        PL_TILE_DP(0, 4, 6);
        PL_TILE_DP(1, 4, 7);
        PL_TILE_DP(2, 5, 6);
        PL_TILE_DP(3, 5, 7);
        ap += 2048;
        bp += 2048;
      }
      if (s < ka->nfold) {
        if (!kGen) {
          PL_TILE_STORE(0, buf, 64);
          PL_TILE_STORE(1, buf + 256, 64);
          PL_TILE_STORE(2, buf + 512, 64);
          PL_TILE_STORE(3, buf + 768, 64);
          xor_into(ka->xp[0] + 16 * s, xor_rows16(buf));
          xor_into(ka->xp[1] + 16 * s, xor_rows16(buf + 256));
          xor_into(ka->xp[2] + 16 * s, xor_rows16(buf + 512));
          xor_into(ka->xp[3] + 16 * s, xor_rows16(buf + 768));
        } else {
          PL_TILE_STORE(0, buf, 128);
          PL_TILE_STORE(1, buf + 16, 128);
          PL_TILE_STORE(2, buf + 512, 128);
          PL_TILE_STORE(3, buf + 528, 128);
          fold_generic(ka->gen, buf, MR, NR, ka->row0, ka->col0, s);
        }
      }
    }
    PL_TILE_STORE(0, c, ldcb);
    PL_TILE_STORE(1, c + 16, ldcb);
    PL_TILE_STORE(2, c + 16 * ka->ldc, ldcb);
    PL_TILE_STORE(3, c + 16 * ka->ldc + 16, ldcb);
  }

  PL_TARGET_VNNI_NOVBMI PL_KERNEL static void rec_kernel(const RArgs* ra) {
    alignas(64) int32_t acc[32 * 32], tmp[32 * 32];
    for (uint32_t d = ra->D; d-- > 0;) {
      PL_TILE_ZERO(0);
      PL_TILE_ZERO(1);
      PL_TILE_ZERO(2);
      PL_TILE_ZERO(3);
      const int8_t* pp = (const int8_t*)ra->pp + d * ra->pstride;
      const int8_t* fp = (const int8_t*)ra->fp;
      const int8_t* ep = (const int8_t*)ra->ep;
      const int8_t* qp = (const int8_t*)ra->qp + d * ra->qstride;
      for (uint32_t q = 0; q < ra->rq; q++) {  // P digit x F_R, then E_L x Q digit
        PL_TILE_LOAD(4, pp, 64);
        PL_TILE_LOAD(6, fp, 128);
        PL_TILE_LOAD(5, pp + 1024, 64);
        PL_TILE_LOAD(7, fp + 64, 128);
        PL_TILE_DP(0, 4, 6);
        PL_TILE_DP(1, 4, 7);
        PL_TILE_DP(2, 5, 6);
        PL_TILE_DP(3, 5, 7);
        PL_TILE_LOAD(4, ep, 64);
        PL_TILE_LOAD(6, qp, 128);
        PL_TILE_LOAD(5, ep + 1024, 64);
        PL_TILE_LOAD(7, qp + 64, 128);
        PL_TILE_DP(0, 4, 6);
        PL_TILE_DP(1, 4, 7);
        PL_TILE_DP(2, 5, 6);
        PL_TILE_DP(3, 5, 7);
        pp += 2048, fp += 2048, ep += 2048, qp += 2048;
      }
      PL_TILE_STORE(0, tmp, 128);
      PL_TILE_STORE(1, tmp + 16, 128);
      PL_TILE_STORE(2, tmp + 512, 128);
      PL_TILE_STORE(3, tmp + 528, 128);
      const bool first = d + 1 == ra->D;
      for (uint32_t x = 0; x < 32 * 32; x += 16) {
        const __m512i t = _mm512_load_si512((const void*)(tmp + x));
        const __m512i a = first ? t : _mm512_add_epi32(_mm512_slli_epi32(_mm512_load_si512((const void*)(acc + x)), 8), t);
        _mm512_store_si512((void*)(acc + x), a);
      }
    }
    if (ra->D == 0) __builtin_memset(acc, 0, sizeof acc);
    for (uint32_t i = 0; i < ra->rows; i++)
      for (uint32_t v = 0; v < 2; v++) {
        if (16 * v >= ra->cols) break;
        const uint32_t left = ra->cols - 16 * v;
        const __mmask16 mk = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
        const __m512i cv = _mm512_loadu_si512((const void*)(ra->c + i * ra->ldc + 16 * v));
        const __m512i t = _mm512_load_si512((const void*)(acc + i * 32 + 16 * v));
        _mm512_mask_storeu_epi32((void*)(ra->out + i * ra->ldo + 16 * v), mk, _mm512_sub_epi32(cv, t));
      }
  }
};

// A + E in the int16 layout ([pair][4 rows][2]) for two 4-row panels (8 rows) at a time:
// the A bytes of a pair are gathered per row (2 bytes), E for 8 rows is two 8-byte loads
// from the transposed E_L, then everything is widened to int16.
PL_TARGET_AVX2 bool pack_a_w16_sse(const Geo& g, const int8_t* A, uint32_t R, uint32_t rows, const ANoise& nz,
                                   uint32_t s0, uint32_t s1, int16_t* dst) {
  constexpr uint32_t MR = 4;
  const size_t stride = (size_t)(s1 - s0) * g.gps * MR * 2;
  const uint32_t panels = g.MCpad / MR;
  const __m128i k64 = _mm_set1_epi8(64), k129 = _mm_set1_epi8((char)129);
  __m128i bad = _mm_setzero_si128();
  for (uint32_t ip = 0; ip < panels; ip += 2) {
    const bool two = ip + 1 < panels;
    const int8_t* arow[8];
    for (uint32_t i = 0; i < 8; i++) {
      const uint32_t row = ip * MR + i;
      arow[i] = row < rows ? A + (size_t)(R + row) * g.k : nullptr;
    }
    for (uint32_t s = s0; s < s1; s++) {
      const uint32_t t0 = s * g.r, len = g.seg_len(s), groups = g.seg_groups(s);
      int16_t* d0 = dst + ip * stride + (size_t)(s - s0) * g.gps * MR * 2;
      int16_t* d1 = d0 + stride;
      for (uint32_t gi = 0; gi < groups; gi++) {
        const uint32_t t = t0 + 2 * gi;
        const bool has1 = 2 * gi + 1 < len;
        uint32_t av[8];
        for (uint32_t i = 0; i < 8; i++) {
          uint32_t x = 0;
          if (arow[i]) x = has1 ? (uint32_t)(uint16_t)(arow[i][t] & 0xff) | (uint32_t)(uint8_t)arow[i][t + 1] << 8
                                : (uint32_t)(uint8_t)arow[i][t];
          av[i] = x;
        }
        __m128i a = _mm_setr_epi16((short)av[0], (short)av[1], (short)av[2], (short)av[3], (short)av[4],
                                   (short)av[5], (short)av[6], (short)av[7]);
        {  // a + 64 >= 129 as unsigned bytes: outside [-64, 64]
          const __m128i x = _mm_add_epi8(a, k64);
          bad = _mm_or_si128(bad, _mm_cmpeq_epi8(_mm_max_epu8(x, k129), x));
        }
        if (nz.el) {
          const int8_t* base = nz.elt + ip * MR;
          const __m128i n0 = _mm_sub_epi8(_mm_loadl_epi64((const __m128i*)(base + (size_t)nz.erp[t] * g.MCpad)),
                                          _mm_loadl_epi64((const __m128i*)(base + (size_t)nz.erq[t] * g.MCpad)));
          __m128i n1 = _mm_setzero_si128();
          if (has1)
            n1 = _mm_sub_epi8(_mm_loadl_epi64((const __m128i*)(base + (size_t)nz.erp[t + 1] * g.MCpad)),
                              _mm_loadl_epi64((const __m128i*)(base + (size_t)nz.erq[t + 1] * g.MCpad)));
          a = _mm_add_epi8(a, _mm_unpacklo_epi8(n0, n1));
        }
        _mm_storeu_si128((__m128i*)(d0 + (size_t)gi * 8), _mm_cvtepi8_epi16(a));
        if (two) _mm_storeu_si128((__m128i*)(d1 + (size_t)gi * 8), _mm_cvtepi8_epi16(_mm_srli_si128(a, 8)));
      }
    }
  }
  return g.plain || _mm_movemask_epi8(bad) == 0;
}

// B + F for one pair of rows in the int16 layout ([pair][NR][2]), 8 columns at a time.
PL_TARGET_AVX2 bool prep_group_w16_sse(const Geo& g, const int8_t* B, const int8_t* frt, uint32_t t, uint32_t vr,
                                       const uint16_t* flp, const uint16_t* flq, uint32_t c0, uint32_t c1,
                                       size_t grow, int16_t* bp, uint32_t NR) {
  const size_t panel = g.b_rows * NR * 2;
  const __m128i k64 = _mm_set1_epi8(64), k129 = _mm_set1_epi8((char)129);
  const int8_t* b0 = B + (size_t)t * g.n;
  const int8_t* b1 = vr > 1 ? b0 + g.n : nullptr;
  const int8_t *f0c = nullptr, *f0d = nullptr, *f1c = nullptr, *f1d = nullptr;
  if (frt) {
    f0c = frt + (size_t)flp[0] * g.npad, f0d = frt + (size_t)flq[0] * g.npad;
    if (b1) f1c = frt + (size_t)flp[1] * g.npad, f1d = frt + (size_t)flq[1] * g.npad;
  }
  __m128i bad = _mm_setzero_si128();
  uint32_t j = c0;
  for (; j + 8 <= c1; j += 8) {
    __m128i x0 = _mm_loadl_epi64((const __m128i*)(b0 + j));
    __m128i x1 = b1 ? _mm_loadl_epi64((const __m128i*)(b1 + j)) : _mm_setzero_si128();
    const __m128i x = _mm_add_epi8(_mm_unpacklo_epi64(x0, x1), k64);
    bad = _mm_or_si128(bad, _mm_cmpeq_epi8(_mm_max_epu8(x, k129), x));
    if (frt) {
      x0 = _mm_add_epi8(x0, _mm_sub_epi8(_mm_loadl_epi64((const __m128i*)(f0c + j)), _mm_loadl_epi64((const __m128i*)(f0d + j))));
      if (b1)
        x1 = _mm_add_epi8(x1, _mm_sub_epi8(_mm_loadl_epi64((const __m128i*)(f1c + j)), _mm_loadl_epi64((const __m128i*)(f1d + j))));
    }
    const __m128i il = _mm_unpacklo_epi8(x0, x1);  // [col][2] bytes, 8 columns
    int16_t* d = bp + (size_t)(j / NR) * panel + grow * NR * 2 + (size_t)(j % NR) * 2;
    _mm_storeu_si128((__m128i*)d, _mm_cvtepi8_epi16(il));
    _mm_storeu_si128((__m128i*)(d + 8), _mm_cvtepi8_epi16(_mm_srli_si128(il, 8)));
  }
  bool ok = _mm_movemask_epi8(bad) == 0;
  for (; j < c1; j++) {
    int v0 = b0[j], v1 = b1 ? b1[j] : 0;
    if (v0 < -64 || v0 > 64 || v1 < -64 || v1 > 64) ok = false;
    if (frt) {
      v0 += f0c[j] - f0d[j];
      if (b1) v1 += f1c[j] - f1d[j];
    }
    int16_t* d = bp + (size_t)(j / NR) * panel + grow * NR * 2 + (size_t)(j % NR) * 2;
    d[0] = (int16_t)v0, d[1] = (int16_t)v1;
  }
  return frt == nullptr || ok;
}

// ---------------------------------------------------------------------------
// avx2: W16 layout, MR 4 x NR 16, vpmaddwd + vpaddd

struct PathAvx2 : LayW16 {
  static constexpr uint32_t MR = 4, NV = 2, L = 8, NR = 16;

  static bool wants_elt(const Geo&) { return true; }
  static constexpr uint32_t kRowQuantum = MR;
  static constexpr bool kPviaGemm = false;
  static constexpr uint32_t kRowsTarget = kRowsDefault, kDepthTarget = kDepthDefault;
  static void begin() {}
  static void end() {}
  static bool pack_a(const Geo& g, const int8_t* A, uint32_t R, uint32_t rows, const ANoise& nz, uint32_t s0,
                     uint32_t s1, AT* dst) {
    return pack_a_w16_sse(g, A, R, rows, nz, s0, s1, dst);
  }
  static bool prep_group(const Geo& g, const int8_t* B, const int8_t* frt, uint32_t t, uint32_t vr,
                         const uint16_t* flp, const uint16_t* flq, uint32_t c0, uint32_t c1, size_t grow,
                         size_t corr_grow, BT* bp) {
    (void)corr_grow;
    return prep_group_w16_sse(g, B, frt, t, vr, flp, flq, c0, c1, grow, bp, NR);
  }
  static void scatter_p(const Geo& g, const AT* ablk, uint32_t rows, uint32_t s0, uint32_t s1,
                        const uint16_t* flp, const uint16_t* flq, int32_t* pt) {
    scatter_p_generic<PathAvx2>(g, ablk, rows, s0, s1, flp, flq, pt);
  }
  static void pack_p(const Geo& g, const int32_t* pt, uint32_t apanels, uint32_t rows, const int8_t* el, RPT* ppk,
                     RET* epk) {
    pack_p_generic<PathAvx2>(g, pt, apanels, rows, el, ppk, epk);
  }
  static void pack_fr(const Geo& g, const int8_t* frt, uint32_t pj, RFT* d) { pack_fr_generic<PathAvx2>(g, frt, pj, d); }
  static void q_update(int32_t* qa, int32_t* qb, const int8_t* brow, uint32_t c0, uint32_t c1) {
    q_update_generic(qa, qb, brow, c0, c1);
  }
  static uint32_t pack_q(const Geo& g, const int32_t* qtmp, uint32_t pj, RQT* d, size_t qstride) {
    return pack_q_generic<PathAvx2>(g, qtmp, pj, d, qstride);
  }

  PL_TARGET_AVX2 PL_KERNEL static void kernel(const KArgs* ka) {
    if (ka->gen)
      kernel_t<true>(ka);
    else
      kernel_t<false>(ka);
  }

  template <bool kGen>
  PL_TARGET_AVX2 PL_KERNEL static void kernel_t(const KArgs* ka) {
    const int16_t* ap = (const int16_t*)ka->ap;
    const int16_t* bp = (const int16_t*)ka->bp;
    int32_t* c = ka->c;
    const size_t ldc = ka->ldc;
    __m256i acc[MR][NV];
    PL_UNROLL
    for (uint32_t i = 0; i < MR; i++)
      PL_UNROLL
      for (uint32_t v = 0; v < NV; v++)
        acc[i][v] = ka->load_c ? _mm256_loadu_si256((const __m256i*)(c + i * ldc + 8 * v)) : _mm256_setzero_si256();
    const uint32_t nseg = ka->nseg;
    for (uint32_t s = 0; s < nseg; s++) {
      const uint32_t groups = s + 1 == nseg ? ka->last_groups : ka->gps;
      for (uint32_t q = 0; q < groups; q++) {
        __m256i b[NV];
        PL_UNROLL
        for (uint32_t v = 0; v < NV; v++) b[v] = _mm256_load_si256((const __m256i*)(bp + 16 * v));
        PL_UNROLL
        for (uint32_t i = 0; i < MR; i++) {
          const __m256i a = _mm256_set1_epi32((int32_t)load_u32(ap + 2 * i));
          PL_UNROLL
          for (uint32_t v = 0; v < NV; v++) acc[i][v] = _mm256_add_epi32(acc[i][v], _mm256_madd_epi16(a, b[v]));
        }
        ap += MR * 2;
        bp += NR * 2;
      }
      if (s < ka->nfold) {
        if (!kGen) {
          PL_UNROLL
          for (uint32_t v = 0; v < NV; v++) {
            __m256i x = acc[0][v];
            PL_UNROLL
            for (uint32_t i = 1; i < MR; i++) x = _mm256_xor_si256(x, acc[i][v]);
            uint32_t* X = ka->xp[v] + 16 * s;
            _mm256_storeu_si256((__m256i*)X, _mm256_xor_si256(_mm256_loadu_si256((const __m256i*)X), x));
          }
        } else {
          alignas(32) int32_t tile[MR * NR];
          PL_UNROLL
          for (uint32_t i = 0; i < MR; i++)
            PL_UNROLL
            for (uint32_t v = 0; v < NV; v++) _mm256_store_si256((__m256i*)(tile + i * NR + 8 * v), acc[i][v]);
          fold_generic(ka->gen, tile, MR, NR, ka->row0, ka->col0, s);
        }
      }
    }
    PL_UNROLL
    for (uint32_t i = 0; i < MR; i++)
      PL_UNROLL
      for (uint32_t v = 0; v < NV; v++) _mm256_storeu_si256((__m256i*)(c + i * ldc + 8 * v), acc[i][v]);
  }

  PL_TARGET_AVX2 PL_KERNEL static void rec_kernel(const RArgs* ra) {
    __m256i acc[MR][NV];
    PL_UNROLL
    for (uint32_t i = 0; i < MR; i++)
      PL_UNROLL
      for (uint32_t v = 0; v < NV; v++) acc[i][v] = _mm256_setzero_si256();
    for (uint32_t d = ra->D; d-- > 0;) {
      PL_UNROLL
      for (uint32_t i = 0; i < MR; i++)
        PL_UNROLL
        for (uint32_t v = 0; v < NV; v++) acc[i][v] = _mm256_slli_epi32(acc[i][v], 16);
      const int16_t* pp = (const int16_t*)ra->pp + d * ra->pstride;
      const int16_t* fp = (const int16_t*)ra->fp;
      const int16_t* ep = (const int16_t*)ra->ep;
      const int16_t* qp = (const int16_t*)ra->qp + d * ra->qstride;
      for (uint32_t q = 0; q < ra->rq; q++) {
        __m256i bf[NV], bq[NV];
        PL_UNROLL
        for (uint32_t v = 0; v < NV; v++) {
          bf[v] = _mm256_load_si256((const __m256i*)(fp + 16 * v));
          bq[v] = _mm256_load_si256((const __m256i*)(qp + 16 * v));
        }
        PL_UNROLL
        for (uint32_t i = 0; i < MR; i++) {
          const __m256i a = _mm256_set1_epi32((int32_t)load_u32(pp + 2 * i));
          const __m256i e = _mm256_set1_epi32((int32_t)load_u32(ep + 2 * i));
          PL_UNROLL
          for (uint32_t v = 0; v < NV; v++)
            acc[i][v] = _mm256_add_epi32(acc[i][v], _mm256_add_epi32(_mm256_madd_epi16(a, bf[v]), _mm256_madd_epi16(e, bq[v])));
        }
        pp += MR * 2;
        ep += MR * 2;
        fp += NR * 2;
        qp += NR * 2;
      }
    }
    alignas(32) int32_t tile[MR * NR];
    PL_UNROLL
    for (uint32_t i = 0; i < MR; i++)
      PL_UNROLL
      for (uint32_t v = 0; v < NV; v++) _mm256_store_si256((__m256i*)(tile + i * NR + 8 * v), acc[i][v]);
    for (uint32_t i = 0; i < ra->rows; i++)
      for (uint32_t j = 0; j < ra->cols; j++)
        ra->out[i * ra->ldo + j] = (int32_t)((uint32_t)ra->c[i * ra->ldc + j] - (uint32_t)tile[i * NR + j]);
  }
};
#endif  // PL_X86

#if PL_SIMD128
// B + F for one pair of rows in the int16 layout, 8 columns at a time (see prep_group_w16_sse).
bool prep_group_w16_simd128(const Geo& g, const int8_t* B, const int8_t* frt, uint32_t t, uint32_t vr,
                            const uint16_t* flp, const uint16_t* flq, uint32_t c0, uint32_t c1, size_t grow,
                            int16_t* bp, uint32_t NR) {
  const size_t panel = g.b_rows * NR * 2;
  const v128_t k64 = wasm_i8x16_splat(64), k128 = wasm_u8x16_splat(128);
  const int8_t* b0 = B + (size_t)t * g.n;
  const int8_t* b1 = vr > 1 ? b0 + g.n : nullptr;
  const int8_t *f0c = nullptr, *f0d = nullptr, *f1c = nullptr, *f1d = nullptr;
  if (frt) {
    f0c = frt + (size_t)flp[0] * g.npad, f0d = frt + (size_t)flq[0] * g.npad;
    if (b1) f1c = frt + (size_t)flp[1] * g.npad, f1d = frt + (size_t)flq[1] * g.npad;
  }
  v128_t bad = wasm_i32x4_const_splat(0);
  uint32_t j = c0;
  for (; j + 8 <= c1; j += 8) {
    v128_t x0 = wasm_v128_load64_zero(b0 + j);
    v128_t x1 = b1 ? wasm_v128_load64_zero(b1 + j) : wasm_i32x4_const_splat(0);
    bad = wasm_v128_or(bad, wasm_u8x16_gt(wasm_i8x16_add(wasm_i64x2_shuffle(x0, x1, 0, 2), k64), k128));
    if (frt) {
      x0 = wasm_i8x16_add(x0, wasm_i8x16_sub(wasm_v128_load64_zero(f0c + j), wasm_v128_load64_zero(f0d + j)));
      if (b1) x1 = wasm_i8x16_add(x1, wasm_i8x16_sub(wasm_v128_load64_zero(f1c + j), wasm_v128_load64_zero(f1d + j)));
    }
    const v128_t il = wasm_i8x16_shuffle(x0, x1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    int16_t* d = bp + (size_t)(j / NR) * panel + grow * NR * 2 + (size_t)(j % NR) * 2;
    wasm_v128_store(d, wasm_i16x8_extend_low_i8x16(il));
    wasm_v128_store(d + 8, wasm_i16x8_extend_high_i8x16(il));
  }
  bool ok = !wasm_v128_any_true(bad);
  for (; j < c1; j++) {
    int v0 = b0[j], v1 = b1 ? b1[j] : 0;
    if (v0 < -64 || v0 > 64 || v1 < -64 || v1 > 64) ok = false;
    if (frt) {
      v0 += f0c[j] - f0d[j];
      if (b1) v1 += f1c[j] - f1d[j];
    }
    int16_t* d = bp + (size_t)(j / NR) * panel + grow * NR * 2 + (size_t)(j % NR) * 2;
    d[0] = (int16_t)v0, d[1] = (int16_t)v1;
  }
  return frt == nullptr || ok;
}

// A + E in the int16 layout for two 4-row panels at a time (see pack_a_w16_sse).
bool pack_a_w16_simd128(const Geo& g, const int8_t* A, uint32_t R, uint32_t rows, const ANoise& nz, uint32_t s0,
                        uint32_t s1, int16_t* dst) {
  constexpr uint32_t MR = 4;
  const size_t stride = (size_t)(s1 - s0) * g.gps * MR * 2;
  const uint32_t panels = g.MCpad / MR;
  const v128_t k64 = wasm_i8x16_splat(64), k128 = wasm_u8x16_splat(128);
  v128_t bad = wasm_i32x4_const_splat(0);
  for (uint32_t ip = 0; ip < panels; ip += 2) {
    const bool two = ip + 1 < panels;
    const int8_t* arow[8];
    for (uint32_t i = 0; i < 8; i++) {
      const uint32_t row = ip * MR + i;
      arow[i] = row < rows ? A + (size_t)(R + row) * g.k : nullptr;
    }
    for (uint32_t s = s0; s < s1; s++) {
      const uint32_t t0 = s * g.r, len = g.seg_len(s), groups = g.seg_groups(s);
      int16_t* d0 = dst + ip * stride + (size_t)(s - s0) * g.gps * MR * 2;
      int16_t* d1 = d0 + stride;
      for (uint32_t gi = 0; gi < groups; gi++) {
        const uint32_t t = t0 + 2 * gi;
        const bool has1 = 2 * gi + 1 < len;
        uint16_t av[8];
        for (uint32_t i = 0; i < 8; i++) {
          uint16_t x = 0;
          if (arow[i]) x = (uint16_t)((uint8_t)arow[i][t] | (has1 ? (uint16_t)((uint8_t)arow[i][t + 1]) << 8 : 0));
          av[i] = x;
        }
        v128_t a = wasm_u16x8_make(av[0], av[1], av[2], av[3], av[4], av[5], av[6], av[7]);
        bad = wasm_v128_or(bad, wasm_u8x16_gt(wasm_i8x16_add(a, k64), k128));
        if (nz.el) {
          const int8_t* base = nz.elt + ip * MR;
          const v128_t n0 = wasm_i8x16_sub(wasm_v128_load64_zero(base + (size_t)nz.erp[t] * g.MCpad),
                                           wasm_v128_load64_zero(base + (size_t)nz.erq[t] * g.MCpad));
          v128_t n1 = wasm_i32x4_const_splat(0);
          if (has1)
            n1 = wasm_i8x16_sub(wasm_v128_load64_zero(base + (size_t)nz.erp[t + 1] * g.MCpad),
                                wasm_v128_load64_zero(base + (size_t)nz.erq[t + 1] * g.MCpad));
          a = wasm_i8x16_add(a, wasm_i8x16_shuffle(n0, n1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23));
        }
        wasm_v128_store(d0 + (size_t)gi * 8, wasm_i16x8_extend_low_i8x16(a));
        if (two) wasm_v128_store(d1 + (size_t)gi * 8, wasm_i16x8_extend_high_i8x16(a));
      }
    }
  }
  return g.plain || !wasm_v128_any_true(bad);
}
#endif

// ---------------------------------------------------------------------------
// simd128 (wasm32): W16 layout, MR 4 x NR 8, i32x4.dot_i16x8_s

#if PL_SIMD128
struct PathSimd128 : LayW16 {
  static constexpr uint32_t MR = 4, NV = 2, L = 4, NR = 8;

  static bool wants_elt(const Geo&) { return true; }
  static constexpr uint32_t kRowQuantum = MR;
  static constexpr bool kPviaGemm = false;
  static constexpr uint32_t kRowsTarget = kRowsDefault, kDepthTarget = kDepthDefault;
  static void begin() {}
  static void end() {}
  static bool pack_a(const Geo& g, const int8_t* A, uint32_t R, uint32_t rows, const ANoise& nz, uint32_t s0,
                     uint32_t s1, AT* dst) {
    return pack_a_w16_simd128(g, A, R, rows, nz, s0, s1, dst);
  }
  static bool prep_group(const Geo& g, const int8_t* B, const int8_t* frt, uint32_t t, uint32_t vr,
                         const uint16_t* flp, const uint16_t* flq, uint32_t c0, uint32_t c1, size_t grow,
                         size_t corr_grow, BT* bp) {
    (void)corr_grow;
    return prep_group_w16_simd128(g, B, frt, t, vr, flp, flq, c0, c1, grow, bp, NR);
  }
  static void scatter_p(const Geo& g, const AT* ablk, uint32_t rows, uint32_t s0, uint32_t s1,
                        const uint16_t* flp, const uint16_t* flq, int32_t* pt) {
    scatter_p_generic<PathSimd128>(g, ablk, rows, s0, s1, flp, flq, pt);
  }
  static void pack_p(const Geo& g, const int32_t* pt, uint32_t apanels, uint32_t rows, const int8_t* el, RPT* ppk,
                     RET* epk) {
    pack_p_generic<PathSimd128>(g, pt, apanels, rows, el, ppk, epk);
  }
  static void pack_fr(const Geo& g, const int8_t* frt, uint32_t pj, RFT* d) { pack_fr_generic<PathSimd128>(g, frt, pj, d); }
  static void q_update(int32_t* qa, int32_t* qb, const int8_t* brow, uint32_t c0, uint32_t c1) {
    q_update_generic(qa, qb, brow, c0, c1);
  }
  static uint32_t pack_q(const Geo& g, const int32_t* qtmp, uint32_t pj, RQT* d, size_t qstride) {
    return pack_q_generic<PathSimd128>(g, qtmp, pj, d, qstride);
  }

  PL_KERNEL static void kernel(const KArgs* ka) {
    if (ka->gen)
      kernel_t<true>(ka);
    else
      kernel_t<false>(ka);
  }

  template <bool kGen>
  PL_KERNEL static void kernel_t(const KArgs* ka) {
    const int16_t* ap = (const int16_t*)ka->ap;
    const int16_t* bp = (const int16_t*)ka->bp;
    int32_t* c = ka->c;
    const size_t ldc = ka->ldc;
    v128_t acc[MR][NV];
    PL_UNROLL
    for (uint32_t i = 0; i < MR; i++)
      PL_UNROLL
      for (uint32_t v = 0; v < NV; v++)
        acc[i][v] = ka->load_c ? wasm_v128_load(c + i * ldc + 4 * v) : wasm_i32x4_const_splat(0);
    const uint32_t nseg = ka->nseg;
    for (uint32_t s = 0; s < nseg; s++) {
      const uint32_t groups = s + 1 == nseg ? ka->last_groups : ka->gps;
      for (uint32_t q = 0; q < groups; q++) {
        v128_t b[NV];
        PL_UNROLL
        for (uint32_t v = 0; v < NV; v++) b[v] = wasm_v128_load(bp + 8 * v);
        PL_UNROLL
        for (uint32_t i = 0; i < MR; i++) {
          const v128_t a = wasm_v128_load32_splat(ap + 2 * i);
          PL_UNROLL
          for (uint32_t v = 0; v < NV; v++) acc[i][v] = wasm_i32x4_add(acc[i][v], wasm_i32x4_dot_i16x8(a, b[v]));
        }
        ap += MR * 2;
        bp += NR * 2;
      }
      if (s < ka->nfold) {
        if (!kGen) {
          PL_UNROLL
          for (uint32_t v = 0; v < NV; v++) {
            v128_t x = acc[0][v];
            PL_UNROLL
            for (uint32_t i = 1; i < MR; i++) x = wasm_v128_xor(x, acc[i][v]);
            uint32_t* X = ka->xp[v] + 16 * s;
            wasm_v128_store(X, wasm_v128_xor(wasm_v128_load(X), x));
          }
        } else {
          int32_t tile[MR * NR];
          PL_UNROLL
          for (uint32_t i = 0; i < MR; i++)
            PL_UNROLL
            for (uint32_t v = 0; v < NV; v++) wasm_v128_store(tile + i * NR + 4 * v, acc[i][v]);
          fold_generic(ka->gen, tile, MR, NR, ka->row0, ka->col0, s);
        }
      }
    }
    PL_UNROLL
    for (uint32_t i = 0; i < MR; i++)
      PL_UNROLL
      for (uint32_t v = 0; v < NV; v++) wasm_v128_store(c + i * ldc + 4 * v, acc[i][v]);
  }

  PL_KERNEL static void rec_kernel(const RArgs* ra) {
    v128_t acc[MR][NV];
    PL_UNROLL
    for (uint32_t i = 0; i < MR; i++)
      PL_UNROLL
      for (uint32_t v = 0; v < NV; v++) acc[i][v] = wasm_i32x4_const_splat(0);
    for (uint32_t d = ra->D; d-- > 0;) {
      PL_UNROLL
      for (uint32_t i = 0; i < MR; i++)
        PL_UNROLL
        for (uint32_t v = 0; v < NV; v++) acc[i][v] = wasm_i32x4_shl(acc[i][v], 16);
      const int16_t* pp = (const int16_t*)ra->pp + d * ra->pstride;
      const int16_t* fp = (const int16_t*)ra->fp;
      const int16_t* ep = (const int16_t*)ra->ep;
      const int16_t* qp = (const int16_t*)ra->qp + d * ra->qstride;
      for (uint32_t q = 0; q < ra->rq; q++) {
        v128_t bf[NV], bq[NV];
        PL_UNROLL
        for (uint32_t v = 0; v < NV; v++) bf[v] = wasm_v128_load(fp + 8 * v), bq[v] = wasm_v128_load(qp + 8 * v);
        PL_UNROLL
        for (uint32_t i = 0; i < MR; i++) {
          const v128_t a = wasm_v128_load32_splat(pp + 2 * i);
          const v128_t e = wasm_v128_load32_splat(ep + 2 * i);
          PL_UNROLL
          for (uint32_t v = 0; v < NV; v++)
            acc[i][v] = wasm_i32x4_add(acc[i][v], wasm_i32x4_add(wasm_i32x4_dot_i16x8(a, bf[v]), wasm_i32x4_dot_i16x8(e, bq[v])));
        }
        pp += MR * 2;
        ep += MR * 2;
        fp += NR * 2;
        qp += NR * 2;
      }
    }
    int32_t tile[MR * NR];
    PL_UNROLL
    for (uint32_t i = 0; i < MR; i++)
      PL_UNROLL
      for (uint32_t v = 0; v < NV; v++) wasm_v128_store(tile + i * NR + 4 * v, acc[i][v]);
    for (uint32_t i = 0; i < ra->rows; i++)
      for (uint32_t j = 0; j < ra->cols; j++)
        ra->out[i * ra->ldo + j] = (int32_t)((uint32_t)ra->c[i * ra->ldc + j] - (uint32_t)tile[i * NR + j]);
  }
};
#endif  // PL_SIMD128


// ---------------------------------------------------------------------------
// Phase 1: shared preparation of panels [pj0, pj1) (part `part` of `parts`)

template <class P>
int prepare_impl(const Geo& g, const int8_t* B, const uint8_t* seedA, const uint8_t* seedB, bool with_product,
                 uint32_t part, uint32_t parts, void* shared, uint32_t impl_id) {
  SharedView<P> sv = shared_view<P>(g, shared);
  const uint32_t NR = P::NR, G = P::G;
  const size_t panel = g.b_rows * NR * G;
  const uint32_t pj0 = (uint32_t)((uint64_t)g.npanels * part / parts);
  const uint32_t pj1 = (uint32_t)((uint64_t)g.npanels * (part + 1) / parts);
  if (part == 0) {
    SharedHeader* h = sv.hdr;
    h->magic = kMagic;
    h->impl = impl_id;
    h->m = g.m, h->k = g.k, h->n = g.n, h->r = g.r, h->h = g.h, h->w = g.w;
    h->with_product = with_product ? 1 : 0;
    h->plain = g.plain ? 1 : 0;
  }
  if (with_product && !g.plain && P::kPviaGemm && part == 0) {  // F_L: +1 in column c_t, -1 in column d_t of row t
    __builtin_memset(sv.fl, 0, (size_t)g.nrp * panel * sizeof(typename P::BT));
    StreamKey kfl_p0;
    stream_init(kfl_p0, seedB, "FL", 2);
    uint16_t fp[256], fq[256];
    for (uint32_t t0 = 0; t0 < g.k; t0 += 256) {
      const uint32_t cnt = min_u32(256, g.k - t0);
      pairs_range(kfl_p0, g.r, t0, cnt, fp, fq);
      for (uint32_t x = 0; x < cnt; x++) {
        const uint32_t t = t0 + x, s = t / g.r, tl = t % g.r;
        const size_t qrow = ((size_t)s * g.seg_rows + tl / G) * (G / 4) + (tl % G) / 4;  // quad row
        for (int side = 0; side < 2; side++) {
          const uint32_t c = side ? fq[x] : fp[x];
          sv.fl[(size_t)(c / NR) * panel + qrow * NR * 4 + (size_t)(c % NR) * 4 + tl % 4] =
              (typename P::BT)(side ? -1 : 1);
        }
      }
    }
  }

  if (pj0 >= pj1) return POUW_LOTTERY_OK;
  const uint32_t c0 = pj0 * NR, c1 = min_u32(g.n, pj1 * NR), cpad1 = pj1 * NR;
  typename P::BT* bpart = sv.bp + (size_t)pj0 * panel;
  const uint32_t r = g.r;
  const bool rec = with_product && !g.plain;

  StreamKey kfl, ker;
  if (!g.plain) {
    stream_init(kfl, seedB, "FL", 2);
    stream_init(ker, seedA, "ER", 2);
    // F_R column j is stream bytes j*r .. j*r + r - 1; staged in this part's panel area
    // (it holds at least (c1 - c0) * k >= (c1 - c0) * r bytes) and transposed to rows.
    StreamKey kfr;
    stream_init(kfr, seedB, "FR", 2);
    int8_t* stage = (int8_t*)bpart;
    dense_range(kfr, (uint64_t)c0 * r, (uint64_t)(c1 - c0) * r, stage);
    for (uint32_t c = 0; c < r; c++) {
      int8_t* row = sv.frt + (size_t)c * g.npad;
      for (uint32_t j = c0; j < c1; j++) row[j] = stage[(size_t)(j - c0) * r + c];
      for (uint32_t j = c1; j < cpad1; j++) row[j] = 0;
    }
    if (rec) {
      for (uint32_t pj = pj0; pj < pj1; pj++) P::pack_fr(g, sv.frt, pj, sv.frp + (size_t)pj * g.rq * NR * G);
      for (uint32_t c = 0; c < r; c++) __builtin_memset(sv.qtmp + (size_t)c * g.npad + c0, 0, (size_t)(cpad1 - c0) * 4);
    }
  }
  __builtin_memset(bpart, 0, (size_t)(pj1 - pj0) * panel * sizeof(typename P::BT));

  // B + F, one group of G rows at a time.
  uint16_t flp[256], flq[256], erp[256], erq[256];
  uint32_t pw0 = 0, pwn = 0;  // pair window [pw0, pw0 + pwn)
  bool ok = true;
  for (uint32_t s = 0; s < g.nseg; s++) {
    const uint32_t t0 = s * r, len = g.seg_len(s), groups = g.seg_groups(s);
    const size_t srow = (size_t)s * g.seg_rows;
    for (uint32_t gi = 0; gi < groups; gi++) {
      const uint32_t t = t0 + gi * G;
      const uint32_t vr = min_u32(G, len - gi * G);
      if (!g.plain && t + vr > pw0 + pwn) {
        pw0 = t;
        pwn = min_u32(256, g.k - t);
        pairs_range(kfl, r, pw0, pwn, flp, flq);
        if (rec) pairs_range(ker, r, pw0, pwn, erp, erq);
      }
      const uint32_t off = t - pw0;
      if (!P::prep_group(g, B, g.plain ? nullptr : sv.frt, t, vr, flp + off, flq + off, c0, c1, srow + gi,
                         srow + groups, sv.bp))
        ok = false;
      if (rec) {
        for (uint32_t e = 0; e < vr; e++)
          P::q_update(sv.qtmp + (size_t)erp[off + e] * g.npad, sv.qtmp + (size_t)erq[off + e] * g.npad,
                      B + (size_t)(t + e) * g.n, c0, c1);
      }
    }
  }
  if (!ok) return POUW_LOTTERY_EENTRY;

  if (rec) {  // Q digits per panel
    const size_t rpanel = (size_t)g.rq * NR * G;
    const size_t qstride = (size_t)g.npanels * rpanel;
    for (uint32_t pj = pj0; pj < pj1; pj++)
      sv.dq[pj] = (uint8_t)P::pack_q(g, sv.qtmp, pj, sv.qp + (size_t)pj * rpanel, qstride);
  }
  return POUW_LOTTERY_OK;
}

// ---------------------------------------------------------------------------
// Phase 2: rows [R0, R1) (whole tile rows, or any rows for the plain GEMM)

struct RunOut {
  uint8_t* tickets;
  uint32_t* winners;
  uint32_t max_winners;
  uint32_t* n_winners;
  int32_t* product;
};

template <class P>
int run_rows_impl(const Geo& g, const int8_t* A, const uint8_t* seedA, const uint8_t* seedB, const uint8_t* thr,
                  const void* shared, uint32_t R0, uint32_t R1, const RunOut& o, void* scratch) {
  struct Scope {  // per-thread setup of the implementation (AMX tile configuration)
    Scope() { P::begin(); }
    ~Scope() { P::end(); }
  } scope;
  SharedView<P> sv = shared_view<P>(g, const_cast<void*>(shared));
  RowsView<P> rv = rows_view<P>(g, scratch);
  const uint32_t MR = P::MR, NR = P::NR, G = P::G, NV = P::NV, L = P::L;
  const uint32_t halves = MR / P::kRowQuantum;  // row groups of a block that may lie in different tile rows
  const bool plain = g.plain;
  const bool rec = o.product && !plain;
  const uint32_t r = g.r;
  const size_t panel = g.b_rows * NR * G;
  StreamKey kel;
  TicketKey tk;
  if (!plain) {
    StreamKey ker;
    stream_init(ker, seedA, "ER", 2);
    pairs_range(ker, r, 0, g.k, rv.erp, rv.erq);
    if (r <= 256) {
      for (uint32_t t = 0; t < g.k; t++) rv.erp8[t] = (uint8_t)rv.erp[t], rv.erq8[t] = (uint8_t)rv.erq[t];
      __builtin_memset(rv.erp8 + g.k, 0, 64);
      __builtin_memset(rv.erq8 + g.k, 0, 64);
    }
    if (rec) {
      StreamKey kfl;
      stream_init(kfl, seedB, "FL", 2);
      pairs_range(kfl, r, 0, g.k, rv.flp, rv.flq);
    }
    stream_init(kel, seedA, "EL", 2);
    ticket_init(tk);
  }
  uint32_t nwin = 0;
  const uint32_t nblocks = (g.nseg + g.S - 1) / g.S;
  for (uint32_t R = R0; R < R1; R += g.MC) {
    const uint32_t rows = min_u32(g.MC, R1 - R);
    const uint32_t tiles = plain ? 0 : (rows / g.h) * g.across;
    const uint32_t apanels = (rows + MR - 1) / MR;
    // The plain product accumulates straight into C when its rows and panels fit exactly.
    const bool direct = plain && g.n == g.npad && rows % MR == 0;
    int32_t* cbuf = direct ? o.product + (size_t)R * g.n : rv.cbuf;
    if (!plain) {
      dense_range(kel, (uint64_t)R * r, (uint64_t)rows * r, rv.el);
      if (P::wants_elt(g)) {
        for (uint32_t c = 0; c < r; c++) {
          int8_t* o = rv.elt + (size_t)c * g.MCpad;
          for (uint32_t i = 0; i < rows; i++) o[i] = rv.el[(size_t)i * r + c];
          for (uint32_t i = rows; i < g.MCpad; i++) o[i] = 0;
        }
      }
      __builtin_memset(rv.states, 0, (size_t)tiles * 64);
    }
    if (rec && !P::kPviaGemm) __builtin_memset(rv.pt, 0, (size_t)apanels * g.rq * G * MR * 4);
    ANoise nz;
    nz.el = plain ? nullptr : rv.el;
    nz.elt = rv.elt;
    nz.erp = rv.erp, nz.erq = rv.erq, nz.erp8 = rv.erp8, nz.erq8 = rv.erq8;
    FoldCtx fc;
    fc.h = g.h, fc.w = g.w, fc.n = g.n, fc.rows = rows, fc.across = g.across, fc.S = g.S, fc.X = rv.xs;
    for (uint32_t b = 0; b < nblocks; b++) {
      const uint32_t s0 = b * g.S, s1 = min_u32(g.nseg, s0 + g.S);
      const uint32_t nf = plain || s0 >= g.nfold ? 0 : min_u32(s1, g.nfold) - s0;
      if (!P::pack_a(g, A, R, rows, nz, s0, s1, rv.ablk))
        return POUW_LOTTERY_EENTRY;
      if (nf) __builtin_memset(rv.xs, 0, (size_t)tiles * g.S * 64);
      const size_t astride = (size_t)(s1 - s0) * g.gps * MR * G;
      KArgs ka;
      ka.ldc = g.npad;
      ka.nseg = s1 - s0;
      ka.gps = g.gps;
      ka.last_groups = g.seg_groups(s1 - 1);
      ka.nfold = nf;
      ka.load_c = b > 0;
      ka.gen = nullptr;
      for (uint32_t v = 0; v < kMaxNV; v++) ka.xp[v] = rv.sink;
      if (nf && !g.modeA) ka.gen = &fc;
      for (uint32_t pj = 0; pj < g.npanels; pj++) {
        ka.bp = sv.bp + pj * panel + (size_t)s0 * g.seg_rows * NR * G;
        ka.col0 = pj * NR;
        for (uint32_t ip = 0; ip < apanels; ip++) {
          ka.ap = rv.ablk + ip * astride;
          ka.c = cbuf + (size_t)ip * MR * g.npad + pj * NR;
          ka.row0 = ip * MR;
          if (nf && g.modeA) {
            for (uint32_t hh = 0; hh < halves; hh++) {
              const uint32_t row = ip * MR + hh * P::kRowQuantum;
              const uint32_t trow = (row / g.h) * g.across;
              for (uint32_t v = 0; v < NV; v++) {
                const uint32_t col = pj * NR + v * L;
                ka.xp[hh * NV + v] =
                    col < g.n && row < rows ? rv.xs + ((size_t)(trow + col / g.w) * g.S) * 16 + (col & 15) : rv.sink;
              }
            }
          }
          P::kernel(&ka);
        }
      }
      for (uint32_t t = 0; t < tiles && nf; t++) {
        uint32_t* st = rv.states + 16 * (size_t)t;
        for (uint32_t sl = 0; sl < nf; sl++) {
          const uint32_t* x = rv.xs + ((size_t)t * g.S + sl) * 16;
          const uint32_t s = s0 + sl;
          for (int i = 0; i < 16; i++) st[i] = rotl32(st[i] ^ x[i], 13);
          st[s & 15] += s + 1;
        }
      }
      if constexpr (!P::kPviaGemm) {
        if (rec) P::scatter_p(g, rv.ablk, rows, s0, s1, rv.flp, rv.flq, rv.pt);
      } else if (rec) {  // P (+)= A' F_L over this k-block, F_L as extra B panels
        KArgs kp = ka;
        kp.nfold = 0;
        kp.gen = nullptr;
        kp.ldc = (size_t)g.nrp * NR;
        for (uint32_t pf = 0; pf < g.nrp; pf++) {
          kp.bp = sv.fl + pf * panel + (size_t)s0 * g.seg_rows * NR * G;
          for (uint32_t ip = 0; ip < apanels; ip++) {
            kp.ap = rv.ablk + ip * astride;
            kp.c = rv.pt + (size_t)ip * MR * kp.ldc + pf * NR;
            P::kernel(&kp);
          }
        }
      }
    }
    if (plain) {
      if (!direct)
        for (uint32_t i = 0; i < rows; i++)
          __builtin_memcpy(o.product + (size_t)(R + i) * g.n, rv.cbuf + (size_t)i * g.npad, (size_t)g.n * 4);
      continue;
    }
    for (uint32_t t0 = 0; t0 < tiles; t0 += 16) {
      const uint32_t cnt = min_u32(16, tiles - t0);
      uint32_t tis[16], tjs[16];
      uint8_t tk_out[16 * 32];
      for (uint32_t x = 0; x < cnt; x++) tis[x] = R / g.h + (t0 + x) / g.across, tjs[x] = (t0 + x) % g.across;
      tickets_batch(tk, seedA, cnt, tis, tjs, rv.states + 16 * (size_t)t0, tk_out);
      for (uint32_t x = 0; x < cnt; x++) {
        const size_t idx = (size_t)tis[x] * g.across + tjs[x];
        const uint8_t* ticket = tk_out + 32 * x;
        if (o.tickets) __builtin_memcpy(o.tickets + 32 * idx, ticket, 32);
        if (ticket_wins(ticket, thr)) {
          if (nwin < o.max_winners) o.winners[nwin] = (uint32_t)idx;
          nwin++;
        }
      }
    }
    if (rec) {
      // digits of P and the packed E_L of this row block
      uint32_t DP;
      const size_t pstride = (size_t)g.rq * MR * G;
      if constexpr (P::kPviaGemm) {
        DP = P::pack_p_rows(g, rv.pt, (size_t)g.nrp * NR, apanels, rows, rv.el, rv.ppk, rv.epk);
      } else {
        int32_t lo = 0, hi = 0;
        for (size_t x = 0; x < (size_t)apanels * g.rq * G * MR; x++) {
          const int32_t v = rv.pt[x];
          lo = v < lo ? v : lo;
          hi = v > hi ? v : hi;
        }
        DP = P::digits_needed(lo, hi);
        P::pack_p(g, rv.pt, apanels, rows, rv.el, rv.ppk, rv.epk);
      }
      const size_t rpanel = (size_t)g.rq * NR * G;
      RArgs ra;
      ra.pstride = pstride;
      ra.qstride = (size_t)g.npanels * rpanel;
      ra.rq = g.rq;
      ra.ldc = g.npad;
      ra.ldo = g.n;
      for (uint32_t pj = 0; pj < g.npanels; pj++) {
        ra.D = max_u32(DP, sv.dq[pj]);
        ra.fp = sv.frp + pj * rpanel;
        ra.qp = sv.qp + pj * rpanel;
        ra.cols = min_u32(NR, g.n - pj * NR);
        for (uint32_t ip = 0; ip < apanels; ip++) {
          ra.pp = rv.ppk + (size_t)ip * P::DMAX * pstride;
          ra.ep = rv.epk + (size_t)ip * pstride;
          ra.c = rv.cbuf + (size_t)ip * MR * g.npad + pj * NR;
          ra.out = o.product + (size_t)(R + ip * MR) * g.n + pj * NR;
          ra.rows = min_u32(MR, rows - ip * MR);
          P::rec_kernel(&ra);
        }
      }
    }
  }
  if (o.n_winners) *o.n_winners = nwin;
  return POUW_LOTTERY_OK;
}

// ---------------------------------------------------------------------------
// Dispatch

struct Impl {
  const char* name;
  bool (*available)();
  size_t (*shared_bytes)(uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, bool);
  size_t (*rows_bytes)(uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, bool);
  int (*prepare)(const int8_t*, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, bool, const uint8_t*,
                 const uint8_t*, bool, uint32_t, uint32_t, void*, uint32_t);
  int (*run_rows)(const int8_t*, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, bool, const uint8_t*,
                  const uint8_t*, const uint8_t*, const void*, uint32_t, uint32_t, const RunOut&, void*);
};

template <class P>
size_t t_shared_bytes(uint32_t m, uint32_t k, uint32_t n, uint32_t r, uint32_t h, uint32_t w, bool plain) {
  return shared_view<P>(make_geo<P>(m, k, n, r, h, w, plain), nullptr).bytes;
}
template <class P>
size_t t_rows_bytes(uint32_t m, uint32_t k, uint32_t n, uint32_t r, uint32_t h, uint32_t w, bool plain) {
  return rows_view<P>(make_geo<P>(m, k, n, r, h, w, plain), nullptr).bytes;
}
template <class P>
int t_prepare(const int8_t* B, uint32_t m, uint32_t k, uint32_t n, uint32_t r, uint32_t h, uint32_t w, bool plain,
              const uint8_t* seedA, const uint8_t* seedB, bool with_product, uint32_t part, uint32_t parts,
              void* shared, uint32_t impl_id) {
  return prepare_impl<P>(make_geo<P>(m, k, n, r, h, w, plain), B, seedA, seedB, with_product, part, parts, shared,
                         impl_id);
}
template <class P>
int t_run_rows(const int8_t* A, uint32_t m, uint32_t k, uint32_t n, uint32_t r, uint32_t h, uint32_t w, bool plain,
               const uint8_t* seedA, const uint8_t* seedB, const uint8_t* thr, const void* shared, uint32_t R0,
               uint32_t R1, const RunOut& o, void* scratch) {
  return run_rows_impl<P>(make_geo<P>(m, k, n, r, h, w, plain), A, seedA, seedB, thr, shared, R0, R1, o, scratch);
}

#define PL_IMPL(name, avail, P) \
  { name, avail, t_shared_bytes<P>, t_rows_bytes<P>, t_prepare<P>, t_run_rows<P> }

bool always() { return true; }

#if PL_X86
bool has_vnni() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni") &&
         __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi2");
}
bool has_amx_cached() {
  static int cached = -1;  // the permission request is made once per process
  int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
  if (v < 0) {
    v = has_amx() ? 1 : 0;
    __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
  }
  return v == 1;
}
bool has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi2");
}
#endif

const Impl kImpls[] = {
#if PL_X86
    PL_IMPL("amx-int8", has_amx_cached, PathAmx),
    PL_IMPL("avx512-vnni", has_vnni, PathVnni),
    PL_IMPL("avx2", has_avx2, PathAvx2),
#endif
#if PL_SIMD128
    PL_IMPL("simd128", always, PathSimd128),
#endif
    PL_IMPL("portable", always, PathPortable),
};
constexpr int kImplCount = (int)(sizeof kImpls / sizeof kImpls[0]);

int g_selected = -1;

int selected() { return pouw_dispatch::selected(kImpls, g_selected); }

int g_forced = 0;  // set by pouw_lottery_select: use the named implementation for every job

// The implementation for a job of rank r: the selected one, except that by default AMX
// gives way to VNNI when padding every slice to 64 k-values would waste over half the
// work (ranks 32, 65, ...). Prepare and run_rows agree because both ask this function.
int job_impl(uint32_t r) {
  const int s = selected();
  if (__atomic_load_n(&g_forced, __ATOMIC_RELAXED)) return s;
#if PL_X86
  if (pouw_dispatch::same_name(kImpls[s].name, "amx-int8") && 2 * round_up(r, 64) > 3 * (size_t)r && s + 1 < kImplCount &&
      kImpls[s + 1].available())
    return s + 1;
#endif
  (void)r;
  return s;
}


// Sizes cover every implementation this machine can run, so pouw_lottery_select cannot
// outgrow a buffer sized before it.
size_t max_shared(uint32_t m, uint32_t k, uint32_t n, uint32_t r, uint32_t h, uint32_t w, bool plain) {
  size_t b = 64;
  for (int i = 0; i < kImplCount; i++) {
    if (!kImpls[i].available()) continue;
    size_t x = kImpls[i].shared_bytes(m, k, n, r, h, w, plain);
    b = x > b ? x : b;
  }
  return b;
}
size_t max_rows(uint32_t m, uint32_t k, uint32_t n, uint32_t r, uint32_t h, uint32_t w, bool plain) {
  size_t b = 64;
  for (int i = 0; i < kImplCount; i++) {
    if (!kImpls[i].available()) continue;
    size_t x = kImpls[i].rows_bytes(m, k, n, r, h, w, plain);
    b = x > b ? x : b;
  }
  return b;
}

}  // namespace

// ---------------------------------------------------------------------------
// C API

extern "C" {

size_t pouw_lottery_shared_bytes(uint32_t m, uint32_t k, uint32_t n, uint32_t rank, uint32_t tile_rows,
                                 uint32_t tile_cols) {
  if (!dims_ok(m, k, n, rank, tile_rows, tile_cols)) return 0;
  return max_shared(m, k, n, rank, tile_rows, tile_cols, false);
}

size_t pouw_lottery_rows_scratch_bytes(uint32_t m, uint32_t k, uint32_t n, uint32_t rank, uint32_t tile_rows,
                                       uint32_t tile_cols) {
  if (!dims_ok(m, k, n, rank, tile_rows, tile_cols)) return 0;
  return max_rows(m, k, n, rank, tile_rows, tile_cols, false);
}

size_t pouw_lottery_scratch_bytes(uint32_t m, uint32_t k, uint32_t n, uint32_t rank, uint32_t tile_rows,
                                  uint32_t tile_cols) {
  if (!dims_ok(m, k, n, rank, tile_rows, tile_cols)) return 0;
  return round_up(max_shared(m, k, n, rank, tile_rows, tile_cols, false), 64) +
         max_rows(m, k, n, rank, tile_rows, tile_cols, false);
}

int pouw_lottery_prepare(const int8_t* B, uint32_t m, uint32_t k, uint32_t n, const pouw_lottery_config* cfg,
                         const uint8_t seedA[32], const uint8_t seedB[32], int with_product, uint32_t part,
                         uint32_t parts, void* shared) {
  if (!B || !cfg || !seedA || !seedB || !shared) return POUW_LOTTERY_ENULL;
  if (!dims_ok(m, k, n, cfg->rank, cfg->tile_rows, cfg->tile_cols)) return POUW_LOTTERY_EDIMS;
  if (parts == 0 || part >= parts) return POUW_LOTTERY_ERANGE;
  const int s = job_impl(cfg->rank);
  return kImpls[s].prepare(B, m, k, n, cfg->rank, cfg->tile_rows, cfg->tile_cols, false, seedA, seedB,
                           with_product != 0, part, parts, shared, (uint32_t)s);
}

int pouw_lottery_run_rows(const int8_t* A, uint32_t m, uint32_t k, uint32_t n, const pouw_lottery_config* cfg,
                          const uint8_t seedA[32], const uint8_t seedB[32], const uint8_t threshold_le[32],
                          const void* shared, uint32_t tile_row_begin, uint32_t tile_row_end,
                          uint8_t* tickets_out, uint32_t* winners_out, uint32_t max_winners,
                          uint32_t* n_winners, int32_t* product_out, void* scratch) {
  if (!A || !cfg || !seedA || !seedB || !threshold_le || !shared || !scratch) return POUW_LOTTERY_ENULL;
  if (max_winners && !winners_out) return POUW_LOTTERY_ENULL;
  const uint32_t r = cfg->rank, h = cfg->tile_rows, w = cfg->tile_cols;
  if (!dims_ok(m, k, n, r, h, w)) return POUW_LOTTERY_EDIMS;
  if (tile_row_begin > tile_row_end || tile_row_end > m / h) return POUW_LOTTERY_ERANGE;
  const int s = job_impl(r);
  const SharedHeader* hd = (const SharedHeader*)align64(const_cast<void*>(shared));
  if (hd->magic != kMagic || hd->impl != (uint32_t)s || hd->m != m || hd->k != k || hd->n != n || hd->r != r ||
      hd->h != h || hd->w != w || hd->plain || (product_out && !hd->with_product))
    return POUW_LOTTERY_ESHARED;
  RunOut o{tickets_out, winners_out, max_winners, n_winners, product_out};
  if (n_winners) *n_winners = 0;
  return kImpls[s].run_rows(A, m, k, n, r, h, w, false, seedA, seedB, threshold_le, shared, tile_row_begin * h,
                            tile_row_end * h, o, scratch);
}

int pouw_lottery_run(const int8_t* A, const int8_t* B, uint32_t m, uint32_t k, uint32_t n,
                     const pouw_lottery_config* cfg, const uint8_t seedA[32], const uint8_t seedB[32],
                     const uint8_t threshold_le[32], uint8_t* tickets_out, uint32_t* winners_out,
                     uint32_t max_winners, uint32_t* n_winners, int32_t* product_out, void* scratch) {
  if (!A || !B || !cfg || !seedA || !seedB || !threshold_le || !scratch) return POUW_LOTTERY_ENULL;
  const uint32_t r = cfg->rank, h = cfg->tile_rows, w = cfg->tile_cols;
  if (!dims_ok(m, k, n, r, h, w)) return POUW_LOTTERY_EDIMS;
  uint8_t* base = align64(scratch);
  void* shared = base;
  void* rows = base + round_up(max_shared(m, k, n, r, h, w, false), 64);
  int rc = pouw_lottery_prepare(B, m, k, n, cfg, seedA, seedB, product_out != nullptr, 0, 1, shared);
  if (rc != POUW_LOTTERY_OK) return rc;
  return pouw_lottery_run_rows(A, m, k, n, cfg, seedA, seedB, threshold_le, shared, 0, m / h, tickets_out,
                               winners_out, max_winners, n_winners, product_out, rows);
}

const char* pouw_lottery_impl(void) { return kImpls[selected()].name; }

int pouw_lottery_select(const char* name) {
  if (pouw_dispatch::select(kImpls, g_selected, name) != 0) return -1;
  __atomic_store_n(&g_forced, 1, __ATOMIC_RELAXED);
  return 0;
}

void pouw_lottery_sha256(const void* data, size_t len, uint8_t out[32]) { sha256(data, len, out); }

void pouw_lottery_expand(const uint8_t seed[32], const char* label, uint32_t label_len, uint64_t offset,
                         uint64_t count, uint8_t* out) {
  StreamKey k;
  stream_init(k, seed, label, label_len);
  expand_range(k, offset, count, out);
}

size_t pouw_lottery_noisy_scratch_bytes(uint32_t m, uint32_t k, uint32_t n, uint32_t rank) {
  (void)m, (void)n;
  return (size_t)8 * k + (size_t)rank + 64;
}

int pouw_lottery_noisy(const int8_t* A, const int8_t* B, uint32_t m, uint32_t k, uint32_t n, uint32_t rank,
                       const uint8_t seedA[32], const uint8_t seedB[32], int8_t* AE_out, int8_t* BF_out,
                       void* scratch) {
  if (!seedA || !seedB || !scratch) return POUW_LOTTERY_ENULL;
  if (m == 0 || n == 0 || k == 0 || rank < 2 || rank > 65536 || k > 65536) return POUW_LOTTERY_EDIMS;
  uint16_t* p = (uint16_t*)align64(scratch);
  uint16_t* q = p + k;
  int8_t* d = (int8_t*)(q + k);
  if (AE_out) {
    if (!A) return POUW_LOTTERY_ENULL;
    StreamKey ker, kel;
    stream_init(ker, seedA, "ER", 2);
    stream_init(kel, seedA, "EL", 2);
    pairs_range(ker, rank, 0, k, p, q);
    for (uint32_t i = 0; i < m; i++) {
      dense_range(kel, (uint64_t)i * rank, rank, d);
      for (uint32_t t = 0; t < k; t++)
        AE_out[(size_t)i * k + t] = (int8_t)(A[(size_t)i * k + t] + d[p[t]] - d[q[t]]);
    }
  }
  if (BF_out) {
    if (!B) return POUW_LOTTERY_ENULL;
    StreamKey kfl, kfr;
    stream_init(kfl, seedB, "FL", 2);
    stream_init(kfr, seedB, "FR", 2);
    pairs_range(kfl, rank, 0, k, p, q);
    for (uint32_t j = 0; j < n; j++) {
      dense_range(kfr, (uint64_t)j * rank, rank, d);
      for (uint32_t t = 0; t < k; t++)
        BF_out[(size_t)t * n + j] = (int8_t)(B[(size_t)t * n + j] + d[p[t]] - d[q[t]]);
    }
  }
  return POUW_LOTTERY_OK;
}

size_t pouw_lottery_plain_scratch_bytes(uint32_t m, uint32_t k, uint32_t n) {
  if (m == 0 || n == 0 || k == 0) return 0;
  return round_up(max_shared(m, k, n, kPlainSeg, 1, 1, true), 64) + max_rows(m, k, n, kPlainSeg, 1, 1, true);
}

int pouw_lottery_plain_gemm(const int8_t* A, const int8_t* B, uint32_t m, uint32_t k, uint32_t n, int32_t* C,
                            void* scratch) {
  if (!A || !B || !C || !scratch) return POUW_LOTTERY_ENULL;
  if (m == 0 || n == 0 || k == 0) return POUW_LOTTERY_EDIMS;
  const int s = selected();
  uint8_t* base = align64(scratch);
  void* shared = base;
  void* rows = base + round_up(max_shared(m, k, n, kPlainSeg, 1, 1, true), 64);
  int rc = kImpls[s].prepare(B, m, k, n, kPlainSeg, 1, 1, true, nullptr, nullptr, false, 0, 1, shared, (uint32_t)s);
  if (rc != POUW_LOTTERY_OK) return rc;
  RunOut o{nullptr, nullptr, 0, nullptr, C};
  return kImpls[s].run_rows(A, m, k, n, kPlainSeg, 1, 1, true, nullptr, nullptr, nullptr, shared, 0, m, o, rows);
}

}  // extern "C"
