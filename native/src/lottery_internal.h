// The int8 matmul lottery kernel's private header (the public interface is lottery.h;
// the oracle is core/lottery.ts and the specification protocol §15).
//
// Files: this header (shared types, job geometry, buffer views, the generic packers);
// lottery_driver.h (the two phases of a job, instantiated once per path);
// lottery_stream.cc (SHA-256 noise streams and tile tickets on 16, 8 or 4 lanes); one
// file per path: lottery_portable.cc, lottery_avx2.cc, lottery_vnni.cc and
// lottery_amx.cc (with lottery_avx512.h, what the two AVX-512 paths share),
// lottery_simd128.cc; and lottery.cc (dispatch and the C API). A path file defines
// its path type with internal linkage and exports one `Impl`; nothing else crosses
// files but the stream, ticket and fold functions declared here.
//
// Structure
//  - SHA-256: a scalar compression (tickets, one-shot helper) and a multi-lane
//    counter-mode stream generator written once with compiler vector extensions
//    and instantiated for 16 lanes (AVX-512), 8 (AVX2) and 4 (SSE2 / SIMD128 /
//    anything else). Every stream block is one compression; rounds 0..7 only see
//    the seed, so they are done once per stream.
//  - Noise: E[i][t] = EL[i][p_t] - EL[i][q_t] is applied while A is packed (a
//    byte-table lookup per row with AVX-512 VBMI when the rank is <= 128; for the
//    int16 layouts two 8-byte loads from E_L transposed give E for 8 rows), and
//    F[t][j] = FR[c_t][j] - FR[d_t][j] while B is packed (row vectors of F_R).
//    Entries are range-checked in the same passes.
//  - Depth layout: k is cut into segments, one per r-wide slice plus the unfolded
//    tail (k mod r); each segment is padded with zeros to a multiple of the group
//    G the multiply instruction consumes (64 for AMX, 4 bytes for VNNI, 2 int16 for
//    AVX2/SIMD128, 1 for portable), so every slice end falls on a group boundary
//    whatever r is.
//  - Product: a blocked GEMM. B+F is packed once per job into NR-column panels
//    (shared by all threads); for every block of MC rows (whole tile rows) and
//    every k-block of S segments, A+E is packed into MR-row panels and a
//    microkernel computes MR x NR accumulators, continuing from the running
//    accumulators of the previous k-block. At the end of every folded segment the
//    microkernel XORs its accumulators, still in registers (or, for AMX, just
//    stored from the tiles to an L1 buffer), into the tile's slice partial
//    X[tile][slice] (16 words): when tile_cols % 16 == 0 word (i*w + j) mod 16 is
//    just the lane j mod 16, so a column vector XORs straight in and the rows of
//    one tile reduce first ("mode A"). Other tile shapes spill the accumulators
//    and fold them word by word ("mode B", slow but exact). After a k-block every
//    tile state absorbs its slices in order: state ^= X; rotl 13;
//    state[s mod 16] += s + 1. Folding costs O(MR*NV) vector operations per slice
//    against MR*NV*r/G multiply instructions.
//  - VNNI (vpdpbusd, u8 x s8): A+E is stored as u8 (a + 128); every segment of a B
//    panel ends with a row of 128 * (column sums of B+F over the segment), which
//    the microkernel subtracts at the segment end, so the accumulators are the true
//    int32 sums whenever they are folded or stored. Sums wrap modulo 2^32 without
//    saturation, so results are exact. AMX (tdpbssd) and the int16 paths multiply
//    signed values and need no correction.
//  - Recovery: AB = C' - (A'F_L) F_R - E_L (E_R B), where A' = A + E (equal to the
//    §15 formula: C' = A'B + A'F and A'B = AB + EB). P = A'F_L (m x r) is
//    scattered from the packed A' blocks (AMX: computed by the tile product with
//    F_L packed as extra B panels); Q = E_R B (r x n) is scattered from the rows
//    of B when B is packed. Both are int32 with zero row sums (P) and zero column
//    sums (Q), split into balanced digits (base 256 for VNNI and AMX, base 2^16 for
//    int16 paths), and the rank-r products are computed by the same multiply
//    instructions, digit by digit with a Horner shift. The zero sums let F_R and
//    E_L be offset by +32 into u8 for VNNI at no cost. Everything is exact modulo
//    2^32 and |AB| < 2^31.
//
// Implementations: "amx-int8" (tiles, 32 x 32 blocks; Linux, after the kernel grants
// the tile state), "avx512-vnni" (MR 8 x NR 48), "avx2" (int16 pairs, vpmaddwd,
// MR 4 x NR 16), "simd128" (wasm, i32x4.dot_i16x8_s, MR 4 x NR 8) and "portable"
// (int16 rows with scalar loops the compiler vectorizes). Dispatch on x86-64 checks
// the CPU at run time (cpu_features.h); every wide function carries its own target
// attribute, so every file is compiled for baseline x86-64. All paths give identical
// results.
#pragma once
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) && !defined(__clang__)
// Vector-extension helpers are always inlined into their target-specific callers; the
// notes about by-value vector arguments of the out-of-line copies do not apply.
#pragma GCC diagnostic ignored "-Wpsabi"
// GCC 12 reports its own intrinsics' undefined pass-through operands as possibly
// uninitialized once inlined; a false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#elif defined(__clang__)
#pragma clang diagnostic ignored "-Wpsabi"
#endif

