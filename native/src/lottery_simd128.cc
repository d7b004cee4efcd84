// The simd128 path of the matmul lottery, for the wasm32 build: W16 layout, MR 4 x NR 8,
// i32x4.dot_i16x8_s. Compiled only with -msimd128; empty elsewhere.
#include "lottery_driver.h"

#if PL_SIMD128
namespace pouw {
namespace lottery {
namespace {

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

// ---------------------------------------------------------------------------
// simd128 (wasm32): W16 layout, MR 4 x NR 8, i32x4.dot_i16x8_s

struct PathSimd128 : GenericSteps<PathSimd128, LayW16> {
  static constexpr uint32_t MR = 4, NV = 2, L = 4, NR = 8;

  static bool wants_elt(const Geo&) { return true; }
  static constexpr uint32_t kRowQuantum = MR;
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

}  // namespace

extern const Impl kImplSimd128 = make_impl<PathSimd128>("simd128", always_available);

}  // namespace lottery
}  // namespace pouw
#endif  // PL_SIMD128
