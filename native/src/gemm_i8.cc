// Plain int8 GEMM with exact int32 results (see gemm_i8.h), with runtime dispatch.
//
// Structure (all paths but "portable"): the classic blocked scheme. For each block
// of NC columns and KC depth, B is packed into NR-column panels; for each block of
// MC rows, A is prepared; a register-blocked microkernel then computes each MR x NR
// tile of C over the KC depth, overwriting C on the first depth block and adding to
// it on the next ones. Packing groups G consecutive k values of one column of B
// into a 32-bit lane, the layout the multiply-accumulate instructions consume:
//
//  - avx512-vnni (x86-64, AVX-512 F/BW/VL/VNNI with OS-enabled ZMM state):
//    vpdpbusd, unsigned x signed bytes in groups of 4 (G = 4) into int32 lanes. B is
//    the unsigned side, packed as b + 128; A stays signed, copied a block at a time
//    and broadcast 4 bytes per row; the store subtracts 128 * (row sum of A). Tile
//    14 x 32 (28 ZMM accumulators). Details at PathVnni.
//  - avx2 (x86-64, AVX2): A and B are sign-extended to int16 while packing (G = 2)
//    and multiplied with vpmaddwd (int16 x int16 pairs summed into int32, exact for
//    int8 inputs), then added with vpaddd. Tile 6 x 16 (12 YMM accumulators).
//  - simd128 (wasm32 with SIMD128): the same int16 scheme with i32x4.dot_i16x8_s
//    on 128-bit vectors. Tile 4 x 8.
//  - portable: a scalar i-k-j loop without packing (the compiler may vectorize it).
//
// Dispatch on x86-64 picks avx512-vnni, then avx2, then portable, by
// cpu_features.h (cpuid + xgetbv); each wide function carries its own target attribute, as
// the file is compiled for baseline x86-64 (v2). On wasm32 the choice is fixed at
// build time: simd128 when built with -msimd128, else portable.
//
// Scratch: the caller provides it (pouw_gemm_i8_scratch_bytes); the kernel aligns
// the pointer to 64 bytes itself. Nothing is static but the selected function
// pointer, so concurrent calls with separate scratch buffers are safe.
//
// What it deliberately does not do: no threads, no allocation, no libc calls (it
// builds for freestanding wasm32), no leading-dimension arguments (split work by
// rows), no fast path for tiny matrices beyond skipping packing in "portable".
#include <stddef.h>
#include <stdint.h>

#include "gemm_i8.h"

#include "cpu_features.h"
#include "dispatch.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define POUW_GEMM_I8_X86 1
#include <immintrin.h>
#else
#define POUW_GEMM_I8_X86 0
#endif

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#define POUW_GEMM_I8_SIMD128 1
#else
#define POUW_GEMM_I8_SIMD128 0
#endif

#if POUW_GEMM_I8_X86
#define POUW_TARGET_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")))
#define POUW_TARGET_AVX2 __attribute__((target("avx2,fma")))
#endif

#include "kernel_util.h"

