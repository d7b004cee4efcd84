// The int8 matmul lottery (lottery.h): which path runs a job, and the C API. The
// design of the kernel and the map of its files are in lottery_internal.h; each path
// lives in its own file and is listed here by its entry, fastest first.
//
// Dispatch: the first path this CPU can run (cpu_features.h), unless a test or the
// benchmark forces one by name (pouw_lottery_select); by default a job whose rank
// would make the AMX path pad more than half of every slice runs on the next path.
// Scratch sizes cover every path this machine can run, so a forced path never
// outgrows a buffer sized before it.
#include "dispatch.h"
#include "lottery_internal.h"

namespace pouw {
namespace lottery {
namespace {

const Impl* const kImpls[] = {
#if PL_X86
    &kImplAmx,
    &kImplVnni,
    &kImplAvx2,
#endif
#if PL_SIMD128
    &kImplSimd128,
#endif
    &kImplPortable,
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
  if (pouw_dispatch::same_name(kImpls[s]->name, "amx-int8") && 2 * round_up(r, 64) > 3 * (size_t)r && s + 1 < kImplCount &&
      kImpls[s + 1]->available())
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
    if (!kImpls[i]->available()) continue;
    size_t x = kImpls[i]->shared_bytes(m, k, n, r, h, w, plain);
    b = x > b ? x : b;
  }
  return b;
}
size_t max_rows(uint32_t m, uint32_t k, uint32_t n, uint32_t r, uint32_t h, uint32_t w, bool plain) {
  size_t b = 64;
  for (int i = 0; i < kImplCount; i++) {
    if (!kImpls[i]->available()) continue;
    size_t x = kImpls[i]->rows_bytes(m, k, n, r, h, w, plain);
    b = x > b ? x : b;
  }
  return b;
}

}  // namespace
}  // namespace lottery
}  // namespace pouw

using namespace pouw::lottery;

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
  return kImpls[s]->prepare(B, m, k, n, cfg->rank, cfg->tile_rows, cfg->tile_cols, false, seedA, seedB,
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
  return kImpls[s]->run_rows(A, m, k, n, r, h, w, false, seedA, seedB, threshold_le, shared, tile_row_begin * h,
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

const char* pouw_lottery_impl(void) { return kImpls[selected()]->name; }

int pouw_lottery_select(const char* name) {
  if (pouw_dispatch::select(kImpls, g_selected, name) != 0) return -1;
  __atomic_store_n(&g_forced, 1, __ATOMIC_RELAXED);
  return 0;
}

void pouw_lottery_sha256(const void* data, size_t len, uint8_t out[32]) { sha256_digest(data, len, out); }

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
  int rc = kImpls[s]->prepare(B, m, k, n, kPlainSeg, 1, 1, true, nullptr, nullptr, false, 0, 1, shared, (uint32_t)s);
  if (rc != POUW_LOTTERY_OK) return rc;
  RunOut o{nullptr, nullptr, 0, nullptr, C};
  return kImpls[s]->run_rows(A, m, k, n, kPlainSeg, 1, 1, true, nullptr, nullptr, nullptr, shared, 0, m, o, rows);
}

}  // extern "C"
