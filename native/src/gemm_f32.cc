// Single-precision GEMM (see gemm_f32.h), with runtime dispatch.
//
// Structure: the classic blocked scheme. For each block of NC columns and KC depth,
// B is packed into NR-column panels (layout [k][NR floats], zero past the right
// edge); a register-blocked microkernel then computes each MR x NR tile of C over
// the KC depth, overwriting C on the first depth block and adding to it on the next
// ones.
//
//  - avx512-fma (x86-64, AVX-512F + FMA with OS-enabled ZMM state): 14 x 32 tile,
//    28 ZMM accumulators. A is not rearranged: a block of MC rows is copied into
//    scratch with a padded row stride (zero rows up to a whole panel), and each of
//    the 14 rows of a panel is broadcast one element at a time. Loop order per B
//    block: blocks of MC rows, then B panels (kept in L1 across the row panels of
//    the block), then row panels.
//  - avx2-fma (x86-64, AVX2 + FMA): the same with a 6 x 16 tile, 12 YMM accumulators.
//  - simd128 (wasm32 with SIMD128): A is packed as well (layout [k][MR floats]) so
//    that every load in the microkernel is a constant offset from one pointer; tile
//    4 x 8 with separate multiply and add (SIMD128 has no fused multiply-add).
//  - portable: a scalar i-k-j loop without packing (the compiler may vectorize it).
//
// Dispatch on x86-64 picks avx512-fma, then avx2-fma, then portable, by
// cpu_features.h (cpuid + xgetbv); each wide function carries its own target attribute, as
// the file is compiled for baseline x86-64 (v2). On wasm32 the choice is fixed at
// build time: simd128 when built with -msimd128, else portable.
//
// Scratch: the caller provides it (pouw_gemm_f32_scratch_bytes); the kernel aligns
// the pointer to 64 bytes itself. Nothing is static but the selected function
// pointer, so concurrent calls with separate scratch buffers are safe.
//
// What it deliberately does not do: no threads, no allocation, no libc calls (it
// builds for freestanding wasm32), no leading-dimension arguments (split work by
// rows), no special handling of NaN/Inf beyond what the arithmetic does (padding is
// zero, so an Inf in A or B also turns padded lanes into NaN, which are never
// stored).
#include <stddef.h>
#include <stdint.h>

#include "gemm_f32.h"

#include "cpu_features.h"
#include "dispatch.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define POUW_GEMM_F32_X86 1
#include <immintrin.h>
#else
#define POUW_GEMM_F32_X86 0
#endif

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#define POUW_GEMM_F32_SIMD128 1
#else
#define POUW_GEMM_F32_SIMD128 0
#endif

#if POUW_GEMM_F32_X86
#define POUW_TARGET_AVX512 __attribute__((target("avx512f,avx2,fma")))
#define POUW_TARGET_AVX2 __attribute__((target("avx2,fma")))
#endif

#include "kernel_util.h"

