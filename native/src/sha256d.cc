// SHA-256d nonce search: job validation, the batch driver, runtime kernel dispatch,
// the portable scalar kernel and plain SHA-256d (pouw_sha256d).
//
// What it does:
//  - pouw_sha256d_scan validates the job (negative codes below), prepares it once
//    (midstate of the constant first block, remaining padded block(s) as words),
//    then hands batches of at most 4096 nonces to the selected kernel. `cancel` is
//    read before every batch. Each kernel only flags candidates by the top 32 bits of
//    the little-endian hash integer; this file confirms every candidate with a full
//    scalar SHA-256d and a 256-bit comparison, so a faulty kernel could miss a nonce
//    but never report a false one (the tests check that none misses any).
//  - Dispatch on x86-64: avx512-16x (AVX-512 F+BW+VL and OS-enabled ZMM state,
//    cpu_features.h) -> shani-4x (SHA extensions + SSE4.1 + SSSE3)
//    -> portable. shani-2x is selectable: on the core measured (3-cycle SHA256RNDS2
//    throughput) both run at the same rate, but 4 lanes keep the SHA unit busy on
//    cores where its latency is more than twice its throughput, so 4x is the default.
//    On wasm32 with simd128: simd128-4x -> portable.
//  - Headers of 120..128 bytes need a third SHA-256 block (padding only); every
//    kernel, fast ones included, handles it.
//
// Scan semantics (the header leaves a few choices open):
//  - The nonce tried at step i is (start + i) masked to the nonce width, so a 4-byte
//    nonce wraps from 0xffffffff to 0.
//  - found[] receives nonces in scan order; once max_found entries are written, later
//    finds are dropped but the scan continues (and counts) unless stop_on_find.
//  - stop_on_find stops right after the first nonce that meets the target;
//    hashes_done then counts up to and including that nonce.
//  - When cancel is seen, hashes_done is the number of nonces in completed batches.
//
// Error codes: -1 bad header/length (null header, header_len outside 80..128),
//              -2 bad nonce field (width not 4 or 8, offset < 64, or field past the end),
//              -3 bad arguments (null job or out, found == NULL with max_found > 0).
//
// What it deliberately does not do: no threads, no allocation, no libc calls (it
// builds for freestanding wasm32); headers shorter than 80 bytes are rejected.
#include <stddef.h>
#include <stdint.h>

#include "cpu_features.h"
#include "sha256d.h"
#include "sha256d_internal.h"