#include "cpu_features.h"
#include "kernel_util.h"
#include "lottery.h"
#include "sha256_core.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define PL_X86 1
#include <immintrin.h>
#else
#define PL_X86 0
#endif

#if defined(__wasm_simd128__)
#define PL_SIMD128 1
#include <wasm_simd128.h>
#else
#define PL_SIMD128 0
#endif


#define PL_INLINE inline __attribute__((always_inline))
#define PL_KERNEL POUW_KERNEL_ATTR  // microkernels stay out of interprocedural optimization (kernel_util.h)
#define PL_UNROLL _Pragma("GCC unroll 32")

#if PL_X86
#define PL_TARGET_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512vbmi,avx2,fma,bmi2")))
#define PL_TARGET_VNNI_NOVBMI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,bmi2")))
#define PL_TARGET_AVX2 __attribute__((target("avx2,fma,bmi2")))
#define PL_TARGET_AVX512F __attribute__((target("avx512f")))
#endif

namespace pouw {
namespace lottery {

// SHA-256 is sha256_core.h's, shared with the SHA-256d kernels.
using namespace sha256;

// Internal linkage for what is inlined or instantiated in each file: every path file
// compiles its own copy under its own target attributes.
namespace {

// ---------------------------------------------------------------------------
// Small helpers (no libc; round_up, min_u32 and align64 are kernel_util.h's)

PL_INLINE uint32_t max_u32(uint32_t a, uint32_t b) { return a > b ? a : b; }
__attribute__((unused)) PL_INLINE uint32_t load_u32(const void* p) {
  uint32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}
__attribute__((unused)) PL_INLINE void store_u32(void* p, uint32_t v) { __builtin_memcpy(p, &v, 4); }
PL_INLINE int32_t load_i32(const void* p) {
  int32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}
PL_INLINE void store_i32(void* p, int32_t v) { __builtin_memcpy(p, &v, 4); }
PL_INLINE uint32_t rotl32(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

// Bump allocator over caller scratch; every piece 64-byte aligned. With base == null it
// only measures.
struct Carve {
  uint8_t* base;
  size_t used;
  template <class T>
  T* take(size_t count) {
    size_t off = round_up(used, 64);
    used = off + count * sizeof(T);
    return base ? (T*)(base + off) : (T*)nullptr;
  }
};

// Lane types of the multi-lane SHA-256 (compiler vector extensions).
typedef uint32_t u32x4 __attribute__((vector_size(16)));
#if PL_X86
typedef uint32_t u32x8 __attribute__((vector_size(32)));
typedef uint32_t u32x16 __attribute__((vector_size(64)));
#endif

template <class V>
PL_INLINE V splat_v(uint32_t x) {
  V v = {};
  return v + x;
}

}  // namespace

// ---------------------------------------------------------------------------
// Noise streams and tickets (lottery_stream.cc)

// Stream: block i = SHA-256(seed || label || u64le i).
struct StreamKey {
  uint32_t w[16];    // the single padded block, big-endian words, counter bytes zero
  uint32_t mid[8];   // working variables after rounds 0..7 (they only see the seed)
  uint32_t co;       // byte offset of the counter
  uint32_t one_block;
  uint8_t seed[32];
  const char* label;
  uint32_t label_len;
};
void stream_init(StreamKey& k, const uint8_t seed[32], const char* label, uint32_t label_len);
// `count` 32-byte blocks from block `first`, on the widest lanes the CPU has.
void stream_blocks(const StreamKey& k, uint64_t first, uint64_t count, uint8_t* out);
// `count` bytes of the stream from byte `offset`.
void expand_range(const StreamKey& k, uint64_t offset, uint64_t count, uint8_t* out);
// Dense noise entries: (byte & 63) - 32.
void dense_range(const StreamKey& k, uint64_t offset, uint64_t count, int8_t* out);
// Index pairs for t in [t0, t0 + count): p = u mod r, q = (p + 1 + v mod (r - 1)) mod r.
void pairs_range(const StreamKey& k, uint32_t r, uint32_t t0, uint32_t count, uint16_t* p, uint16_t* q);
// SHA-256 lanes in use: 16 (AVX-512), 8 (AVX2) or 4.
int stream_lanes_available();
// Plain SHA-256 of a byte string.
void sha256_digest(const void* data, size_t len, uint8_t out[32]);

// Tickets: tagged SHA-256 ("pouw/lottery-ticket") over seedA || u32 ti || u32 tj || 16 words.
struct TicketKey {
  uint32_t mid[8];  // state after SHA256(tag) || SHA256(tag)
};
void ticket_init(TicketKey& t);
// Tickets of `count` tiles (any count), 16 per batch at most.
void tickets_batch(const TicketKey& t, const uint8_t* seedA, uint32_t count, const uint32_t* ti, const uint32_t* tj,
                   const uint32_t* states, uint8_t* out);
// ticket <= threshold, both little-endian 256-bit integers.
bool ticket_wins(const uint8_t ticket[32], const uint8_t thr[32]);

namespace {

// ---------------------------------------------------------------------------
// Element layouts
//
// Q8 (VNNI): groups of 4 k-values. A panel: u8 (a + 128), [group][MR][4]. B panel:
// s8, [group][NR][4], each segment followed by one row of NR int32 = 128 * column sums.
// Recovery: P digits s8 and EL + 32 u8 (broadcast side); F_R + 32 u8 and Q digits s8
// (vector side); balanced base-256 digits.
// W16: groups of 2 int16. A [pair][MR][2], B [pair][NR][2], no correction rows;
// recovery all int16, balanced base-2^16 digits.
// S16 (portable): W16 with groups of 1. Q8 is in lottery_avx512.h, AMX in lottery_amx.cc.

struct LayW16 {
  typedef int16_t AT;
  typedef int16_t BT;
  typedef int16_t RPT;
  typedef int16_t RET;
  typedef int16_t RFT;
  typedef int16_t RQT;
  static constexpr uint32_t G = 2, CR = 0, DMAX = 2;
  static PL_INLINE AT a_enc(int v) { return (int16_t)v; }
  static PL_INLINE int a_dec(AT x) { return x; }
  static PL_INLINE BT b_enc(int v) { return (int16_t)v; }
  static PL_INLINE RET el_enc(int v) { return (int16_t)v; }
  static PL_INLINE RFT fr_enc(int v) { return (int16_t)v; }
  static PL_INLINE void digits(int32_t v, int32_t d[DMAX]) {
    d[0] = (int16_t)(uint16_t)v;
    d[1] = (v - d[0]) >> 16;
  }
  static PL_INLINE uint32_t digits_needed(int32_t lo, int32_t hi) {
    return lo >= -32768 && hi <= 32767 ? 1 : 2;
  }
};

// Portable: groups of 1 (plain int16 rows), so the scalar loops vectorize as widening
// multiply-adds; recovery as W16.
struct LayS16 : LayW16 {
  static constexpr uint32_t G = 1;
};

// ---------------------------------------------------------------------------
// Job geometry

constexpr uint32_t kMaxNV = 8;
constexpr uint32_t kRowsDefault = 128;   // rows per row block (rounded to whole tile rows)
constexpr uint32_t kDepthDefault = 512;  // k-values per k-block (rounded to whole segments)
constexpr size_t kXBudget = 1 << 20;   // bytes of slice partials per k-block
constexpr uint32_t kPlainSeg = 512;    // segment length of the plain GEMM

struct Geo {
  uint32_t m, k, n, r, h, w;
  bool plain;
  uint32_t G, MR, NR, L, CR;
  uint32_t nfold, tail, nseg, gps, tgroups, seg_rows;
  size_t b_rows;  // group rows (including correction rows) per B panel
  uint32_t npanels, npad, across, down;
  uint32_t rq;  // rank groups (recovery)
  uint32_t nrp; // panels of NR columns over the rank (F_L as extra B panels, when P is a product)
  uint32_t MC, MCpad, S, tiles_rb;
  bool modeA;