namespace {

typedef void (*gemm_f32_fn)(const float*, const float*, float*, uint32_t, uint32_t, uint32_t, void*);


// ---------------------------------------------------------------------------
// Portable: C[i][:] = sum_k A[i][k] * B[k][:]. No scratch.

void gemm_portable(const float* A, const float* B, float* C, uint32_t m, uint32_t k, uint32_t n, void*) {
  for (uint32_t i = 0; i < m; i++) {
    float* __restrict c = C + (size_t)i * n;
    for (uint32_t j = 0; j < n; j++) c[j] = 0.0f;
    const float* a = A + (size_t)i * k;
    for (uint32_t p = 0; p < k; p++) {
      const float av = a[p];
      const float* __restrict b = B + (size_t)p * n;
      for (uint32_t j = 0; j < n; j++) c[j] += av * b[j];
    }
  }
}

// B rows [0, depth) x columns [0, cols) -> panels of NR columns, [k][NR], zero-padded.
template <uint32_t NR>
void pack_b(const float* src, size_t ldb, uint32_t depth, uint32_t cols, float* dst) {
  const size_t panel = (size_t)depth * NR;
  for (uint32_t p = 0; p < depth; p++) {
    const float* row = src + (size_t)p * ldb;
    float* d = dst + (size_t)p * NR;
    uint32_t j0 = 0;
    for (; j0 + NR <= cols; j0 += NR, d += panel) __builtin_memcpy(d, row + j0, NR * sizeof(float));
    if (j0 < cols) {
      uint32_t j = 0;
      for (; j < cols - j0; j++) d[j] = row[j0 + j];
      for (; j < NR; j++) d[j] = 0.0f;
    }
  }
}

// ---------------------------------------------------------------------------
// Driver for the x86 paths. P provides MR, NR, KC, MC, NC and
//   kernel(a, lda, bpanel, c, ldc, depth, rows, cols, accumulate)
// which reads MR rows of A at stride lda (all of them, even when rows < MR).
// A is not rearranged, only copied a block of MC x KC at a time into scratch with a
// row stride of KC + 16 floats: read in place, a power-of-two row length would put
// the 14 rows a microkernel walks through into the same L1 cache set. The copy also
// pads the last panel with zero rows.

[[maybe_unused]] inline size_t a_stride(size_t kc) { return kc + 16; }

template <class P>
size_t direct_scratch(uint32_t m, uint32_t k, uint32_t n) {
  const size_t kc = min_u32(k, P::KC), nc = round_up(min_u32(n, P::NC), P::NR);
  const size_t mc = round_up(min_u32(m, P::MC), P::MR);
  return 64 + round_up(kc * nc * sizeof(float), 64) + mc * a_stride(kc) * sizeof(float);
}

template <class P>
void gemm_direct(const float* A, const float* B, float* C, uint32_t m, uint32_t k, uint32_t n, void* scratch) {
  const size_t kcap = min_u32(k, P::KC), ncap = round_up(min_u32(n, P::NC), P::NR);
  float* bp = (float*)align64(scratch);
  float* ab = (float*)((uint8_t*)bp + round_up(kcap * ncap * sizeof(float), 64));
  for (uint32_t jc = 0; jc < n; jc += P::NC) {
    const uint32_t nc = min_u32(P::NC, n - jc);
    for (uint32_t pc = 0; pc < k; pc += P::KC) {
      const uint32_t kc = min_u32(P::KC, k - pc);
      const size_t lda = a_stride(kc);
      pack_b<P::NR>(B + (size_t)pc * n + jc, n, kc, nc, bp);
      for (uint32_t ic = 0; ic < m; ic += P::MC) {
        const uint32_t mc = min_u32(P::MC, m - ic);
        const uint32_t padded = (uint32_t)round_up(mc, P::MR);
        for (uint32_t i = 0; i < mc; i++)
          __builtin_memcpy(ab + i * lda, A + (size_t)(ic + i) * k + pc, kc * sizeof(float));
        if (padded > mc) __builtin_memset(ab + mc * lda, 0, (padded - mc) * lda * sizeof(float));
        for (uint32_t jr = 0; jr < nc; jr += P::NR) {
          const float* panel = bp + (size_t)jr * kc;
          const uint32_t cols = min_u32(P::NR, nc - jr);
          for (uint32_t ir = 0; ir < mc; ir += P::MR)
            P::kernel(ab + ir * lda, lda, panel, C + (size_t)(ic + ir) * n + jc + jr, n, kc, min_u32(P::MR, mc - ir),
                      cols, pc != 0);
        }
      }
    }
  }
}

#if POUW_GEMM_F32_X86
// ---------------------------------------------------------------------------
// avx512-fma: 14 x 32 tile.

struct PathAvx512 {
  static constexpr uint32_t MR = 14, NR = 32;
  static constexpr uint32_t KC = 256, MC = 56, NC = 1024;