namespace pouw {
namespace {

// ---------------------------------------------------------------------------
// Plain SHA-256 over a byte string (pouw_sha256d), and the per-nonce scalar path used
// by the portable kernel and the candidate check.

void sha256_bytes(const uint8_t* data, size_t len, uint8_t out[32]) {
  uint32_t st[8];
  for (int i = 0; i < 8; i++) st[i] = kIV[i];
  uint32_t w[16];
  size_t off = 0;
  for (; len - off >= 64; off += 64) {
    for (int i = 0; i < 16; i++) w[i] = load_be32(data + off + 4 * i);
    compress_words(st, w);
  }
  uint8_t last[128];
  __builtin_memset(last, 0, sizeof last);
  size_t rest = len - off;
  if (rest) __builtin_memcpy(last, data + off, rest);
  last[rest] = 0x80;
  size_t blocks = rest + 9 <= 64 ? 1 : 2;
  uint64_t bits = (uint64_t)len * 8;
  for (int i = 0; i < 8; i++) last[blocks * 64 - 1 - i] = (uint8_t)(bits >> (8 * i));
  for (size_t b = 0; b < blocks; b++) {
    for (int i = 0; i < 16; i++) w[i] = load_be32(last + 64 * b + 4 * i);
    compress_words(st, w);
  }
  for (int i = 0; i < 8; i++) store_be32(out + 4 * i, st[i]);
}

// SHA-256 of a 32-byte digest given as 8 words: one block with fixed padding.
void second_hash(const uint32_t h[8], uint32_t out[8]) {
  uint32_t w[16] = {h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 0x80000000u, 0, 0, 0, 0, 0, 0, 256};
  for (int i = 0; i < 8; i++) out[i] = kIV[i];
  compress_words(out, w);
}

// First SHA-256 of the header for one nonce, starting from the midstate.
void first_hash(const Prep& p, uint64_t nonce, uint32_t h[8]) {
  uint32_t w[16];
  for (int i = 0; i < 16; i++) w[i] = p.block[0][i];
  put_nonce(p, nonce, w);
  for (int i = 0; i < 8; i++) h[i] = p.mid[i];
  compress_words(h, w);
  if (p.tail_blocks == 2) compress_words(h, p.block[1]);
}

// Full check: SHA-256d(header with nonce), read as a little-endian integer, <= target.
bool meets_target(const Prep& p, uint64_t nonce) {
  uint32_t h1[8], h2[8];
  first_hash(p, nonce, h1);
  second_hash(h1, h2);
  // Digest bytes are the big-endian bytes of h2[0..7]; little-endian word i of the
  // 256-bit integer is bytes 4i..4i+3, i.e. bswap(h2[i]).
  for (int i = 7; i >= 0; i--) {
    uint32_t v = bswap32(h2[i]);
    if (v != p.target_words[i]) return v < p.target_words[i];
  }
  return true;
}

int prepare(const pouw_sha256d_job* job, Prep* p) {
  if (!job->header || job->header_len < 80 || job->header_len > 128) return -1;
  uint32_t len = job->header_len, off = job->nonce_offset, width = job->nonce_width;
  if (width != 4 && width != 8) return -2;
  if (off < 64 || off > len || len - off < width) return -2;

  uint8_t msg[192];
  __builtin_memset(msg, 0, sizeof msg);
  __builtin_memcpy(msg, job->header, len);
  __builtin_memset(msg + off, 0, width);
  msg[len] = 0x80;
  uint32_t total = len + 9 <= 128 ? 128 : 192;
  uint64_t bits = (uint64_t)len * 8;
  for (int i = 0; i < 8; i++) msg[total - 1 - i] = (uint8_t)(bits >> (8 * i));

  uint32_t w[16];
  for (int i = 0; i < 8; i++) p->mid[i] = kIV[i];
  for (int i = 0; i < 16; i++) w[i] = load_be32(msg + 4 * i);
  compress_words(p->mid, w);
  p->tail_blocks = total / 64 - 1;
  for (uint32_t b = 0; b < 2; b++)
    for (int i = 0; i < 16; i++)
      p->block[b][i] = b < p->tail_blocks ? load_be32(msg + 64 * (b + 1) + 4 * i) : 0;
  p->nonce_pos = off - 64;
  p->nonce_width = width;
  p->first_word = p->nonce_pos / 4;
  p->last_word = (p->nonce_pos + width - 1) / 4;
  p->nonce_mask = width == 8 ? ~(uint64_t)0 : 0xffffffffu;
  for (int i = 0; i < 8; i++) p->target_words[i] = load_le32(job->target + 4 * i);
  return 0;
}

// ---------------------------------------------------------------------------
// Portable kernel: one nonce at a time, full rounds, no precomputation beyond the
// midstate. It is the reference the other kernels are tested against.

void portable_init(const Prep&, KernelScratch*) {}

uint32_t portable_batch(const Prep& p, const KernelScratch*, uint64_t first, uint32_t n,
                        uint16_t* cand) {
  uint32_t nc = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t h1[8], h2[8];
    first_hash(p, (first + i) & p.nonce_mask, h1);
    second_hash(h1, h2);
    if (bswap32(h2[7]) <= p.target_words[7]) cand[nc++] = (uint16_t)i;
  }
  return nc;
}

const Kernel kKernelPortable = {"portable", portable_init, portable_batch};

// ---------------------------------------------------------------------------
// Dispatch.

// Kernels compiled into this build, in preference order, and whether this CPU runs them.
struct Entry {
  const Kernel* kernel;
  bool usable;
};

int list_kernels(Entry* out) {
  int n = 0;
#if POUW_X86_KERNELS
  const CpuFeatures f = cpu_features();
  out[n++] = {&kKernelAvx512, cpu_avx512(f)};
  out[n++] = {&kKernelShani4, f.sha};
  out[n++] = {&kKernelShani2, f.sha};
#endif
#if defined(__wasm_simd128__)
  out[n++] = {&kKernelSimd128, true};
#endif
  out[n++] = {&kKernelPortable, true};
  return n;
}

// Selected kernel; written with atomic builtins so first use from several threads is
// benign (they all compute the same value) without needing thread-safe statics.
const Kernel* g_selected = nullptr;

const Kernel* selected() {
  const Kernel* k = __atomic_load_n(&g_selected, __ATOMIC_ACQUIRE);
  if (k) return k;
  Entry e[8];
  int n = list_kernels(e);
  for (int i = 0; i < n; i++)
    if (e[i].usable) {
      k = e[i].kernel;
      break;
    }
  __atomic_store_n(&g_selected, k, __ATOMIC_RELEASE);
  return k;
}

bool same_name(const char* a, const char* b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}

}  // namespace
}  // namespace pouw