namespace {

typedef void (*gemm_i8_fn)(const int8_t*, const int8_t*, int32_t*, uint32_t, uint32_t, uint32_t, void*);

[[maybe_unused]] inline uint32_t load_u32(const void* p) {
  uint32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}
[[maybe_unused]] inline void store_u32(void* p, uint32_t v) { __builtin_memcpy(p, &v, 4); }

// ---------------------------------------------------------------------------
// Portable: C[i][:] = sum_k A[i][k] * B[k][:]. No scratch.

void gemm_portable(const int8_t* A, const int8_t* B, int32_t* C, uint32_t m, uint32_t k, uint32_t n, void*) {
  for (uint32_t i = 0; i < m; i++) {
    int32_t* __restrict c = C + (size_t)i * n;
    for (uint32_t j = 0; j < n; j++) c[j] = 0;
    const int8_t* a = A + (size_t)i * k;
    for (uint32_t p = 0; p < k; p++) {
      const int32_t av = a[p];
      const int8_t* __restrict b = B + (size_t)p * n;
      for (uint32_t j = 0; j < n; j++) c[j] += av * (int32_t)b[j];
    }
  }
}

// ---------------------------------------------------------------------------
// Blocked driver of the int16 paths (avx2, simd128). P provides the element types,
// the block sizes and three functions:
//   pack_a(src, lda, rows, depth, dst)   MR-row panels, zero-padded
//   pack_b(src, ldb, depth, cols, dst)   NR-column panels, zero-padded
//   kernel(ap, bp, c, ldc, groups, rows, cols, accumulate)

template <class P>
size_t packed_scratch(uint32_t m, uint32_t k, uint32_t n) {
  const size_t kc = round_up(min_u32(k, P::KC), P::G);
  const size_t mc = round_up(min_u32(m, P::MC), P::MR);
  const size_t nc = round_up(min_u32(n, P::NC), P::NR);
  return 64 + round_up(mc * kc * sizeof(typename P::AT), 64) + kc * nc * sizeof(typename P::BT);
}

template <class P>
void gemm_packed(const int8_t* A, const int8_t* B, int32_t* C, uint32_t m, uint32_t k, uint32_t n,
                 void* scratch) {
  typedef typename P::AT AT;
  typedef typename P::BT BT;
  const size_t kcap = round_up(min_u32(k, P::KC), P::G);
  const size_t mcap = round_up(min_u32(m, P::MC), P::MR);
  uint8_t* s = align64(scratch);
  AT* ap = (AT*)s;
  s += round_up(mcap * kcap * sizeof(AT), 64);
  BT* bp = (BT*)s;

  for (uint32_t jc = 0; jc < n; jc += P::NC) {
    const uint32_t nc = min_u32(P::NC, n - jc);
    for (uint32_t pc = 0; pc < k; pc += P::KC) {
      const uint32_t kc = min_u32(P::KC, k - pc);
      const uint32_t groups = (kc + P::G - 1) / P::G;
      P::pack_b(B + (size_t)pc * n + jc, n, kc, nc, bp);
      for (uint32_t ic = 0; ic < m; ic += P::MC) {
        const uint32_t mc = min_u32(P::MC, m - ic);
        P::pack_a(A + (size_t)ic * k + pc, k, mc, kc, ap);
        for (uint32_t jr = 0; jr < nc; jr += P::NR) {
          const BT* bpanel = bp + (size_t)(jr / P::NR) * groups * P::NR * P::G;
          const uint32_t cols = min_u32(P::NR, nc - jr);
          for (uint32_t ir = 0; ir < mc; ir += P::MR) {
            const AT* apanel = ap + (size_t)(ir / P::MR) * groups * P::MR * P::G;
            P::kernel(apanel, bpanel, C + (size_t)(ic + ir) * n + jc + jr, n, groups, min_u32(P::MR, mc - ir), cols,
                      pc != 0);
          }
        }
      }
    }
  }
}

// Int16 packing shared by the avx2 and simd128 paths (G = 2: k pairs).
// A panel layout: [pair][row in MR][2 x int16]; B panel: [pair][col in NR][2 x int16].
template <uint32_t MR>
void pack_a_i16(const int8_t* src, size_t lda, uint32_t rows, uint32_t depth, int16_t* dst) {
  const uint32_t pairs = (depth + 1) / 2;
  for (uint32_t r0 = 0; r0 < rows; r0 += MR) {
    int16_t* panel = dst + (size_t)(r0 / MR) * pairs * MR * 2;
    for (uint32_t i = 0; i < MR; i++) {
      int16_t* d = panel + 2 * i;
      if (r0 + i >= rows) {
        for (uint32_t p = 0; p < pairs; p++) d[(size_t)p * MR * 2] = d[(size_t)p * MR * 2 + 1] = 0;
        continue;
      }
      const int8_t* a = src + (size_t)(r0 + i) * lda;
      const uint32_t full = depth / 2;
      for (uint32_t p = 0; p < full; p++) {
        d[(size_t)p * MR * 2] = a[2 * p];
        d[(size_t)p * MR * 2 + 1] = a[2 * p + 1];
      }
      if (full < pairs) {
        d[(size_t)full * MR * 2] = a[2 * full];
        d[(size_t)full * MR * 2 + 1] = 0;
      }
    }
  }
}

template <uint32_t NR>
void pack_b_i16(const int8_t* src, size_t ldb, uint32_t depth, uint32_t cols, int16_t* dst) {
  const uint32_t pairs = (depth + 1) / 2;
  for (uint32_t j0 = 0; j0 < cols; j0 += NR) {
    int16_t* panel = dst + (size_t)(j0 / NR) * pairs * NR * 2;
    const uint32_t w = min_u32(NR, cols - j0);
    for (uint32_t p = 0; p < pairs; p++) {
      const int8_t* r0 = src + (size_t)(2 * p) * ldb + j0;
      const int8_t* r1 = 2 * p + 1 < depth ? r0 + ldb : nullptr;
      int16_t* d = panel + (size_t)p * NR * 2;
      uint32_t j = 0;
#if POUW_GEMM_I8_X86
      if (r1) {
        for (; j + 8 <= w; j += 8) {
          __m128i x0 = _mm_loadl_epi64((const __m128i*)(r0 + j));
          __m128i x1 = _mm_loadl_epi64((const __m128i*)(r1 + j));
          __m128i t = _mm_unpacklo_epi8(x0, x1);  // r0[j], r1[j], r0[j+1], ...
          __m128i lo = _mm_srai_epi16(_mm_unpacklo_epi8(t, t), 8);
          __m128i hi = _mm_srai_epi16(_mm_unpackhi_epi8(t, t), 8);
          _mm_storeu_si128((__m128i*)(d + 2 * j), lo);
          _mm_storeu_si128((__m128i*)(d + 2 * j + 8), hi);
        }
      }
#elif POUW_GEMM_I8_SIMD128
      if (r1) {
        for (; j + 8 <= w; j += 8) {
          v128_t x0 = wasm_i16x8_load8x8(r0 + j);
          v128_t x1 = wasm_i16x8_load8x8(r1 + j);
          wasm_v128_store(d + 2 * j, wasm_i16x8_shuffle(x0, x1, 0, 8, 1, 9, 2, 10, 3, 11));
          wasm_v128_store(d + 2 * j + 8, wasm_i16x8_shuffle(x0, x1, 4, 12, 5, 13, 6, 14, 7, 15));
        }
      }
#endif
      for (; j < w; j++) {
        d[2 * j] = r0[j];
        d[2 * j + 1] = r1 ? r1[j] : 0;
      }
      for (; j < NR; j++) d[2 * j] = d[2 * j + 1] = 0;
    }
  }
}

// ---------------------------------------------------------------------------
// simd128 (wasm32)

#if POUW_GEMM_I8_SIMD128
struct PathSimd128 {
  typedef int16_t AT;
  typedef int16_t BT;
  static constexpr uint32_t MR = 4, NV = 2, NR = 4 * NV, G = 2;
  static constexpr uint32_t KC = 1024, MC = 128, NC = 512;

