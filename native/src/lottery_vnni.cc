// The avx512-vnni path of the matmul lottery: Q8 layout, MR 8 x NR 48, vpdpbusd (u8 x
// s8 into int32, with the column-sum correction row). A + E is packed with byte-table
// lookups (VBMI, rank <= 128) or from the transposed E_L; the recovery runs on the same
// instruction, digit by digit. x86-64 only; chosen when the CPU has AVX-512 F/BW/VL and
// VNNI with AVX2, FMA and BMI2 (cpu_features.h).
#include "lottery_avx512.h"
#include "lottery_driver.h"

#if PL_X86
namespace pouw {
namespace lottery {
namespace {

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

bool has_vnni() {
  const CpuFeatures f = cpu_features();
  return cpu_avx512_vnni(f) && cpu_avx2(f);
}

}  // namespace

extern const Impl kImplVnni = make_impl<PathVnni>("avx512-vnni", has_vnni);

}  // namespace lottery
}  // namespace pouw
#endif  // PL_X86
