// Lane-parallel SHA-256d nonce search, written once over a small "lane vector"
// interface V and instantiated by the AVX-512 (16 lanes) and wasm simd128 (4 lanes)
// kernels. One lane = one nonce (structure of arrays).
//
// What it does, per group of V::N nonces:
//  - hash 1 starts from the midstate of the constant first block. Rounds before the
//    first message word that holds nonce bytes only see constants, so the working
//    variables after them, and the nonce-free parts of the next round, are computed
//    once per job in scalar code.
//  - Which message-schedule words depend on the nonce is known at compile time for
//    each layout the kernel is instantiated for (a 16-bit mask of the varying words of
//    the nonce block). Words that do not vary are precomputed as K[t] + W[t]; for the
//    ones that do, the sum of their constant terms is precomputed.
//  - An optional third block (headers of 120..128 bytes) has no nonce bytes, so its
//    whole schedule is constant; it runs with precomputed K[t] + W[t].
//  - hash 2 has a constant initial state and constant words 8..15 (padding), handled
//    the same way. It stops after the part of round 60 that produces the word needed
//    for the early exit: H7 = IV7 + e(61), whose byte swap is the most significant
//    32 bits of the hash read as a little-endian integer.
//  - Lanes whose top word is <= the target's top word are reported as candidates;
//    the dispatcher confirms them with a full 256-bit comparison.
//
// What it deliberately does not do: no full digest output (only the candidate
// test), no allocation, no standard library (it also builds for freestanding wasm32).
//
// The V interface (all static, always inlined): type T, constant N, set1(u32),
// add(a,b), bsig0(x), bsig1(x), ssig0(x), ssig1(x), ch(e,f,g), maj(a,b,c),
// load(const u32* N-aligned), seq(u32 base) = base + lane index, bswap(x),
// le_mask(x, u32 limit) = bit mask of lanes with x <= limit (unsigned).
#pragma once
#include "sha256d_internal.h"

#if defined(__clang__)
// Uses `if constexpr`; clang accepts it in C++14 mode too (the wasm build may not pass
// -std=c++17), so silence the extension warning there.
#pragma clang diagnostic ignored "-Wc++17-extensions"
#endif

namespace pouw {
namespace {

// Bit t set when schedule word W[t] depends on the nonce, given the varying words of
// the block (bits 0..15).
constexpr uint64_t vary_mask(uint32_t words) {
  uint64_t v = words & 0xffffu;
  for (int t = 16; t < 64; t++)
    if (((v >> (t - 2)) | (v >> (t - 7)) | (v >> (t - 15)) | (v >> (t - 16))) & 1) v |= 1ull << t;
  return v;
}

constexpr bool bit(uint64_t m, int t) { return (m >> t) & 1; }

// Constants for one compression whose input state is the same for every lane and
// whose first SKIP rounds use only nonce-free words.
struct FirstConsts {
  uint32_t st[8];     // working variables a..h after SKIP rounds
  uint32_t ff[8];     // the input state, added back at the end
  uint32_t t1c, t2c;  // round SKIP: T1 without W[SKIP], and T2
  uint32_t kw[64];    // K[t] + W[t] for nonce-free W[t]
  uint32_t part[64];  // sum of the nonce-free terms of a varying W[t], t >= 16
};

template <uint32_t VMASK, int SKIP>
void make_first_consts(const uint32_t init[8], const uint32_t block[16], FirstConsts* c) {
  constexpr uint64_t vary = vary_mask(VMASK);
  static_assert(SKIP < 16 && bit(vary, SKIP) && (vary & ((1ull << SKIP) - 1)) == 0,
                "the rounds skipped must be nonce-free and round SKIP must not be");
  uint32_t w[64];
  expand_schedule(block, w);  // values of varying words are never used below
  for (int t = 0; t < 64; t++) {
    c->kw[t] = kK[t] + w[t];
    c->part[t] = 0;
    if (t >= 16 && bit(vary, t)) {
      uint32_t s = 0;
      if (!bit(vary, t - 2)) s += small_sigma1(w[t - 2]);
      if (!bit(vary, t - 7)) s += w[t - 7];
      if (!bit(vary, t - 15)) s += small_sigma0(w[t - 15]);
      if (!bit(vary, t - 16)) s += w[t - 16];
      c->part[t] = s;
    }
  }
  uint32_t v[8];
  for (int i = 0; i < 8; i++) v[i] = c->ff[i] = init[i];
  scalar_rounds(v, w, 0, SKIP);
  for (int i = 0; i < 8; i++) c->st[i] = v[i];
  c->t1c = v[7] + big_sigma1(v[4]) + ch(v[4], v[5], v[6]) + kK[SKIP];
  c->t2c = big_sigma0(v[0]) + maj(v[0], v[1], v[2]);
}

template <class V>
struct Sha256Lanes {
  using T = typename V::T;

