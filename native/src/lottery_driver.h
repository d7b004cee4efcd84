// The two phases of a lottery job (or of the plain product), written once over a path
// type P and instantiated by each path file: phase 1 packs B + F into panels shared by
// all threads and prepares the recovery operands; phase 2 runs whole tile rows (any
// rows for the plain GEMM): A + E packing, the microkernel with folding, tile states,
// tickets, winners and the recovered product. `make_impl<P>` turns a path into the
// dispatch table's entry.
//
// What a path type provides: its layout (AT, BT, G, CR, DMAX, digit encodings), its
// blocking (MR, NR, NV, L, kRowsTarget, kDepthTarget, kRowQuantum), kPviaGemm, and
// begin/end, pack_a, prep_group, scatter_p (or pack_p_rows), pack_p, pack_fr,
// q_update, pack_q, kernel, kernel_t and rec_kernel.
#pragma once
#include "lottery_internal.h"

namespace pouw {
namespace lottery {
namespace {

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

inline bool always_available() { return true; }

// A path's entry in the dispatch table (constant-initialized: the wasm32 build runs no
// static constructors).
template <class P>
constexpr Impl make_impl(const char* name, bool (*available)()) {
  return {name, available, t_shared_bytes<P>, t_rows_bytes<P>, t_prepare<P>, t_run_rows<P>};
}

}  // namespace
}  // namespace lottery
}  // namespace pouw