  static void pack_a(const int8_t* s, size_t ld, uint32_t r, uint32_t d, int16_t* o) { pack_a_i16<MR>(s, ld, r, d, o); }
  static void pack_b(const int8_t* s, size_t ld, uint32_t d, uint32_t c, int16_t* o) { pack_b_i16<NR>(s, ld, d, c, o); }

  POUW_KERNEL_ATTR static void kernel(const int16_t* ap, const int16_t* bp, int32_t* c, size_t ldc, uint32_t pairs,
                                      uint32_t rows, uint32_t cols, bool accumulate) {
#define POUW_S128_DECL(i) v128_t c##i##a = wasm_i32x4_const_splat(0), c##i##b = wasm_i32x4_const_splat(0);
#define POUW_S128_STEP(i)                                               \
  {                                                                     \
    const v128_t x = wasm_v128_load32_splat(ap + 2 * i);                \
    c##i##a = wasm_i32x4_add(c##i##a, wasm_i32x4_dot_i16x8(x, b0));     \
    c##i##b = wasm_i32x4_add(c##i##b, wasm_i32x4_dot_i16x8(x, b1));     \
  }
#define POUW_S128_SPILL(i)                  \
  wasm_v128_store(tile[i], c##i##a);        \
  wasm_v128_store(tile[i] + 4, c##i##b);
    static_assert(MR == 4 && NV == 2, "the row macros spell out a 4 x 8 tile");
    POUW_ROWS4(POUW_S128_DECL)
    for (uint32_t p = 0; p < pairs; p++) {
      const v128_t b0 = wasm_v128_load(bp), b1 = wasm_v128_load(bp + 8);
      POUW_ROWS4(POUW_S128_STEP)
      ap += MR * 2;
      bp += NR * 2;
    }
    int32_t tile[MR][NR];
    POUW_ROWS4(POUW_S128_SPILL)
#undef POUW_S128_DECL
#undef POUW_S128_STEP
#undef POUW_S128_SPILL
    for (uint32_t i = 0; i < rows; i++)
      for (uint32_t j = 0; j < cols; j++) c[i * ldc + j] = (accumulate ? c[i * ldc + j] : 0) + tile[i][j];
  }
};
#endif

// ---------------------------------------------------------------------------
// avx2 (x86-64)

#if POUW_GEMM_I8_X86
struct PathAvx2 {
  typedef int16_t AT;
  typedef int16_t BT;
  static constexpr uint32_t MR = 6, NV = 2, NR = 8 * NV, G = 2;
  static constexpr uint32_t KC = 512, MC = 120, NC = 1024;

  static void pack_a(const int8_t* s, size_t ld, uint32_t r, uint32_t d, int16_t* o) { pack_a_i16<MR>(s, ld, r, d, o); }
  static void pack_b(const int8_t* s, size_t ld, uint32_t d, uint32_t c, int16_t* o) { pack_b_i16<NR>(s, ld, d, c, o); }

  POUW_TARGET_AVX2 POUW_KERNEL_ATTR static void kernel(const int16_t* ap, const int16_t* bp, int32_t* c,
                                                       size_t ldc, uint32_t pairs, uint32_t rows, uint32_t cols,
                                                       bool accumulate) {
#define POUW_AVX2_DECL(i) __m256i c##i##a = _mm256_setzero_si256(), c##i##b = _mm256_setzero_si256();
#define POUW_AVX2_STEP(i)                                                 \
  {                                                                       \
    const __m256i x = _mm256_set1_epi32((int32_t)load_u32(ap + 2 * i));   \
    c##i##a = _mm256_add_epi32(c##i##a, _mm256_madd_epi16(x, b0));        \
    c##i##b = _mm256_add_epi32(c##i##b, _mm256_madd_epi16(x, b1));        \
  }
#define POUW_AVX2_SPILL(i)                                  \
  _mm256_store_si256((__m256i*)tile[i], c##i##a);           \
  _mm256_store_si256((__m256i*)(tile[i] + 8), c##i##b);
    static_assert(MR == 6 && NV == 2, "the row macros spell out a 6 x 16 tile");
    POUW_ROWS6(POUW_AVX2_DECL)
    for (uint32_t p = 0; p < pairs; p++) {
      const __m256i b0 = _mm256_load_si256((const __m256i*)bp), b1 = _mm256_load_si256((const __m256i*)(bp + 16));
      POUW_ROWS6(POUW_AVX2_STEP)
      ap += MR * 2;
      bp += NR * 2;
    }
    alignas(32) int32_t tile[MR][NR];
    POUW_ROWS6(POUW_AVX2_SPILL)
#undef POUW_AVX2_DECL
#undef POUW_AVX2_STEP
#undef POUW_AVX2_SPILL
    if (cols == NR) {
      for (uint32_t i = 0; i < rows; i++) {
        __m256i* d = (__m256i*)(c + i * ldc);
        __m256i r0 = _mm256_load_si256((const __m256i*)tile[i]), r1 = _mm256_load_si256((const __m256i*)(tile[i] + 8));
        if (accumulate) {
          r0 = _mm256_add_epi32(r0, _mm256_loadu_si256(d));
          r1 = _mm256_add_epi32(r1, _mm256_loadu_si256(d + 1));
        }
        _mm256_storeu_si256(d, r0);
        _mm256_storeu_si256(d + 1, r1);
      }
      return;
    }
    for (uint32_t i = 0; i < rows; i++)
      for (uint32_t j = 0; j < cols; j++) c[i * ldc + j] = (accumulate ? c[i * ldc + j] : 0) + tile[i][j];
  }
};

// ---------------------------------------------------------------------------
// avx512-vnni (x86-64)
//
// vpdpbusd multiplies unsigned bytes of its first source by signed bytes of its
// second in groups of 4. Here B is the unsigned side: it is packed as b + 128 (xor
// 0x80) into 32-column panels, layout [quad of k][column][4 bytes], 128 bytes per
// quad, zero past the edges. A stays signed and is not rearranged: a block of MC
// rows is only copied (row stride a multiple of 64 bytes plus 64, zero padding to
// whole quads and whole 14-row panels) while its row sums are taken, and each of
// the 14 rows of a panel is broadcast 4 bytes at a time. Each sum then carries
// 128 * (row sum of A over the depth block), which the store subtracts. vpdpbusd
// wraps modulo 2^32 without saturating, so results are exact whenever the true
// value fits in int32.
//
// Loop order: for each NC x KC block of B (packed, 1 MiB at most, kept in L2), for
// each block of MC rows of A (copied, kept in L2), for each 32-column panel of B
// (kept in L1), for each 14-row panel: one 14 x 32 microkernel call with 28 ZMM
// accumulators.

struct PathVnni {
  static constexpr uint32_t MR = 14, NR = 32;
  static constexpr uint32_t KC = 1024, MC = 56, NC = 1024;

  // Row stride of the copied A block: a multiple of 64 bytes plus 64, never a power
  // of two, so the 14 rows a microkernel walks through spread over the L1 sets.
  static size_t a_stride(uint32_t kc) { return round_up(kc, 64) + 64; }

  static size_t scratch(uint32_t m, uint32_t k, uint32_t n) {
    const size_t kc = round_up(min_u32(k, KC), 4), nc = round_up(min_u32(n, NC), NR);
    const size_t mc = round_up(min_u32(m, MC), MR);
    return 64 + round_up(kc * nc, 64) + mc * a_stride(min_u32(k, KC));
  }

  // B rows [0, depth) x columns [0, cols) -> panels of NR columns, u8 = b ^ 0x80.
  POUW_TARGET_VNNI static void pack_b(const int8_t* src, size_t ldb, uint32_t depth, uint32_t cols, uint8_t* dst) {
    const uint32_t quads = (depth + 3) / 4;
    const size_t panel = (size_t)quads * NR * 4;
    const uint32_t padded = (uint32_t)round_up(cols, NR);
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    for (uint32_t q = 0; q < quads; q++) {
      const int8_t* r0 = src + (size_t)(4 * q) * ldb;
      uint8_t* d = dst + (size_t)q * NR * 4;
      uint32_t j = 0;
      if (4 * q + 4 <= depth) {
        // 4 rows x 32 columns -> one 128-byte quad row of a panel. The byte and word
        // interleaves work within 128-bit lanes: o0 holds columns 0-3 and 16-19, o1
        // 4-7 and 20-23, o2 8-11 and 24-27, o3 12-15 and 28-31.
        for (; j + NR <= cols; j += NR) {
          const __m256i x0 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i*)(r0 + j)), flip);
          const __m256i x1 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i*)(r0 + ldb + j)), flip);
          const __m256i x2 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i*)(r0 + 2 * ldb + j)), flip);
          const __m256i x3 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i*)(r0 + 3 * ldb + j)), flip);
          const __m256i t0 = _mm256_unpacklo_epi8(x0, x1), t1 = _mm256_unpackhi_epi8(x0, x1);
          const __m256i t2 = _mm256_unpacklo_epi8(x2, x3), t3 = _mm256_unpackhi_epi8(x2, x3);
          const __m256i o0 = _mm256_unpacklo_epi16(t0, t2), o1 = _mm256_unpackhi_epi16(t0, t2);
          const __m256i o2 = _mm256_unpacklo_epi16(t1, t3), o3 = _mm256_unpackhi_epi16(t1, t3);
          uint8_t* o = d + (j / NR) * panel;
          _mm256_store_si256((__m256i*)o, _mm256_permute2x128_si256(o0, o1, 0x20));
          _mm256_store_si256((__m256i*)(o + 32), _mm256_permute2x128_si256(o2, o3, 0x20));
          _mm256_store_si256((__m256i*)(o + 64), _mm256_permute2x128_si256(o0, o1, 0x31));
          _mm256_store_si256((__m256i*)(o + 96), _mm256_permute2x128_si256(o2, o3, 0x31));
        }
      }
      for (; j < padded; j++) {
        uint8_t* o = d + (j / NR) * panel + (j % NR) * 4;
        for (uint32_t e = 0; e < 4; e++)
          o[e] = (j < cols && 4 * q + e < depth) ? (uint8_t)(r0[(size_t)e * ldb + j] ^ 0x80) : 0;
      }
    }
  }

  // Copies rows [0, rows) x [0, depth) of A to dst (row stride lds, zero past depth
  // up to the next multiple of 64, zero rows up to a multiple of MR) and sets
  // corr[i] = 128 * (sum of row i).
  POUW_TARGET_VNNI static void copy_a(const int8_t* src, size_t lda, uint32_t rows, uint32_t depth, int8_t* dst,
                                      size_t lds, int32_t* corr) {
    const __m512i ones = _mm512_set1_epi8(1);
    for (uint32_t i = 0; i < rows; i++) {
      const int8_t* r = src + i * lda;
      int8_t* d = dst + i * lds;
      __m512i acc = _mm512_setzero_si512();
      uint32_t j = 0;
      for (; j + 64 <= depth; j += 64) {
        const __m512i v = _mm512_loadu_si512((const void*)(r + j));
        _mm512_storeu_si512((void*)(d + j), v);
        acc = _mm512_dpbusd_epi32(acc, ones, v);
      }
      if (j < depth) {
        const __m512i v = _mm512_maskz_loadu_epi8(((__mmask64)1 << (depth - j)) - 1, r + j);
        _mm512_storeu_si512((void*)(d + j), v);
        acc = _mm512_dpbusd_epi32(acc, ones, v);
      }
      alignas(64) int32_t lanes[16];
      _mm512_store_si512(lanes, acc);
      int32_t sum = 0;
      for (int l = 0; l < 16; l++) sum += lanes[l];
      corr[i] = 128 * sum;
    }
    const uint32_t padded = (uint32_t)round_up(rows, MR);
    if (padded > rows) __builtin_memset(dst + rows * lds, 0, (padded - rows) * lds);
  }

  // C[0..rows) x [0..cols) (+)= A panel (14 rows at stride lda, 4*quads bytes each)
  // times one packed B panel, minus corr[i] per row. Named accumulators: some
  // compilers do not keep arrays of 28 vectors in registers.
  POUW_TARGET_VNNI POUW_KERNEL_ATTR static void kernel(const int8_t* a, size_t lda, const uint8_t* bp, int32_t* c,
                                                       size_t ldc, uint32_t quads, uint32_t rows, uint32_t cols,
                                                       bool accumulate, const int32_t* corr) {
    const int8_t* a0 = a;
    const int8_t* a1 = a + 5 * lda;
    const int8_t* a2 = a + 10 * lda;
    const size_t l1 = lda, l3 = 3 * lda;
#define POUW_VNNI_DECL(i) __m512i c##i##a = _mm512_setzero_si512(), c##i##b = _mm512_setzero_si512();
#define POUW_VNNI_STEP(i, p)                                     \
  {                                                              \
    const __m512i x = _mm512_set1_epi32((int32_t)load_u32(p));   \
    c##i##a = _mm512_dpbusd_epi32(c##i##a, b0, x);               \
    c##i##b = _mm512_dpbusd_epi32(c##i##b, b1, x);               \
  }
    POUW_ROWS14(POUW_VNNI_DECL)
    for (uint32_t q = 0; q < quads; q++) {
      const __m512i b0 = _mm512_load_si512((const void*)bp), b1 = _mm512_load_si512((const void*)(bp + 64));
      POUW_VNNI_STEP(0, a0)
      POUW_VNNI_STEP(1, a0 + l1)
      POUW_VNNI_STEP(2, a0 + 2 * l1)
      POUW_VNNI_STEP(3, a0 + l3)
      POUW_VNNI_STEP(4, a0 + 4 * l1)
      POUW_VNNI_STEP(5, a1)
      POUW_VNNI_STEP(6, a1 + l1)
      POUW_VNNI_STEP(7, a1 + 2 * l1)
      POUW_VNNI_STEP(8, a1 + l3)
      POUW_VNNI_STEP(9, a1 + 4 * l1)
      POUW_VNNI_STEP(10, a2)
      POUW_VNNI_STEP(11, a2 + l1)
      POUW_VNNI_STEP(12, a2 + 2 * l1)
      POUW_VNNI_STEP(13, a2 + l3)
      a0 += 4;
      a1 += 4;
      a2 += 4;
      bp += NR * 4;
    }
#undef POUW_VNNI_DECL
#undef POUW_VNNI_STEP
    const __mmask16 m0 = cols >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << cols) - 1);
    const __mmask16 m1 = cols >= 32 ? (__mmask16)0xffff : cols > 16 ? (__mmask16)((1u << (cols - 16)) - 1) : 0;