  // Round t (and, for t >= 16, schedule word t first). Working variable k (a=0..h=7)
  // of round t lives in s[(k - t) & 7], so no register moves are needed.
  template <uint64_t VARY, bool TRUNC, int t>
  static inline __attribute__((always_inline)) void step(T* s, T* w, const uint32_t* kw,
                                                         const uint32_t* part) {
    if constexpr (t >= 16 && bit(VARY, t)) {
      constexpr bool v2 = bit(VARY, t - 2), v7 = bit(VARY, t - 7);
      constexpr bool v15 = bit(VARY, t - 15), v16 = bit(VARY, t - 16);
      T x;
      if constexpr (v16) {
        x = w[t & 15];
        if constexpr (!(v2 && v7 && v15)) x = V::add(x, V::set1(part[t]));
      } else {
        x = V::set1(part[t]);
      }
      if constexpr (v2) x = V::add(x, V::ssig1(w[(t - 2) & 15]));
      if constexpr (v7) x = V::add(x, w[(t - 7) & 15]);
      if constexpr (v15) x = V::add(x, V::ssig0(w[(t - 15) & 15]));
      w[t & 15] = x;
    }
    T& a = s[(0 - t) & 7];
    T& b = s[(1 - t) & 7];
    T& c = s[(2 - t) & 7];
    T& d = s[(3 - t) & 7];
    T& e = s[(4 - t) & 7];
    T& f = s[(5 - t) & 7];
    T& g = s[(6 - t) & 7];
    T& h = s[(7 - t) & 7];
    T hk;
    if constexpr (bit(VARY, t))
      hk = V::add(h, V::add(w[t & 15], V::set1(kK[t])));
    else
      hk = V::add(h, V::set1(kw[t]));
    T t1 = V::add(hk, V::add(V::bsig1(e), V::ch(e, f, g)));
    d = V::add(d, t1);
    if constexpr (!(TRUNC && t == 60)) h = V::add(t1, V::add(V::bsig0(a), V::maj(a, b, c)));
  }

  template <uint64_t VARY, bool TRUNC, int t, int END>
  static inline __attribute__((always_inline)) void rounds(T* s, T* w, const uint32_t* kw,
                                                           const uint32_t* part) {
    if constexpr (t < END) {
      step<VARY, TRUNC, t>(s, w, kw, part);
      rounds<VARY, TRUNC, t + 1, END>(s, w, kw, part);
    }
  }

  // Compression with a lane-constant input state. w[i] must hold the varying words
  // i < 16 of VMASK. On return (TRUNC false) s[0..7] is the new state after the
  // feed-forward; with TRUNC only s[(4 - 61) & 7] = e(61) is meaningful.
  template <uint32_t VMASK, int SKIP, bool TRUNC>
  static inline __attribute__((always_inline)) void first(T* s, T* w, const FirstConsts& c) {
    constexpr uint64_t VARY = vary_mask(VMASK);
    // Round SKIP: everything but W[SKIP] is constant.
    T t1 = V::add(w[SKIP], V::set1(c.t1c));
    for (int k = 0; k < 8; k++) s[(k - SKIP) & 7] = V::set1(c.st[k]);
    s[(3 - SKIP) & 7] = V::add(t1, V::set1(c.st[3]));
    s[(7 - SKIP) & 7] = V::add(t1, V::set1(c.t2c));
    rounds<VARY, TRUNC, SKIP + 1, TRUNC ? 61 : 64>(s, w, c.kw, c.part);
    if constexpr (!TRUNC)
      for (int k = 0; k < 8; k++) s[k] = V::add(s[k], V::set1(c.ff[k]));
  }

  // Compression of a block that is the same for every lane (only the state varies).
  static inline __attribute__((always_inline)) void constant_block(T* s, const uint32_t* kw) {
    T in[8];
    for (int k = 0; k < 8; k++) in[k] = s[k];
    rounds<0, false, 0, 64>(s, nullptr, kw, nullptr);
    for (int k = 0; k < 8; k++) s[k] = V::add(s[k], in[k]);
  }
};

// Everything a SIMD kernel keeps per scan call.
struct SimdJob {
  FirstConsts c1;    // nonce block of hash 1
  FirstConsts c2;    // hash 2
  uint32_t kw3[64];  // K[t] + W[t] of the nonce-free last block (3-block headers)
  int variant;
};

// Specialisations: the layouts that get constant folding. Anything else runs the
// generic variant (all 16 words treated as varying; still correct, just slower).
enum Variant {
  kGeneric = 0,   // any layout
  kWord3 = 1,     // nonce exactly in word 3 (80-byte header, 4-byte nonce at 76)
  kWords8_9 = 2,  // nonce in words 8..9 (e.g. 104-byte header, 8-byte nonce at 96)
};
constexpr uint32_t kHash2Mask = 0x00ffu;

template <class V>
struct SimdKernel {
  using T = typename V::T;
  using S = Sha256Lanes<V>;
  static constexpr int N = V::N;

