// The avx2 path of the matmul lottery: W16 layout (int16 pairs), MR 4 x NR 16,
// vpmaddwd + vpaddd. x86-64 only; chosen when the CPU has AVX2, FMA and BMI2
// (cpu_features.h) and no faster path.
#include "lottery_driver.h"

#if PL_X86
namespace pouw {
namespace lottery {
namespace {


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

struct PathAvx2 : GenericSteps<PathAvx2, LayW16> {
  static constexpr uint32_t MR = 4, NV = 2, L = 8, NR = 16;

  static bool wants_elt(const Geo&) { return true; }
  static constexpr uint32_t kRowQuantum = MR;
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

bool has_avx2() { return cpu_avx2(cpu_features()); }

}  // namespace

extern const Impl kImplAvx2 = make_impl<PathAvx2>("avx2", has_avx2);

}  // namespace lottery
}  // namespace pouw
#endif  // PL_X86