#define POUW_VNNI_STORE(i)                                                           \
  if (i < rows) {                                                                    \
    int32_t* d = c + i * ldc;                                                        \
    const __m512i k = _mm512_set1_epi32(corr[i]);                                    \
    __m512i r0 = _mm512_sub_epi32(c##i##a, k), r1 = _mm512_sub_epi32(c##i##b, k);   \
    if (accumulate) {                                                                \
      r0 = _mm512_add_epi32(r0, _mm512_maskz_loadu_epi32(m0, d));                   \
      r1 = _mm512_add_epi32(r1, _mm512_maskz_loadu_epi32(m1, d + 16));              \
    }                                                                                \
    _mm512_mask_storeu_epi32(d, m0, r0);                                             \
    _mm512_mask_storeu_epi32(d + 16, m1, r1);                                        \
  }
    POUW_ROWS14(POUW_VNNI_STORE)
#undef POUW_VNNI_STORE
  }

  static void gemm(const int8_t* A, const int8_t* B, int32_t* C, uint32_t m, uint32_t k, uint32_t n, void* scratch) {
    const size_t kcap = round_up(min_u32(k, KC), 4), ncap = round_up(min_u32(n, NC), NR);
    uint8_t* bp = align64(scratch);
    int8_t* ab = (int8_t*)(bp + round_up(kcap * ncap, 64));
    int32_t corr[MC];
    for (uint32_t jc = 0; jc < n; jc += NC) {
      const uint32_t nc = min_u32(NC, n - jc);
      for (uint32_t pc = 0; pc < k; pc += KC) {
        const uint32_t kc = min_u32(KC, k - pc);
        const uint32_t quads = (kc + 3) / 4;
        const size_t lds = a_stride(kc);
        pack_b(B + (size_t)pc * n + jc, n, kc, nc, bp);
        for (uint32_t ic = 0; ic < m; ic += MC) {
          const uint32_t mc = min_u32(MC, m - ic);
          copy_a(A + (size_t)ic * k + pc, k, mc, kc, ab, lds, corr);
          for (uint32_t jr = 0; jr < nc; jr += NR) {
            const uint8_t* panel = bp + (size_t)(jr / NR) * quads * NR * 4;
            const uint32_t cols = min_u32(NR, nc - jr);
            for (uint32_t ir = 0; ir < mc; ir += MR)
              kernel(ab + ir * lds, lds, panel, C + (size_t)(ic + ir) * n + jc + jr, n, quads, min_u32(MR, mc - ir),
                     cols, pc != 0, corr + ir);
          }
        }
      }
    }
  }
};
#endif