// wasm32 toolchains default to hidden visibility; mark the interface so that linking
// with --export-dynamic exports it. Native builds keep their default.
#if defined(__wasm__)
#define POUW_API __attribute__((visibility("default")))
#else
#define POUW_API
#endif

extern "C" {

#if defined(__wasm__) && !defined(__wasm_bulk_memory__)
// Without bulk memory, clang lowers block copies and clears to memcpy/memset calls that
// a freestanding module must provide. Weak, so a linked libc's versions take precedence;
// no_builtin keeps the loops from being turned back into calls to themselves.
__attribute__((weak, no_builtin)) void* memcpy(void* dst, const void* src, size_t n) {
  uint8_t* d = (uint8_t*)dst;
  const uint8_t* s = (const uint8_t*)src;
  while (n--) *d++ = *s++;
  return dst;
}
__attribute__((weak, no_builtin)) void* memset(void* dst, int c, size_t n) {
  uint8_t* d = (uint8_t*)dst;
  while (n--) *d++ = (uint8_t)c;
  return dst;
}
#endif

POUW_API int pouw_sha256d_scan(const pouw_sha256d_job* job, uint64_t start, uint64_t count,
                      uint64_t* found, uint32_t max_found, int stop_on_find,
                      const volatile int32_t* cancel, pouw_sha256d_result* out) {
  using namespace pouw;
  if (!job || !out || (!found && max_found)) return -3;
  out->hashes_done = 0;
  out->found_count = 0;
  Prep p;
  int rc = prepare(job, &p);
  if (rc) return rc;

  const Kernel* k = selected();
  KernelScratch scratch;
  k->init(p, &scratch);
  uint16_t cand[kBatch];
  uint64_t done = 0;
  uint32_t nfound = 0;
  while (done < count) {
    if (cancel && *cancel) break;
    uint32_t n = count - done < kBatch ? (uint32_t)(count - done) : kBatch;
    uint64_t first = start + done;
    uint32_t nc = k->batch(p, &scratch, first, n, cand);
    for (uint32_t j = 0; j < nc; j++) {
      uint64_t nonce = (first + cand[j]) & p.nonce_mask;
      if (!meets_target(p, nonce)) continue;
      if (nfound < max_found) found[nfound++] = nonce;
      if (stop_on_find) {
        out->hashes_done = done + cand[j] + 1;
        out->found_count = nfound;
        return 0;
      }
    }
    done += n;
  }
  out->hashes_done = done;
  out->found_count = nfound;
  return 0;
}

POUW_API const char* pouw_sha256d_impl(void) { return pouw::selected()->name; }

POUW_API int pouw_sha256d_select(const char* name) {
  using namespace pouw;
  if (!name) return -1;
  Entry e[8];
  int n = list_kernels(e);
  for (int i = 0; i < n; i++)
    if (same_name(name, e[i].kernel->name)) {
      if (!e[i].usable) return -1;
      __atomic_store_n(&g_selected, e[i].kernel, __ATOMIC_RELEASE);
      return 0;
    }
  return -1;
}

POUW_API void pouw_sha256(const uint8_t* data, size_t len, uint8_t out[32]) { pouw::sha256_bytes(data, len, out); }

POUW_API void pouw_sha256d(const uint8_t* data, size_t len, uint8_t out[32]) {
  uint8_t first[32];
  pouw::sha256_bytes(data, len, first);
  pouw::sha256_bytes(first, 32, out);
}

}  // extern "C"
