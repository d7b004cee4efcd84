// What the two AVX-512 paths of the matmul lottery share (lottery_vnni.cc,
// lottery_amx.cc): the Q8 layout, the VNNI interleave of B + F (the AMX B tiles use the
// same one), the Q update of the recovery, digit splitting and byte packing in ZMM
// registers. x86-64 only; functions carry their own target attributes.
#pragma once
#include "lottery_internal.h"

#if PL_X86
namespace pouw {
namespace lottery {
namespace {

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

// AVX-512 VBMI (byte-table lookups for E when the rank is <= 128), checked once per file.
inline bool has_vbmi_cached() {
  static int cached = -1;
  int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
  if (v < 0) {
    v = cpu_features().avx512vbmi ? 1 : 0;
    __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
  }
  return v == 1;
}

// B + F for one group of 4 rows, columns [c0, c1) (c0 a multiple of 16): 64 columns at a
// time, interleaved to [column][4] (byte unpacks within 128-bit lanes, then a 4 x 4
// transpose of the lanes), with the column sums (times 128) added into the segment's
// correction row.
inline PL_TARGET_VNNI_NOVBMI bool prep_group_vnni(const Geo& g, const int8_t* B, const int8_t* frt, uint32_t t, uint32_t vr,
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

inline PL_TARGET_VNNI_NOVBMI void q_update_vnni(int32_t* qa, int32_t* qb, const int8_t* brow, uint32_t c0, uint32_t c1) {
  for (uint32_t j = c0; j < c1; j += 16) {
    const uint32_t nv = min_u32(16, c1 - j);
    const __mmask16 mk = nv >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nv) - 1);
    const __m512i b = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mk, brow + j));
    _mm512_mask_storeu_epi32(qa + j, mk, _mm512_add_epi32(_mm512_maskz_loadu_epi32(mk, qa + j), b));
    _mm512_mask_storeu_epi32(qb + j, mk, _mm512_sub_epi32(_mm512_maskz_loadu_epi32(mk, qb + j), b));
  }
}

}  // namespace
}  // namespace lottery
}  // namespace pouw
#endif  // PL_X86
