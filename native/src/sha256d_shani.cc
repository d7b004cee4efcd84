// SHA-256d nonce search with the x86 SHA extensions (SHA256RNDS2 / SHA256MSG1 /
// SHA256MSG2), several independent nonces interleaved per thread so the long
// latency of SHA256RNDS2 overlaps across them. Two variants: 2 and 4 lanes.
//
// Per job (scalar, once): the midstate of the constant first block, the nonce block
// as words with the nonce bytes zeroed, byte-shuffle masks that drop the nonce's
// bytes into place, and the state after the nonce-free leading groups of four rounds
// (those rounds are skipped per nonce). A third block (headers of 120..128 bytes)
// has no nonce bytes: its K + W values are precomputed and its schedule is not run.
// Per nonce: the nonce block, then SHA-256 of the 32-byte digest, which stops after
// rounds 60..61 because the early-exit test only needs H7 = IV7 + f(62).
//
// All functions are compiled for SHA + SSE4.1 + SSSE3 by a target pragma; the
// dispatcher only calls them after checking cpuid.
//
// What it deliberately does not do: no AVX encodings (the SHA instructions only
// address xmm0..15 anyway), no digest output (the dispatcher re-checks candidates).
#include "sha256d_internal.h"

#if POUW_X86_KERNELS
#include <immintrin.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("sha,sse4.1,ssse3"))), apply_to = function)
#define POUW_UNROLL _Pragma("unroll")
#else
#pragma GCC push_options
#pragma GCC target("sha,sse4.1,ssse3")
#define POUW_UNROLL _Pragma("GCC unroll 16")
#endif

#define POUW_INL static inline __attribute__((always_inline))