  static void init(const Prep& p, KernelScratch* scratch) {
    static_assert(sizeof(SimdJob) <= sizeof(KernelScratch), "scratch too small");
    SimdJob* j = reinterpret_cast<SimdJob*>(scratch->bytes);
    if (p.first_word == 3 && p.last_word == 3) {
      j->variant = kWord3;
      make_first_consts<1u << 3, 3>(p.mid, p.block[0], &j->c1);
    } else if (p.first_word == 8 && p.last_word == 9) {
      j->variant = kWords8_9;
      make_first_consts<3u << 8, 8>(p.mid, p.block[0], &j->c1);
    } else {
      j->variant = kGeneric;
      make_first_consts<0xffffu, 0>(p.mid, p.block[0], &j->c1);
    }
    uint32_t pad[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0x80000000u, 0, 0, 0, 0, 0, 0, 256};
    make_first_consts<kHash2Mask, 0>(kIV, pad, &j->c2);
    uint32_t w3[64];
    expand_schedule(p.block[1], w3);
    for (int t = 0; t < 64; t++) j->kw3[t] = kK[t] + w3[t];
  }

  // Fills rows[first_word..last_word] with the nonce words of lanes base+0..N-1.
  static inline void nonce_rows(const Prep& p, uint64_t base, T* rows) {
    uint32_t f = p.first_word;
    uint32_t lo = (uint32_t)base;
    if ((p.nonce_pos & 3) == 0 && (p.nonce_width == 4 || lo <= 0xffffffffu - (N - 1))) {
      rows[f] = V::bswap(V::seq(lo));
      if (p.nonce_width == 8) rows[f + 1] = V::set1(bswap32((uint32_t)(base >> 32)));
      return;
    }
    alignas(64) uint32_t lanes[3][N];
    for (int k = 0; k < N; k++) {
      uint32_t nw[3];
      nonce_words(p, (base + k) & p.nonce_mask, nw);
      for (uint32_t i = 0; i <= p.last_word - f; i++) lanes[i][k] = nw[i];
    }
    for (uint32_t i = 0; i <= p.last_word - f; i++) rows[f + i] = V::load(lanes[i]);
  }

  template <uint32_t VMASK, int SKIP>
  static uint32_t run(const Prep& p, const SimdJob& j, uint64_t first, uint32_t n,
                      uint16_t* cand) {
    T rows[16];
    if constexpr (VMASK == 0xffffu)
      for (int i = 0; i < 16; i++) rows[i] = V::set1(p.block[0][i]);
    const bool three = p.tail_blocks == 2;
    const uint32_t top = p.target_words[7];
    uint32_t nc = 0;
    for (uint32_t off = 0; off < n; off += N) {
      nonce_rows(p, first + off, rows);
      T s[8], w[16];
      for (int i = 0; i < 16; i++)
        if (bit(VMASK, i)) w[i] = rows[i];
      S::template first<VMASK, SKIP, false>(s, w, j.c1);
      if (three) S::constant_block(s, j.kw3);
      T w2[16];
      for (int i = 0; i < 8; i++) w2[i] = s[i];
      T s2[8];
      S::template first<kHash2Mask, 0, true>(s2, w2, j.c2);
      T h7 = V::add(s2[(4 - 61) & 7], V::set1(kIV[7]));
      uint32_t m = V::le_mask(V::bswap(h7), top);
      if (m) {
        uint32_t lanes_left = n - off;
        if (lanes_left < (uint32_t)N) m &= (1u << lanes_left) - 1;
        for (int k = 0; k < N; k++)
          if ((m >> k) & 1) cand[nc++] = (uint16_t)(off + k);
      }
    }
    return nc;
  }

  static uint32_t batch(const Prep& p, const KernelScratch* scratch, uint64_t first,
                        uint32_t n, uint16_t* cand) {
    const SimdJob& j = *reinterpret_cast<const SimdJob*>(scratch->bytes);
    switch (j.variant) {
      case kWord3: return run<1u << 3, 3>(p, j, first, n, cand);
      case kWords8_9: return run<3u << 8, 8>(p, j, first, n, cand);
      default: return run<0xffffu, 0>(p, j, first, n, cand);
    }
  }
};

}  // namespace
}  // namespace pouw
