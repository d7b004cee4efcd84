// The amx-int8 path of the matmul lottery (Intel AMX tiles). x86-64 Linux only, once
// the kernel grants this process the tile data (cpu_features.h `amx_usable`); jobs
// whose rank would pad more than half of each slice go to the VNNI path (lottery.cc).
#include "lottery_avx512.h"
#include "lottery_driver.h"

#if PL_X86
namespace pouw {
namespace lottery {
namespace {

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

// AMX with the AVX-512 VNNI instructions its folding and recovery use; the permission
// request is made once per process.
bool has_amx() {
  static int cached = -1;
  int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
  if (v < 0) {
    v = cpu_avx512_vnni(cpu_features()) && amx_usable() ? 1 : 0;
    __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
  }
  return v == 1;
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

}  // namespace

extern const Impl kImplAmx = make_impl<PathAmx>("amx-int8", has_amx);

}  // namespace lottery
}  // namespace pouw
#endif  // PL_X86