  uint32_t seg_groups(uint32_t s) const { return s < nfold ? gps : tgroups; }
  uint32_t seg_len(uint32_t s) const { return s < nfold ? r : tail; }
};

// Shape rules of §15; true when valid.
inline bool dims_ok(uint32_t m, uint32_t k, uint32_t n, uint32_t r, uint32_t h, uint32_t w) {
  if (m == 0 || n == 0 || k == 0 || h == 0 || w == 0) return false;
  if (r < 2 || r > 65536 || k > 65536 || k < r) return false;
  if (m % h != 0 || n % w != 0) return false;
  // keep byte counts well inside size_t on 32-bit targets
  if ((uint64_t)m * k > ((uint64_t)1 << 31) || (uint64_t)k * n > ((uint64_t)1 << 31) ||
      (uint64_t)m * n > ((uint64_t)1 << 29))
    return false;
  return true;
}

template <class P>
Geo make_geo(uint32_t m, uint32_t k, uint32_t n, uint32_t r, uint32_t h, uint32_t w, bool plain) {
  Geo g;
  g.m = m, g.k = k, g.n = n, g.r = r, g.h = h, g.w = w, g.plain = plain;
  g.G = P::G, g.MR = P::MR, g.NR = P::NR, g.L = P::L, g.CR = P::CR;
  g.nfold = k / r;
  g.tail = k % r;
  g.nseg = g.nfold + (g.tail ? 1 : 0);
  g.gps = (r + P::G - 1) / P::G;
  g.tgroups = (g.tail + P::G - 1) / P::G;
  g.seg_rows = g.gps + P::CR;
  g.b_rows = (size_t)g.nfold * g.seg_rows + (g.tail ? g.tgroups + P::CR : 0);
  g.npanels = (n + P::NR - 1) / P::NR;
  g.npad = g.npanels * P::NR;
  g.across = n / w;
  g.down = m / h;
  g.rq = (r + P::G - 1) / P::G;
  g.nrp = (r + P::NR - 1) / P::NR;
  if (plain) {
    g.MC = (uint32_t)round_up(min_u32(m, P::kRowsTarget), P::MR);
    g.S = 1;
    g.tiles_rb = 0;
    g.modeA = true;
  } else {
    g.MC = h * max_u32(1, P::kRowsTarget / h);
    if (g.MC > m) g.MC = m;
    g.tiles_rb = (g.MC / h) * g.across;
    uint32_t s = max_u32(1, P::kDepthTarget / (g.gps * P::G));
    if (s > g.nseg) s = g.nseg;
    while (s > 1 && (size_t)g.tiles_rb * s * 64 > kXBudget) s /= 2;
    g.S = s;
    g.modeA = (w % 16 == 0) && (h % P::kRowQuantum == 0);
  }
  g.MCpad = (uint32_t)round_up(g.MC, P::MR);
  return g;
}

// ---------------------------------------------------------------------------
// Shared buffer (phase 1 output)

constexpr uint32_t kMagic = 0x4c4f5454;  // "LOTT"

struct SharedHeader {
  uint32_t magic;
  uint32_t impl;
  uint32_t m, k, n, r, h, w;
  uint32_t with_product;
  uint32_t plain;
};

template <class P>
struct SharedView {
  SharedHeader* hdr;
  typename P::BT* bp;     // npanels x b_rows x NR x G
  int8_t* frt;            // r x npad: F_R row-major
  int32_t* qtmp;          // r x npad: Q = E_R B (int32)
  typename P::RFT* frp;   // npanels x rq x NR x G
  typename P::RQT* qp;    // DMAX x npanels x rq x NR x G
  uint8_t* dq;            // digits needed per panel
  typename P::BT* fl;     // nrp x b_rows x NR x G: F_L in the B layout (when P is a product)
  size_t bytes;
};

template <class P>
SharedView<P> shared_view(const Geo& g, void* base) {
  Carve c{base ? align64(base) : nullptr, 0};
  SharedView<P> v;
  v.hdr = c.take<SharedHeader>(1);
  const size_t panel = g.b_rows * P::NR * P::G;
  v.bp = c.take<typename P::BT>((size_t)g.npanels * panel);
  if (!g.plain) {
    v.frt = c.take<int8_t>((size_t)g.r * g.npad);
    v.qtmp = c.take<int32_t>((size_t)g.r * g.npad);
    const size_t rpanel = (size_t)g.rq * P::NR * P::G;
    v.frp = c.take<typename P::RFT>((size_t)g.npanels * rpanel);
    v.qp = c.take<typename P::RQT>((size_t)P::DMAX * g.npanels * rpanel);
    v.dq = c.take<uint8_t>(g.npanels);
    v.fl = P::kPviaGemm ? c.take<typename P::BT>((size_t)g.nrp * panel) : nullptr;
  } else {
    v.frt = nullptr, v.qtmp = nullptr, v.frp = nullptr, v.qp = nullptr, v.dq = nullptr, v.fl = nullptr;
  }
  v.bytes = c.used + 64;
  return v;
}

// ---------------------------------------------------------------------------
// Per-thread scratch (phase 2)

template <class P>
struct RowsView {
  uint16_t *erp, *erq, *flp, *flq;
  uint8_t *erp8, *erq8;
  int8_t* el;                 // MC x r
  int8_t* elt;                // r x MCpad
  typename P::AT* ablk;       // MCpad x (S * gps * G)
  int32_t* cbuf;              // MCpad x npad
  uint32_t* states;           // tiles_rb x 16
  uint32_t* xs;               // tiles_rb x S x 16
  uint32_t* sink;             // S x 16 + 16
  int32_t* pt;                // (MCpad / MR) x (rq * G) x MR, or MCpad x (nrp * NR) when P is a product
  typename P::RPT* ppk;       // (MCpad / MR) x DMAX x rq x MR x G
  typename P::RET* epk;       // (MCpad / MR) x rq x MR x G
  size_t bytes;
};

template <class P>
RowsView<P> rows_view(const Geo& g, void* base) {
  Carve c{base ? align64(base) : nullptr, 0};
  RowsView<P> v;
  v.erp = c.take<uint16_t>(g.k);
  v.erq = c.take<uint16_t>(g.k);
  v.flp = c.take<uint16_t>(g.k);
  v.flq = c.take<uint16_t>(g.k);
  v.erp8 = c.take<uint8_t>(g.k + 64);
  v.erq8 = c.take<uint8_t>(g.k + 64);
  v.el = c.take<int8_t>((size_t)g.MC * g.r + 64);
  v.elt = c.take<int8_t>((size_t)g.r * g.MCpad + 64);
  v.ablk = c.take<typename P::AT>((size_t)g.MCpad * g.S * g.gps * P::G + 64);
  v.cbuf = c.take<int32_t>((size_t)g.MCpad * g.npad);
  v.states = c.take<uint32_t>((size_t)g.tiles_rb * 16);
  v.xs = c.take<uint32_t>((size_t)g.tiles_rb * g.S * 16);
  v.sink = c.take<uint32_t>((size_t)g.S * 16 + 16);
  const uint32_t panels = g.MCpad / P::MR;
  if (!g.plain) {
    v.pt = c.take<int32_t>(P::kPviaGemm ? (size_t)g.MCpad * g.nrp * P::NR : (size_t)panels * g.rq * P::G * P::MR);
    v.ppk = c.take<typename P::RPT>((size_t)panels * P::DMAX * g.rq * P::MR * P::G);
    v.epk = c.take<typename P::RET>((size_t)panels * g.rq * P::MR * P::G);
  } else {
    v.pt = nullptr, v.ppk = nullptr, v.epk = nullptr;
  }
  v.bytes = c.used + 64;
  return v;
}

// ---------------------------------------------------------------------------
// Microkernel interface

}  // namespace

// Generic fold (mode B): accumulators of one MR x NR block, given row by row.
struct FoldCtx {
  uint32_t h, w, n, rows, across, S;
  uint32_t* X;  // tiles_rb x S x 16
};

// The fold of mode B (lottery_portable.cc): accumulators of one MR x NR block, row by row.
void fold_generic(const FoldCtx* f, const int32_t* vals, uint32_t MR, uint32_t NR, uint32_t row0, uint32_t col0,
                  uint32_t seg);

namespace {

struct KArgs {
  const void* ap;
  const void* bp;
  int32_t* c;
  size_t ldc;
  uint32_t nseg, gps, last_groups, nfold;  // segments [0, nfold) of this call are folded
  uint32_t load_c;
  uint32_t* xp[kMaxNV];  // mode A: X pointer per column vector; slice stride 16 words
  const FoldCtx* gen;    // mode B when not null
  uint32_t row0, col0;   // block-relative row and absolute column of the MR x NR block (mode B)
};

struct RArgs {
  const void* pp;  // P digits of the MR panel: [d][rq][MR][G]
  const void* ep;  // EL of the MR panel: [rq][MR][G]
  const void* fp;  // F_R panel: [rq][NR][G]
  const void* qp;  // Q digits panel 0: [rq][NR][G]; digit d at qp + d * qstride
  size_t pstride, qstride;  // elements between digits
  uint32_t rq, D;
  const int32_t* c;
  size_t ldc;
  int32_t* out;
  size_t ldo;
  uint32_t rows, cols;
};

// ---------------------------------------------------------------------------
// Generic packing (scalar; paths may override)

// What pack_a needs to add E to A (el == null: no noise, the plain product).
struct ANoise {
  const int8_t* el;    // E_L rows of the row block, rows x r
  const int8_t* elt;   // the same transposed, r x MCpad (rows past `rows` zero)
  const uint16_t* erp;  // E_R index pairs for every t
  const uint16_t* erq;
  const uint8_t* erp8;  // the same as bytes (valid when r <= 256), 64 bytes of zero padding
  const uint8_t* erq8;
};

// A + E for rows [0, rows) of the block starting at global row R (rows beyond `rows`,
// up to MCpad, and padded depth are zero), segments [s0, s1), into MR-row panels.
// Returns false when an entry of A lies outside [-64, 64].
template <class P>
bool pack_a_generic(const Geo& g, const int8_t* A, uint32_t R, uint32_t rows, const ANoise& nz, uint32_t s0,
                    uint32_t s1, typename P::AT* dst) {
  const int8_t* el = nz.el;
  const uint16_t* erp = nz.erp;
  const uint16_t* erq = nz.erq;
  const uint32_t MR = P::MR, G = P::G;
  const size_t stride = (size_t)(s1 - s0) * g.gps * MR * G;  // per panel (upper bound, fixed)
  bool ok = true;
  const uint32_t panels = g.MCpad / MR;
  for (uint32_t ip = 0; ip < panels; ip++) {
    for (uint32_t i = 0; i < MR; i++) {
      const uint32_t row = ip * MR + i;
      const bool valid = row < rows;
      const int8_t* arow = valid ? A + (size_t)(R + row) * g.k : nullptr;
      const int8_t* erow = valid && el ? el + (size_t)row * g.r : nullptr;
      typename P::AT* d0 = dst + ip * stride + i * G;
      for (uint32_t s = s0; s < s1; s++) {
        const uint32_t t0 = s * g.r, len = g.seg_len(s), groups = g.seg_groups(s);
        typename P::AT* d = d0 + (size_t)(s - s0) * g.gps * MR * G;
        for (uint32_t gi = 0; gi < groups; gi++) {
          for (uint32_t e = 0; e < G; e++) {
            const uint32_t tl = gi * G + e;
            int v = 0;
            if (valid && tl < len) {
              const uint32_t t = t0 + tl;
              v = arow[t];
              if (!g.plain && (v < -64 || v > 64)) ok = false;
              if (erow) v += erow[erp[t]] - erow[erq[t]];
            }
            d[(size_t)gi * MR * G + e] = P::a_enc(v);
          }
        }
      }
    }
  }
  return ok;
}

// B + F for global rows [t0, t0 + G) of one group (rows past the segment are zero) and
// columns [c0, c1), into buf (G rows x (c1 - c0)). fl: F_L pairs of those rows.
PL_INLINE bool noisy_b_rows(const Geo& g, const int8_t* B, const int8_t* frt, uint32_t t0, uint32_t valid_rows,
                            const uint16_t* flp, const uint16_t* flq, uint32_t c0, uint32_t c1, int8_t* buf,
                            uint32_t G) {
  const uint32_t cw = c1 - c0;
  bool ok = true;
  for (uint32_t e = 0; e < G; e++) {
    int8_t* out = buf + (size_t)e * cw;
    if (e >= valid_rows) {
      __builtin_memset(out, 0, cw);
      continue;
    }
    const int8_t* brow = B + (size_t)(t0 + e) * g.n + c0;
    if (!frt) {
      __builtin_memcpy(out, brow, cw);
      continue;
    }
    const int8_t* fc = frt + (size_t)flp[e] * g.npad + c0;
    const int8_t* fd = frt + (size_t)flq[e] * g.npad + c0;
    uint8_t bad = 0;
    for (uint32_t j = 0; j < cw; j++) {
      const int8_t b = brow[j];
      bad |= (uint8_t)((uint8_t)(b + 64) > 128);
      out[j] = (int8_t)(b + fc[j] - fd[j]);
    }
    if (bad) ok = false;
  }
  return ok;
}

// Packs G rows (buf, G x cw, columns [c0, c0 + cw), c0 a multiple of NR) into the
// panels at group row `grow`; with a correction row (Q8) adds 128 * column sums into
// the int32 row at group row `corr_grow`.
template <class P>
void pack_b_group_generic(const Geo& g, const int8_t* buf, uint32_t c0, uint32_t cw, size_t grow,
                          size_t corr_grow, typename P::BT* bp) {
  const uint32_t NR = P::NR, G = P::G;
  const size_t panel = g.b_rows * NR * G;
  for (uint32_t j = 0; j < cw; j++) {
    const uint32_t col = c0 + j;
    typename P::BT* pb = bp + (size_t)(col / NR) * panel;
    typename P::BT* d = pb + grow * NR * G + (size_t)(col % NR) * G;
    int sum = 0;
    for (uint32_t e = 0; e < G; e++) {
      const int v = buf[(size_t)e * cw + j];
      d[e] = P::b_enc(v);
      sum += v;
    }
    if (P::CR) {
      uint8_t* cp = (uint8_t*)(pb + corr_grow * NR * G) + 4 * (size_t)(col % NR);
      store_i32(cp, load_i32(cp) + 128 * sum);
    }
  }
}

// B + F for the group of rows [t, t + vr) (vr <= G; missing rows are zero), columns
// [c0, c1), packed at group row grow (correction row corr_grow). Generic version.
template <class P>
bool prep_group_generic(const Geo& g, const int8_t* B, const int8_t* frt, uint32_t t, uint32_t vr,
                        const uint16_t* flp, const uint16_t* flq, uint32_t c0, uint32_t c1, size_t grow,
                        size_t corr_grow, typename P::BT* bp) {
  const uint32_t CW = P::NR * max_u32(1, 256 / P::NR);
  int8_t buf[4 * 256 + 64];
  bool ok = true;
  for (uint32_t cc = c0; cc < c1; cc += CW) {
    const uint32_t cw = min_u32(CW, c1 - cc);
    if (!noisy_b_rows(g, B, frt, t, vr, flp, flq, cc, cc + cw, buf, P::G)) ok = false;
    pack_b_group_generic<P>(g, buf, cc, cw, grow, corr_grow, bp);
  }
  return ok;
}

// P = A' F_L, scattered from a packed A' block: P[i][c_t] += A'[i][t], P[i][d_t] -= A'[i][t].
// pt holds, per MR panel, (rq * G) rows of MR int32.
template <class P>
void scatter_p_generic(const Geo& g, const typename P::AT* ablk, uint32_t rows, uint32_t s0, uint32_t s1,
                       const uint16_t* flp, const uint16_t* flq, int32_t* pt) {
  const uint32_t MR = P::MR, G = P::G;
  const size_t astride = (size_t)(s1 - s0) * g.gps * MR * G;
  const uint32_t panels = (rows + MR - 1) / MR;
  for (uint32_t ip = 0; ip < panels; ip++) {
    int32_t* ptp = pt + (size_t)ip * g.rq * G * MR;
    for (uint32_t s = s0; s < s1; s++) {
      const uint32_t t0 = s * g.r, len = g.seg_len(s);
      const typename P::AT* d = ablk + ip * astride + (size_t)(s - s0) * g.gps * MR * G;
      for (uint32_t tl = 0; tl < len; tl++) {
        const uint32_t t = t0 + tl;
        const typename P::AT* a = d + (size_t)(tl / G) * MR * G + tl % G;
        int32_t* pc = ptp + (size_t)flp[t] * MR;
        int32_t* pd = ptp + (size_t)flq[t] * MR;
        for (uint32_t i = 0; i < MR; i++) {
          const int32_t v = P::a_dec(a[i * G]);
          pc[i] += v;
          pd[i] -= v;
        }
      }
    }
  }
}

// Q = E_R B, one row t of B: qa += B[t], qb -= B[t] over columns [c0, c1). Generic version.
PL_INLINE void q_update_generic(int32_t* qa, int32_t* qb, const int8_t* brow, uint32_t c0, uint32_t c1) {
  for (uint32_t j = c0; j < c1; j++) {
    qa[j] += brow[j];
    qb[j] -= brow[j];
  }
}

// Recovery operands of one row block: P digits [ip][d][rq][MR][G] and E_L
// [ip][rq][MR][G] (rows past `rows` and ranks past r are zero). Generic version.
template <class P>
void pack_p_generic(const Geo& g, const int32_t* pt, uint32_t apanels, uint32_t rows, const int8_t* el,
                    typename P::RPT* ppk, typename P::RET* epk) {
  const uint32_t MR = P::MR, G = P::G, r = g.r, rg = g.rq * G;
  const size_t pstride = (size_t)g.rq * MR * G;
  for (uint32_t ip = 0; ip < apanels; ip++) {
    const int32_t* ptp = pt + (size_t)ip * rg * MR;
    typename P::RPT* pp = ppk + (size_t)ip * P::DMAX * pstride;
    typename P::RET* ep = epk + (size_t)ip * pstride;
    for (uint32_t cq = 0; cq < g.rq; cq++)
      for (uint32_t i = 0; i < MR; i++)
        for (uint32_t e = 0; e < G; e++) {
          const uint32_t c = cq * G + e, row = ip * MR + i;
          const size_t at = ((size_t)cq * MR + i) * G + e;
          int32_t dig[P::DMAX];
          P::digits(ptp[(size_t)c * MR + i], dig);
          for (uint32_t d = 0; d < P::DMAX; d++) pp[d * pstride + at] = (typename P::RPT)dig[d];
          ep[at] = c < r && row < rows ? P::el_enc(el[(size_t)row * r + c]) : 0;
        }
  }
}

// F_R of panel pj, [rq][NR][G]. Generic version.
template <class P>
void pack_fr_generic(const Geo& g, const int8_t* frt, uint32_t pj, typename P::RFT* d) {
  const uint32_t NR = P::NR, G = P::G;
  for (uint32_t cq = 0; cq < g.rq; cq++)
    for (uint32_t jj = 0; jj < NR; jj++)
      for (uint32_t e = 0; e < G; e++) {
        const uint32_t c = cq * G + e, j = pj * NR + jj;
        d[((size_t)cq * NR + jj) * G + e] = c < g.r && j < g.n ? P::fr_enc(frt[(size_t)c * g.npad + j]) : 0;
      }
}

// Digits of Q for panel pj, [d][rq][NR][G] with digit stride qstride; returns how many
// digits the panel needs. Generic version.
template <class P>
uint32_t pack_q_generic(const Geo& g, const int32_t* qtmp, uint32_t pj, typename P::RQT* d, size_t qstride) {
  const uint32_t NR = P::NR, G = P::G;
  int32_t lo = 0, hi = 0;
  for (uint32_t cq = 0; cq < g.rq; cq++)
    for (uint32_t jj = 0; jj < NR; jj++)
      for (uint32_t e = 0; e < G; e++) {
        const uint32_t c = cq * G + e;
        const int32_t v = c < g.r ? qtmp[(size_t)c * g.npad + pj * NR + jj] : 0;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        int32_t dig[P::DMAX];
        P::digits(v, dig);
        for (uint32_t x = 0; x < P::DMAX; x++) d[x * qstride + ((size_t)cq * NR + jj) * G + e] = (typename P::RQT)dig[x];
      }
  return P::digits_needed(lo, hi);
}


// The steps a path does not specialize: the generic packers above, no per-thread
// setup, the default blocking. A path derives from GenericSteps<itself, its layout> and
// defines what it does faster (a derived static member hides the base's).
template <class Self, class Layout>
struct GenericSteps : Layout {
  typedef typename Layout::AT AT;
  typedef typename Layout::BT BT;
  typedef typename Layout::RPT RPT;
  typedef typename Layout::RET RET;
  typedef typename Layout::RFT RFT;
  typedef typename Layout::RQT RQT;
  static bool wants_elt(const Geo&) { return false; }
  static constexpr bool kPviaGemm = false;
  static constexpr uint32_t kRowsTarget = kRowsDefault, kDepthTarget = kDepthDefault;
  static void begin() {}
  static void end() {}
  static bool pack_a(const Geo& g, const int8_t* A, uint32_t R, uint32_t rows, const ANoise& nz, uint32_t s0,
                     uint32_t s1, AT* dst) {
    return pack_a_generic<Self>(g, A, R, rows, nz, s0, s1, dst);
  }
  static bool prep_group(const Geo& g, const int8_t* B, const int8_t* frt, uint32_t t, uint32_t vr,
                         const uint16_t* flp, const uint16_t* flq, uint32_t c0, uint32_t c1, size_t grow,
                         size_t corr_grow, BT* bp) {
    return prep_group_generic<Self>(g, B, frt, t, vr, flp, flq, c0, c1, grow, corr_grow, bp);
  }
  static void scatter_p(const Geo& g, const AT* ablk, uint32_t rows, uint32_t s0, uint32_t s1,
                        const uint16_t* flp, const uint16_t* flq, int32_t* pt) {
    scatter_p_generic<Self>(g, ablk, rows, s0, s1, flp, flq, pt);
  }
  static void pack_p(const Geo& g, const int32_t* pt, uint32_t apanels, uint32_t rows, const int8_t* el, RPT* ppk,
                     RET* epk) {
    pack_p_generic<Self>(g, pt, apanels, rows, el, ppk, epk);
  }
  static void pack_fr(const Geo& g, const int8_t* frt, uint32_t pj, RFT* d) { pack_fr_generic<Self>(g, frt, pj, d); }
  static void q_update(int32_t* qa, int32_t* qb, const int8_t* brow, uint32_t c0, uint32_t c1) {
    q_update_generic(qa, qb, brow, c0, c1);
  }
  static uint32_t pack_q(const Geo& g, const int32_t* qtmp, uint32_t pj, RQT* d, size_t qstride) {
    return pack_q_generic<Self>(g, qtmp, pj, d, qstride);
  }
};

}  // namespace

// ---------------------------------------------------------------------------
// A path, as the dispatch table holds it (lottery.cc); lottery_driver.h makes one.

// Where phase 2 writes what it finds.
struct RunOut {
  uint8_t* tickets;
  uint32_t* winners;
  uint32_t max_winners;
  uint32_t* n_winners;
  int32_t* product;
};


struct Impl {
  const char* name;
  bool (*available)();
  size_t (*shared_bytes)(uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, bool);
  size_t (*rows_bytes)(uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, bool);
  int (*prepare)(const int8_t*, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, bool, const uint8_t*,
                 const uint8_t*, bool, uint32_t, uint32_t, void*, uint32_t);
  int (*run_rows)(const int8_t*, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, bool, const uint8_t*,
                  const uint8_t*, const uint8_t*, const void*, uint32_t, uint32_t, const RunOut&, void*);
};

// One entry per path file (the x86 ones only on x86-64, simd128 only on wasm32).
#if PL_X86
extern const Impl kImplAmx;
extern const Impl kImplVnni;
extern const Impl kImplAvx2;
#endif
#if PL_SIMD128
extern const Impl kImplSimd128;
#endif
extern const Impl kImplPortable;

}  // namespace lottery
}  // namespace pouw