  POUW_TARGET_AVX512 POUW_KERNEL_ATTR static void kernel(const float* a, size_t lda, const float* bp, float* c,
                                                         size_t ldc, uint32_t depth, uint32_t rows, uint32_t cols,
                                                         bool accumulate) {
    const float* a0 = a;
    const float* a1 = a + 5 * lda;
    const float* a2 = a + 10 * lda;
    const size_t l1 = lda, l3 = 3 * lda;
#define POUW_F32_DECL(i) __m512 c##i##a = _mm512_setzero_ps(), c##i##b = _mm512_setzero_ps();
#define POUW_F32_STEP(i, p)                    \
  {                                            \
    const __m512 x = _mm512_set1_ps(*(p));     \
    c##i##a = _mm512_fmadd_ps(x, b0, c##i##a); \
    c##i##b = _mm512_fmadd_ps(x, b1, c##i##b); \
  }
    POUW_ROWS14(POUW_F32_DECL)
    for (uint32_t p = 0; p < depth; p++) {
      const __m512 b0 = _mm512_load_ps(bp), b1 = _mm512_load_ps(bp + 16);
      POUW_F32_STEP(0, a0)
      POUW_F32_STEP(1, a0 + l1)
      POUW_F32_STEP(2, a0 + 2 * l1)
      POUW_F32_STEP(3, a0 + l3)
      POUW_F32_STEP(4, a0 + 4 * l1)
      POUW_F32_STEP(5, a1)
      POUW_F32_STEP(6, a1 + l1)
      POUW_F32_STEP(7, a1 + 2 * l1)
      POUW_F32_STEP(8, a1 + l3)
      POUW_F32_STEP(9, a1 + 4 * l1)
      POUW_F32_STEP(10, a2)
      POUW_F32_STEP(11, a2 + l1)
      POUW_F32_STEP(12, a2 + 2 * l1)
      POUW_F32_STEP(13, a2 + l3)
      a0++;
      a1++;
      a2++;
      bp += NR;
    }
#undef POUW_F32_DECL
#undef POUW_F32_STEP
    const __mmask16 m0 = cols >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << cols) - 1);
    const __mmask16 m1 = cols >= 32 ? (__mmask16)0xffff : cols > 16 ? (__mmask16)((1u << (cols - 16)) - 1) : 0;
#define POUW_F32_STORE(i)                                                   \
  if (i < rows) {                                                           \
    float* d = c + i * ldc;                                                 \
    __m512 r0 = c##i##a, r1 = c##i##b;                                      \
    if (accumulate) {                                                       \
      r0 = _mm512_add_ps(r0, _mm512_maskz_loadu_ps(m0, d));                \
      r1 = _mm512_add_ps(r1, _mm512_maskz_loadu_ps(m1, d + 16));           \
    }                                                                       \
    _mm512_mask_storeu_ps(d, m0, r0);                                       \
    _mm512_mask_storeu_ps(d + 16, m1, r1);                                  \
  }
    POUW_ROWS14(POUW_F32_STORE)
#undef POUW_F32_STORE
  }
};

// ---------------------------------------------------------------------------
// avx2-fma: 6 x 16 tile.

struct PathAvx2 {
  static constexpr uint32_t MR = 6, NR = 16;
  static constexpr uint32_t KC = 256, MC = 72, NC = 1024;

