// The portable path of the matmul lottery: int16 rows (S16 layout), MR 4 x NR 16, plain
// scalar loops the compiler vectorizes as widening multiply-adds. Always available, on
// every CPU and in the wasm32 build without SIMD128; also the home of the mode-B fold
// every path falls back to for tile shapes whose columns do not map onto vector lanes.
#include "lottery_driver.h"

namespace pouw {
namespace lottery {

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

namespace {


struct PathPortable : GenericSteps<PathPortable, LayS16> {
  static constexpr uint32_t MR = 4, NV = 1, L = 16, NR = 16;
  static constexpr uint32_t kRowQuantum = MR;

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


}  // namespace

extern const Impl kImplPortable = make_impl<PathPortable>("portable", always_available);

}  // namespace lottery
}  // namespace pouw