// ---------------------------------------------------------------------------
// Dispatch

struct Impl {
  const char* name;
  gemm_i8_fn fn;
  bool (*available)();
};

bool always() { return true; }
#if POUW_GEMM_I8_X86
bool has_vnni() { return pouw::cpu_avx512_vnni(pouw::cpu_features()); }
bool has_avx2() { return pouw::cpu_features().avx2; }
#endif

const Impl kImpls[] = {
#if POUW_GEMM_I8_X86
    {"avx512-vnni", PathVnni::gemm, has_vnni},
    {"avx2", gemm_packed<PathAvx2>, has_avx2},
#endif
#if POUW_GEMM_I8_SIMD128
    {"simd128", gemm_packed<PathSimd128>, always},
#endif
    {"portable", gemm_portable, always},
};
// Index into kImpls of the implementation in use, or -1 before the first call.
int g_selected = -1;

int selected() { return pouw_dispatch::selected(kImpls, g_selected); }

}  // namespace

extern "C" {

size_t pouw_gemm_i8_scratch_bytes(uint32_t m, uint32_t k, uint32_t n) {
  size_t bytes = 64;
#if POUW_GEMM_I8_X86
  size_t v = PathVnni::scratch(m, k, n), w = packed_scratch<PathAvx2>(m, k, n);
  if (v > bytes) bytes = v;
  if (w > bytes) bytes = w;
#endif
#if POUW_GEMM_I8_SIMD128
  size_t s = packed_scratch<PathSimd128>(m, k, n);
  if (s > bytes) bytes = s;
#endif
  (void)m, (void)k, (void)n;
  return bytes;
}

void pouw_gemm_i8(const int8_t* A, const int8_t* B, int32_t* C, uint32_t m, uint32_t k, uint32_t n,
                  void* scratch) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    __builtin_memset(C, 0, (size_t)m * n * sizeof(int32_t));
    return;
  }
  kImpls[selected()].fn(A, B, C, m, k, n, scratch);
}

const char* pouw_gemm_i8_impl(void) { return kImpls[selected()].name; }

int pouw_gemm_i8_select(const char* name) { return pouw_dispatch::select(kImpls, g_selected, name); }

}  // extern "C"