  POUW_TARGET_AVX2 POUW_KERNEL_ATTR static void kernel(const float* a, size_t lda, const float* bp, float* c,
                                                       size_t ldc, uint32_t depth, uint32_t rows, uint32_t cols,
                                                       bool accumulate) {
    const float* a0 = a;
    const float* a1 = a + 5 * lda;
    const size_t l1 = lda, l3 = 3 * lda;
#define POUW_F32_DECL(i) __m256 c##i##a = _mm256_setzero_ps(), c##i##b = _mm256_setzero_ps();
#define POUW_F32_STEP(i, p)                    \
  {                                            \
    const __m256 x = _mm256_broadcast_ss(p);   \
    c##i##a = _mm256_fmadd_ps(x, b0, c##i##a); \
    c##i##b = _mm256_fmadd_ps(x, b1, c##i##b); \
  }
#define POUW_F32_SPILL(i)                 \
  _mm256_store_ps(tile[i], c##i##a);      \
  _mm256_store_ps(tile[i] + 8, c##i##b);
    POUW_ROWS6(POUW_F32_DECL)
    for (uint32_t p = 0; p < depth; p++) {
      const __m256 b0 = _mm256_load_ps(bp), b1 = _mm256_load_ps(bp + 8);
      POUW_F32_STEP(0, a0)
      POUW_F32_STEP(1, a0 + l1)
      POUW_F32_STEP(2, a0 + 2 * l1)
      POUW_F32_STEP(3, a0 + l3)
      POUW_F32_STEP(4, a0 + 4 * l1)
      POUW_F32_STEP(5, a1)
      a0++;
      a1++;
      bp += NR;
    }
    alignas(32) float tile[MR][NR];
    POUW_ROWS6(POUW_F32_SPILL)
#undef POUW_F32_DECL
#undef POUW_F32_STEP
#undef POUW_F32_SPILL
    if (cols == NR) {
      for (uint32_t i = 0; i < rows; i++) {
        float* d = c + i * ldc;
        __m256 r0 = _mm256_load_ps(tile[i]), r1 = _mm256_load_ps(tile[i] + 8);
        if (accumulate) {
          r0 = _mm256_add_ps(r0, _mm256_loadu_ps(d));
          r1 = _mm256_add_ps(r1, _mm256_loadu_ps(d + 8));
        }
        _mm256_storeu_ps(d, r0);
        _mm256_storeu_ps(d + 8, r1);
      }
      return;
    }
    for (uint32_t i = 0; i < rows; i++)
      for (uint32_t j = 0; j < cols; j++) c[i * ldc + j] = (accumulate ? c[i * ldc + j] : 0.0f) + tile[i][j];
  }
};

bool has_avx512() {
  const pouw::CpuFeatures f = pouw::cpu_features();
  return f.avx512f && f.fma;
}
bool has_avx2() {
  const pouw::CpuFeatures f = pouw::cpu_features();
  return f.avx2 && f.fma;
}
#endif  // POUW_GEMM_F32_X86

#if POUW_GEMM_F32_SIMD128
// ---------------------------------------------------------------------------
// simd128 (wasm32): A and B packed, 4 x 8 tile.

struct PathSimd128 {
  static constexpr uint32_t MR = 4, NR = 8;
  static constexpr uint32_t KC = 512, MC = 64, NC = 512;

  static size_t scratch(uint32_t m, uint32_t k, uint32_t n) {
    const size_t kc = min_u32(k, KC), mc = round_up(min_u32(m, MC), MR), nc = round_up(min_u32(n, NC), NR);
    return 64 + round_up(kc * nc * sizeof(float), 64) + mc * kc * sizeof(float);
  }

  // A rows [0, rows) x [0, depth) -> panels of MR rows, [k][MR], zero-padded rows.
  static void pack_a(const float* src, size_t lda, uint32_t rows, uint32_t depth, float* dst) {
    for (uint32_t r0 = 0; r0 < rows; r0 += MR) {
      float* panel = dst + (size_t)r0 * depth;
      for (uint32_t i = 0; i < MR; i++) {
        if (r0 + i < rows) {
          const float* a = src + (size_t)(r0 + i) * lda;
          for (uint32_t p = 0; p < depth; p++) panel[(size_t)p * MR + i] = a[p];
        } else {
          for (uint32_t p = 0; p < depth; p++) panel[(size_t)p * MR + i] = 0.0f;
        }
      }
    }
  }

  POUW_KERNEL_ATTR static void kernel(const float* ap, const float* bp, float* c, size_t ldc, uint32_t depth,
                                      uint32_t rows, uint32_t cols, bool accumulate) {
#define POUW_F32_DECL(i) v128_t c##i##a = wasm_f32x4_const_splat(0.0f), c##i##b = wasm_f32x4_const_splat(0.0f);
#define POUW_F32_STEP(i)                                           \
  {                                                                \
    const v128_t x = wasm_v128_load32_splat(ap + i);               \
    c##i##a = wasm_f32x4_add(c##i##a, wasm_f32x4_mul(x, b0));      \
    c##i##b = wasm_f32x4_add(c##i##b, wasm_f32x4_mul(x, b1));      \
  }
#define POUW_F32_SPILL(i)                 \
  wasm_v128_store(tile[i], c##i##a);      \
  wasm_v128_store(tile[i] + 4, c##i##b);
    POUW_ROWS4(POUW_F32_DECL)
    for (uint32_t p = 0; p < depth; p++) {
      const v128_t b0 = wasm_v128_load(bp), b1 = wasm_v128_load(bp + 4);
      POUW_ROWS4(POUW_F32_STEP)
      ap += MR;
      bp += NR;
    }
    float tile[MR][NR];
    POUW_ROWS4(POUW_F32_SPILL)
#undef POUW_F32_DECL
#undef POUW_F32_STEP
#undef POUW_F32_SPILL
    for (uint32_t i = 0; i < rows; i++)
      for (uint32_t j = 0; j < cols; j++) c[i * ldc + j] = (accumulate ? c[i * ldc + j] : 0.0f) + tile[i][j];
  }

  static void gemm(const float* A, const float* B, float* C, uint32_t m, uint32_t k, uint32_t n, void* scratch) {
    const size_t kcap = min_u32(k, KC), ncap = round_up(min_u32(n, NC), NR);
    float* bp = (float*)align64(scratch);
    float* ap = (float*)((uint8_t*)bp + round_up(kcap * ncap * sizeof(float), 64));
    for (uint32_t jc = 0; jc < n; jc += NC) {
      const uint32_t nc = min_u32(NC, n - jc);
      for (uint32_t pc = 0; pc < k; pc += KC) {
        const uint32_t kc = min_u32(KC, k - pc);
        pack_b<NR>(B + (size_t)pc * n + jc, n, kc, nc, bp);
        for (uint32_t ic = 0; ic < m; ic += MC) {
          const uint32_t mc = min_u32(MC, m - ic);
          pack_a(A + (size_t)ic * k + pc, k, mc, kc, ap);
          for (uint32_t jr = 0; jr < nc; jr += NR)
            for (uint32_t ir = 0; ir < mc; ir += MR)
              kernel(ap + (size_t)ir * kc, bp + (size_t)jr * kc, C + (size_t)(ic + ir) * n + jc + jr, n, kc,
                     min_u32(MR, mc - ir), min_u32(NR, nc - jr), pc != 0);
        }
      }
    }
  }
};
#endif  // POUW_GEMM_F32_SIMD128

// ---------------------------------------------------------------------------
// Dispatch

struct Impl {
  const char* name;
  gemm_f32_fn fn;
  bool (*available)();
};

bool always() { return true; }

const Impl kImpls[] = {
#if POUW_GEMM_F32_X86
    {"avx512-fma", gemm_direct<PathAvx512>, has_avx512},
    {"avx2-fma", gemm_direct<PathAvx2>, has_avx2},
#endif
#if POUW_GEMM_F32_SIMD128
    {"simd128", PathSimd128::gemm, always},
#endif
    {"portable", gemm_portable, always},
};
// Index into kImpls of the implementation in use, or -1 before the first call.
int g_selected = -1;

int selected() { return pouw_dispatch::selected(kImpls, g_selected); }

}  // namespace

extern "C" {

size_t pouw_gemm_f32_scratch_bytes(uint32_t m, uint32_t k, uint32_t n) {
  size_t bytes = 64;
#if POUW_GEMM_F32_X86
  const size_t v = direct_scratch<PathAvx512>(m, k, n), w = direct_scratch<PathAvx2>(m, k, n);
  if (v > bytes) bytes = v;
  if (w > bytes) bytes = w;
#endif
#if POUW_GEMM_F32_SIMD128
  const size_t s = PathSimd128::scratch(m, k, n);
  if (s > bytes) bytes = s;
#endif
  (void)m, (void)k, (void)n;
  return bytes;
}

void pouw_gemm_f32(const float* A, const float* B, float* C, uint32_t m, uint32_t k, uint32_t n, void* scratch) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    __builtin_memset(C, 0, (size_t)m * n * sizeof(float));
    return;
  }
  kImpls[selected()].fn(A, B, C, m, k, n, scratch);
}

const char* pouw_gemm_f32_impl(void) { return kImpls[selected()].name; }

int pouw_gemm_f32_select(const char* name) { return pouw_dispatch::select(kImpls, g_selected, name); }

}  // extern "C"
