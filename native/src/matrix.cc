// Matrix commitments (RFC 6962 trees over rows or columns) and Freivalds'
// check; see matrix.h. Portable C++ that also builds freestanding for wasm32:
// no libc, no allocation. Freivalds runs in int64, which is exact under the
// same bounds core/freivalds.ts proves for float64 (all sums below 2^53).
#include "matrix.h"

#include "sha256d.h"

namespace {

inline void put_u32le(uint8_t* p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

// In-place RFC 6962 root over `count` 32-byte leaf hashes at `level`.
void root_in_place(uint8_t* level, uint32_t count, uint8_t root[32]) {
  uint8_t node[65];
  node[0] = 0x01;
  while (count > 1) {
    uint32_t next = 0;
    for (uint32_t i = 0; i + 1 < count; i += 2) {
      __builtin_memcpy(node + 1, level + 32 * i, 64);
      pouw_sha256(node, 65, level + 32 * next++);
    }
    if (count % 2) __builtin_memmove(level + 32 * next++, level + 32 * (count - 1), 32);
    count = next;
  }
  __builtin_memcpy(root, level, 32);
}

uint32_t ceil_log2(uint64_t v) {
  uint32_t l = 0;
  uint64_t p = 1;
  while (p < v) {
    p <<= 1;
    l++;
  }
  return l;
}

}  // namespace

extern "C" {

size_t pouw_commit_scratch_bytes(uint32_t rows, uint32_t cols) {
  uint32_t lines = rows > cols ? rows : cols;
  uint32_t length = rows > cols ? rows : cols;
  return (size_t)32 * lines + 9 + length;
}

int pouw_commit_lines(const int8_t* M, uint32_t rows, uint32_t cols, int by_columns, uint8_t root[32],
                      void* scratch) {
  if (rows == 0 || cols == 0) return -1;
  uint32_t lines = by_columns ? cols : rows;
  uint32_t length = by_columns ? rows : cols;
  uint8_t* hashes = (uint8_t*)scratch;
  uint8_t* leaf = hashes + (size_t)32 * lines;  // 0x00 || u32 i || u32 len || line
  leaf[0] = 0x00;
  put_u32le(leaf + 5, length);
  for (uint32_t i = 0; i < lines; i++) {
    put_u32le(leaf + 1, i);
    if (by_columns) {
      for (uint32_t t = 0; t < length; t++) leaf[9 + t] = (uint8_t)M[(size_t)t * cols + i];
    } else {
      __builtin_memcpy(leaf + 9, M + (size_t)i * cols, length);
    }
    pouw_sha256(leaf, 9 + (size_t)length, hashes + 32 * (size_t)i);
  }
  root_in_place(hashes, lines, root);
  return 0;
}

size_t pouw_freivalds_scratch_bytes(uint32_t, uint32_t k, uint32_t n) {
  return 8 * (size_t)n + 8 * (size_t)k + 4 * (size_t)n + 64;
}

int pouw_freivalds(const int8_t* A, const int8_t* B, const int32_t* C, uint32_t m, uint32_t k, uint32_t n,
                   const uint8_t seed[32], uint32_t rounds, void* scratch) {
  if (m == 0 || k == 0 || n == 0 || rounds == 0 || rounds > 1024) return -1;
  uint32_t L = ceil_log2((uint64_t)k * n);
  if (L > 39) return -1;
  uint32_t e = 40 - L < 20 ? 40 - L : 20;
  for (size_t i = 0; i < (size_t)m * k; i++)
    if (A[i] < -64 || A[i] > 64) return -2;
  for (size_t i = 0; i < (size_t)k * n; i++)
    if (B[i] < -64 || B[i] > 64) return -2;
  const int64_t c_max = (int64_t)64 * 64 * k;
  for (size_t i = 0; i < (size_t)m * n; i++)
    if (C[i] < -c_max || C[i] > c_max) return 0;

  int64_t* x = (int64_t*)scratch;
  int64_t* y = x + n;
  uint8_t* bytes = (uint8_t*)(y + k);  // 4n stream bytes of the current round
  const uint32_t mask = (1u << e) - 1;
  // Stream block b = SHA-256(seed || "freivalds" || u64le b); byte o is byte o%32 of block o/32.
  uint8_t msg[32 + 9 + 8];
  __builtin_memcpy(msg, seed, 32);
  __builtin_memcpy(msg + 32, "freivalds", 9);
  for (uint32_t round = 0; round < rounds; round++) {
    uint64_t first = (uint64_t)4 * round * n;  // stream offset of this round
    uint64_t end = first + (uint64_t)4 * n;
    uint8_t block[32];
    uint64_t have = ~(uint64_t)0;
    for (uint64_t o = first; o < end; o++) {
      uint64_t b = o / 32;
      if (b != have) {
        for (int i = 0; i < 8; i++) msg[41 + i] = (uint8_t)(b >> (8 * i));
        pouw_sha256(msg, sizeof msg, block);
        have = b;
      }
      bytes[o - first] = block[o % 32];
    }
    for (uint32_t j = 0; j < n; j++) {
      const uint8_t* p = bytes + 4 * j;
      uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
      x[j] = 1 + (int64_t)(u & mask);
    }
    for (uint32_t t = 0; t < k; t++) {
      int64_t s = 0;
      const int8_t* row = B + (size_t)t * n;
      for (uint32_t j = 0; j < n; j++) s += (int64_t)row[j] * x[j];
      y[t] = s;
    }
    for (uint32_t i = 0; i < m; i++) {
      int64_t abx = 0, cx = 0;
      const int8_t* a = A + (size_t)i * k;
      for (uint32_t t = 0; t < k; t++) abx += (int64_t)a[t] * y[t];
      const int32_t* c = C + (size_t)i * n;
      for (uint32_t j = 0; j < n; j++) cx += (int64_t)c[j] * x[j];
      if (abx != cx) return 0;
    }
  }
  return 1;
}

int pouw_tile_state(const int8_t* AE, const int8_t* BFT, uint32_t h, uint32_t w, uint32_t k, uint32_t rank,
                    uint32_t state[16], void* scratch) {
  if (!h || !w || rank < 2 || k < rank || k > 65536) return -1;
  int32_t* acc = (int32_t*)scratch;
  __builtin_memset(acc, 0, 4 * (size_t)h * w);
  for (int x = 0; x < 16; x++) state[x] = 0;
  uint32_t slices = k / rank;
  for (uint32_t s = 0; s < slices; s++) {
    uint32_t t0 = s * rank;
    for (uint32_t i = 0; i < h; i++) {
      const int8_t* a = AE + (size_t)i * k + t0;
      for (uint32_t j = 0; j < w; j++) {
        const int8_t* b = BFT + (size_t)j * k + t0;
        int32_t sum = 0;  // |sum| <= 127 * 127 * rank < 2^31
        for (uint32_t t = 0; t < rank; t++) sum += (int32_t)a[t] * (int32_t)b[t];
        acc[(size_t)i * w + j] = (int32_t)((uint32_t)acc[(size_t)i * w + j] + (uint32_t)sum);
      }
    }
    for (size_t x = 0; x < (size_t)h * w; x++) state[x % 16] ^= (uint32_t)acc[x];
    for (int x = 0; x < 16; x++) state[x] = (state[x] << 13) | (state[x] >> 19);
    state[s % 16] += s + 1;
  }
  return 0;
}

}  // extern "C"