namespace pouw {
namespace {

struct ShaniJob {
  __m128i abef, cdgh;          // state after the skipped leading groups
  __m128i mid_abef, mid_cdgh;  // midstate, added back after the block
  __m128i w[4];                // nonce block words, nonce bytes zero
  __m128i nmask[2];            // shuffle masks: nonce bytes -> groups g0 and g0 + 1
  __m128i kw3[16];             // K + W of the constant third block
  int g0;                      // group holding the nonce's first byte
  int cross;                   // nonce continues into group g0 + 1
};

// [a,b,c,d], [e,f,g,h] (lane 0 first) <-> the ABEF / CDGH register layout.
POUW_INL void to_abef(__m128i x, __m128i y, __m128i* abef, __m128i* cdgh) {
  __m128i p = _mm_shuffle_epi32(x, 0xb1);  // b a d c
  __m128i q = _mm_shuffle_epi32(y, 0x1b);  // h g f e
  *abef = _mm_alignr_epi8(p, q, 8);        // f e b a
  *cdgh = _mm_blend_epi16(q, p, 0xf0);     // h g d c
}
POUW_INL void from_abef(__m128i abef, __m128i cdgh, __m128i* x, __m128i* y) {
  __m128i t = _mm_shuffle_epi32(abef, 0x1b);  // a b e f
  __m128i u = _mm_shuffle_epi32(cdgh, 0xb1);  // g h c d
  *x = _mm_blend_epi16(t, u, 0xf0);           // a b c d
  *y = _mm_alignr_epi8(u, t, 8);              // e f g h
}

POUW_INL __m128i kgroup(int g) { return _mm_loadu_si128((const __m128i*)(kK + 4 * g)); }

// Four rounds with message+constant kw.
POUW_INL void quad(__m128i& abef, __m128i& cdgh, __m128i kw) {
  cdgh = _mm_sha256rnds2_epu32(cdgh, abef, kw);
  abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(kw, 0x0e));
}

// W[t+16..t+19] from the four previous groups.
POUW_INL __m128i next_group(__m128i w0, __m128i w1, __m128i w2, __m128i w3) {
  return _mm_sha256msg2_epu32(
      _mm_add_epi32(_mm_sha256msg1_epu32(w0, w1), _mm_alignr_epi8(w3, w2, 4)), w3);
}

void shani_init(const Prep& p, KernelScratch* scratch) {
  static_assert(sizeof(ShaniJob) <= sizeof(KernelScratch), "scratch too small");
  ShaniJob* j = reinterpret_cast<ShaniJob*>(scratch->bytes);
  j->g0 = (int)(p.nonce_pos / 16);
  j->cross = (int)((p.nonce_pos + p.nonce_width - 1) / 16) != j->g0;

  uint32_t w[64];
  expand_schedule(p.block[0], w);  // rounds before group g0 use nonce-free words only
  uint32_t v[8];
  for (int i = 0; i < 8; i++) v[i] = p.mid[i];
  scalar_rounds(v, w, 0, 4 * j->g0);
  to_abef(_mm_loadu_si128((const __m128i*)v), _mm_loadu_si128((const __m128i*)(v + 4)), &j->abef,
          &j->cdgh);
  to_abef(_mm_loadu_si128((const __m128i*)p.mid), _mm_loadu_si128((const __m128i*)(p.mid + 4)),
          &j->mid_abef, &j->mid_cdgh);
  for (int g = 0; g < 4; g++) j->w[g] = _mm_loadu_si128((const __m128i*)(p.block[0] + 4 * g));

  // Nonce byte k sits at block byte pos = nonce_pos + k: word pos/4, big-endian byte
  // pos%4, i.e. byte (pos/4 % 4) * 4 + 3 - pos%4 of its little-endian group register.
  alignas(16) uint8_t m[2][16];
  for (int i = 0; i < 16; i++) m[0][i] = m[1][i] = 0x80;
  for (uint32_t k = 0; k < p.nonce_width; k++) {
    uint32_t pos = p.nonce_pos + k;
    int g = (int)(pos / 16) - j->g0;
    m[g][(pos / 4 % 4) * 4 + 3 - pos % 4] = (uint8_t)k;
  }
  j->nmask[0] = _mm_load_si128((const __m128i*)m[0]);
  j->nmask[1] = _mm_load_si128((const __m128i*)m[1]);

  expand_schedule(p.block[1], w);
  for (int g = 0; g < 16; g++)
    j->kw3[g] = _mm_add_epi32(_mm_loadu_si128((const __m128i*)(w + 4 * g)), kgroup(g));
}

template <int L, int G0, bool CROSS>
uint32_t shani_run(const Prep& p, const ShaniJob& j, uint64_t first, uint32_t n,
                   uint16_t* cand) {
  const bool three = p.tail_blocks == 2;
  const uint32_t top = p.target_words[7];
  const __m128i iv_x = _mm_loadu_si128((const __m128i*)kIV);
  const __m128i iv_y = _mm_loadu_si128((const __m128i*)(kIV + 4));
  __m128i iv_abef, iv_cdgh;
  to_abef(iv_x, iv_y, &iv_abef, &iv_cdgh);
  const __m128i pad0 = _mm_set_epi32(0, 0, 0, (int)0x80000000u);
  const __m128i pad1 = _mm_set_epi32(256, 0, 0, 0);
  const __m128i kpad0 = _mm_add_epi32(pad0, kgroup(2));
  const __m128i kpad1 = _mm_add_epi32(pad1, kgroup(3));

  uint32_t nc = 0;
  for (uint32_t off = 0; off < n; off += L) {
    __m128i a[L], c[L], w[L][4];
    // Hash 1, nonce block.
    POUW_UNROLL for (int k = 0; k < L; k++) {
      __m128i nv = _mm_cvtsi64_si128((long long)((first + off + k) & p.nonce_mask));
      for (int g = 0; g < 4; g++) w[k][g] = j.w[g];
      w[k][G0] = _mm_or_si128(w[k][G0], _mm_shuffle_epi8(nv, j.nmask[0]));
      if constexpr (CROSS) w[k][G0 + 1] = _mm_or_si128(w[k][G0 + 1], _mm_shuffle_epi8(nv, j.nmask[1]));
      a[k] = j.abef;
      c[k] = j.cdgh;
    }
    POUW_UNROLL for (int g = G0; g < 4; g++) {
      POUW_UNROLL for (int k = 0; k < L; k++) quad(a[k], c[k], _mm_add_epi32(w[k][g], kgroup(g)));
    }
    POUW_UNROLL for (int g = 4; g < 16; g++) {
      POUW_UNROLL for (int k = 0; k < L; k++) {
        __m128i x = next_group(w[k][g & 3], w[k][(g + 1) & 3], w[k][(g + 2) & 3], w[k][(g + 3) & 3]);
        w[k][g & 3] = x;
        quad(a[k], c[k], _mm_add_epi32(x, kgroup(g)));
      }
    }
    POUW_UNROLL for (int k = 0; k < L; k++) {
      a[k] = _mm_add_epi32(a[k], j.mid_abef);
      c[k] = _mm_add_epi32(c[k], j.mid_cdgh);
    }
    if (three) {
      __m128i sa[L], sc[L];
      POUW_UNROLL for (int k = 0; k < L; k++) sa[k] = a[k], sc[k] = c[k];
      POUW_UNROLL for (int g = 0; g < 16; g++) {
        POUW_UNROLL for (int k = 0; k < L; k++) quad(a[k], c[k], j.kw3[g]);
      }
      POUW_UNROLL for (int k = 0; k < L; k++) {
        a[k] = _mm_add_epi32(a[k], sa[k]);
        c[k] = _mm_add_epi32(c[k], sc[k]);
      }
    }
    // Hash 2 over the 32-byte digest: words 0..7 are the state, 8..15 the padding.
    POUW_UNROLL for (int k = 0; k < L; k++) {
      from_abef(a[k], c[k], &w[k][0], &w[k][1]);
      w[k][2] = pad0;
      w[k][3] = pad1;
      a[k] = iv_abef;
      c[k] = iv_cdgh;
    }
    POUW_UNROLL for (int g = 0; g < 2; g++) {
      POUW_UNROLL for (int k = 0; k < L; k++) quad(a[k], c[k], _mm_add_epi32(w[k][g], kgroup(g)));
    }
    POUW_UNROLL for (int k = 0; k < L; k++) quad(a[k], c[k], kpad0);
    POUW_UNROLL for (int k = 0; k < L; k++) quad(a[k], c[k], kpad1);
    POUW_UNROLL for (int g = 4; g < 15; g++) {
      POUW_UNROLL for (int k = 0; k < L; k++) {
        __m128i x = next_group(w[k][g & 3], w[k][(g + 1) & 3], w[k][(g + 2) & 3], w[k][(g + 3) & 3]);
        w[k][g & 3] = x;
        quad(a[k], c[k], _mm_add_epi32(x, kgroup(g)));
      }
    }
    // Group 15: only rounds 60..61. Afterwards c holds the ABEF layout of the state
    // after round 61, whose lane 0 (f) becomes h after round 63.
    uint32_t m = 0;
    POUW_UNROLL for (int k = 0; k < L; k++) {
      __m128i x = next_group(w[k][3], w[k][0], w[k][1], w[k][2]);
      c[k] = _mm_sha256rnds2_epu32(c[k], a[k], _mm_add_epi32(x, kgroup(15)));
      uint32_t h7 = kIV[7] + (uint32_t)_mm_cvtsi128_si32(c[k]);
      m |= (uint32_t)(bswap32(h7) <= top) << k;
    }
    if (m) {
      for (int k = 0; k < L; k++)
        if (((m >> k) & 1) && off + k < n) cand[nc++] = (uint16_t)(off + k);
    }
  }
  return nc;
}

template <int L>
uint32_t shani_batch(const Prep& p, const KernelScratch* scratch, uint64_t first, uint32_t n,
                     uint16_t* cand) {
  const ShaniJob& j = *reinterpret_cast<const ShaniJob*>(scratch->bytes);
  switch (j.g0 * 2 + j.cross) {
    case 0: return shani_run<L, 0, false>(p, j, first, n, cand);
    case 1: return shani_run<L, 0, true>(p, j, first, n, cand);
    case 2: return shani_run<L, 1, false>(p, j, first, n, cand);
    case 3: return shani_run<L, 1, true>(p, j, first, n, cand);
    case 4: return shani_run<L, 2, false>(p, j, first, n, cand);
    case 5: return shani_run<L, 2, true>(p, j, first, n, cand);
    default: return shani_run<L, 3, false>(p, j, first, n, cand);
  }
}

}  // namespace

extern const Kernel kKernelShani2 = {"shani-2x", shani_init, shani_batch<2>};
extern const Kernel kKernelShani4 = {"shani-4x", shani_init, shani_batch<4>};

}  // namespace pouw

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#endif  // POUW_X86_KERNELS
