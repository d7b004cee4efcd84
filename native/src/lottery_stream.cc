// The lottery's SHA-256 machinery: the counter-mode noise streams (E_L, E_R, F_L, F_R
// and their index pairs) and the tile tickets, on 16 lanes (AVX-512), 8 (AVX2) or 4
// (SSE2, SIMD128, anything else), chosen once at run time. The compression is
// sha256_core.h's, written once with compiler vector extensions; every stream block is
// one compression, and rounds 0..7 only see the seed, so they run once per stream.
//
// Not here: anything about matrices (the paths and lottery_driver.h use these).
#include "lottery_internal.h"

namespace pouw {
namespace lottery {
namespace {

// Incremental SHA-256 over bytes (tickets' tag, long labels, the one-shot helper).
struct Sha {
  uint32_t h[8];
  uint8_t buf[64];
  uint64_t total;
  uint32_t fill;
};

void sha_init(Sha& s) {
  for (int i = 0; i < 8; i++) s.h[i] = kIV[i];
  s.total = 0;
  s.fill = 0;
}

void sha_update(Sha& s, const void* data, size_t len) {
  const uint8_t* p = (const uint8_t*)data;
  s.total += len;
  while (len > 0) {
    if (s.fill == 0 && len >= 64) {
      compress_bytes(s.h, p);
      p += 64;
      len -= 64;
      continue;
    }
    uint32_t take = (uint32_t)(len < 64 - s.fill ? len : 64 - s.fill);
    __builtin_memcpy(s.buf + s.fill, p, take);
    s.fill += take;
    p += take;
    len -= take;
    if (s.fill == 64) {
      compress_bytes(s.h, s.buf);
      s.fill = 0;
    }
  }
}

void sha_final(Sha& s, uint8_t out[32]) {
  uint64_t bits = s.total * 8;
  uint8_t pad = 0x80;
  sha_update(s, &pad, 1);
  uint8_t zero = 0;
  while (s.fill != 56) sha_update(s, &zero, 1);
  uint8_t len[8];
  for (int i = 0; i < 8; i++) len[i] = (uint8_t)(bits >> (56 - 8 * i));
  sha_update(s, len, 8);
  for (int i = 0; i < 8; i++) store_be32(out + 4 * i, s.h[i]);
}

// Message word j of the block with counter ctr.
PL_INLINE uint32_t stream_word(const StreamKey& k, uint32_t j, uint64_t ctr) {
  uint32_t x = k.w[j];
  for (uint32_t b = 0; b < 4; b++) {
    uint32_t pos = 4 * j + b;
    if (pos >= k.co && pos < k.co + 8) x |= (uint32_t)((ctr >> (8 * (pos - k.co))) & 0xff) << (24 - 8 * b);
  }
  return x;
}

// N blocks (counters ctr .. ctr + N - 1) into out (N * 32 bytes).
template <class V, int N>
PL_INLINE void stream_lanes(const StreamKey& k, uint64_t ctr, uint8_t* out) {
  V w[16];
  PL_UNROLL
  for (int j = 0; j < 16; j++) w[j] = splat_v<V>(k.w[j]);
  if (k.co == 34) {  // two-byte labels: counter bytes 34..41 in words 8, 9, 10
    uint32_t iota[N];
    for (int l = 0; l < N; l++) iota[l] = (uint32_t)l;
    V lo, hi;
    __builtin_memcpy(&lo, iota, sizeof(V));
    const uint32_t base = (uint32_t)ctr;
    lo = lo + base;
    hi = splat_v<V>((uint32_t)(ctr >> 32)) - (V)(lo < base);  // carry out of the low word
    const uint32_t ff = 0xff;
    w[8] = w[8] | ((lo & ff) << 8) | ((lo >> 8) & ff);
    w[9] = (((lo >> 16) & ff) << 24) | ((lo >> 24) << 16) | ((hi & ff) << 8) | ((hi >> 8) & ff);
    w[10] = w[10] | (((hi >> 16) & ff) << 24) | ((hi >> 24) << 16);
  } else {
    const uint32_t wa = k.co / 4, wb = (k.co + 7) / 4;
    for (uint32_t j = wa; j <= wb && j < 16; j++) {
      uint32_t tmp[N];
      for (int l = 0; l < N; l++) tmp[l] = stream_word(k, j, ctr + (uint64_t)l);
      __builtin_memcpy(&w[j], tmp, sizeof(V));
    }
  }
  V s[8];
  PL_UNROLL
  for (int i = 0; i < 8; i++) s[i] = splat_v<V>(k.mid[i]);
  rounds<V>(s, w, 8);
  uint32_t tmp[8][N];
  PL_UNROLL
  for (int i = 0; i < 8; i++) {
    const V x = s[i] + kIV[i];
    const V y = (x >> 24) | ((x >> 8) & 0xff00u) | ((x << 8) & 0xff0000u) | (x << 24);  // to big-endian bytes
    __builtin_memcpy(tmp[i], &y, sizeof(V));
  }
  for (int l = 0; l < N; l++)
    PL_UNROLL
    for (int i = 0; i < 8; i++) __builtin_memcpy(out + 32 * l + 4 * i, &tmp[i][l], 4);
}

template <class V, int N>
PL_INLINE void stream_blocks_n(const StreamKey& k, uint64_t first, uint64_t count, uint8_t* out) {
  while (count >= (uint64_t)N) {
    stream_lanes<V, N>(k, first, out);
    first += N;
    count -= N;
    out += 32 * N;
  }
  if (count) {
    uint8_t tmp[32 * N];
    stream_lanes<V, N>(k, first, tmp);
    __builtin_memcpy(out, tmp, 32 * count);
  }
}

#if PL_X86
PL_TARGET_AVX512F void stream_blocks_16(const StreamKey& k, uint64_t first, uint64_t count, uint8_t* out) {
  stream_blocks_n<u32x16, 16>(k, first, count, out);
}
PL_TARGET_AVX2 void stream_blocks_8(const StreamKey& k, uint64_t first, uint64_t count, uint8_t* out) {
  stream_blocks_n<u32x8, 8>(k, first, count, out);
}
#endif
void stream_blocks_4(const StreamKey& k, uint64_t first, uint64_t count, uint8_t* out) {
  stream_blocks_n<u32x4, 4>(k, first, count, out);
}

int g_stream_lanes = 0;  // 16, 8 or 4 once chosen

// x mod d for x < 2^16 and d <= 2^16 by one multiply: exact because x * d < 2^32.
struct FastMod {
  uint64_t mul;
  uint32_t d;
  void init(uint32_t div) {
    d = div;
    mul = ((uint64_t)1 << 32) / div + (((uint64_t)1 << 32) % div != 0);
  }
  PL_INLINE uint32_t mod(uint32_t x) const { return x - (uint32_t)((x * mul) >> 32) * d; }
};


// Up to N tickets at once: tile (ti[l], tj[l]) with state states + 16 * l.
template <class V, int N>
PL_INLINE void ticket_lanes(const TicketKey& t, const uint8_t seedA[32], uint32_t count, const uint32_t* ti,
                            const uint32_t* tj, const uint32_t* states, uint8_t* out) {
  uint32_t m[2][16][N];
  for (int l = 0; l < N; l++) {
    const uint32_t x = (uint32_t)l < count ? (uint32_t)l : 0;
    const uint32_t* st = states + 16 * x;
    for (int i = 0; i < 8; i++) m[0][i][l] = load_be32(seedA + 4 * i);
    m[0][8][l] = bswap32(ti[x]);
    m[0][9][l] = bswap32(tj[x]);
    for (int i = 0; i < 6; i++) m[0][10 + i][l] = bswap32(st[i]);
    for (int i = 0; i < 10; i++) m[1][i][l] = bswap32(st[6 + i]);
    m[1][10][l] = 0x80000000u;
    m[1][11][l] = m[1][12][l] = m[1][13][l] = m[1][14][l] = 0;
    m[1][15][l] = (64 + 104) * 8;
  }
  V h[8], s[8], w[16];
  PL_UNROLL
  for (int i = 0; i < 8; i++) h[i] = splat_v<V>(t.mid[i]);
  for (int b = 0; b < 2; b++) {
    PL_UNROLL
    for (int i = 0; i < 16; i++) __builtin_memcpy(&w[i], m[b][i], sizeof(V));
    PL_UNROLL
    for (int i = 0; i < 8; i++) s[i] = h[i];
    rounds<V>(s, w, 0);
    PL_UNROLL
    for (int i = 0; i < 8; i++) h[i] = h[i] + s[i];
  }
  PL_UNROLL
  for (int i = 0; i < 8; i++) {
    uint32_t tmp[N];
    __builtin_memcpy(tmp, &h[i], sizeof(V));
    for (uint32_t l = 0; l < count; l++) store_be32(out + 32 * l + 4 * i, tmp[l]);
  }
}

#if PL_X86
PL_TARGET_AVX512F void tickets_16(const TicketKey& t, const uint8_t* seedA, uint32_t count, const uint32_t* ti,
                                  const uint32_t* tj, const uint32_t* states, uint8_t* out) {
  ticket_lanes<u32x16, 16>(t, seedA, count, ti, tj, states, out);
}
PL_TARGET_AVX2 void tickets_8(const TicketKey& t, const uint8_t* seedA, uint32_t count, const uint32_t* ti,
                              const uint32_t* tj, const uint32_t* states, uint8_t* out) {
  ticket_lanes<u32x8, 8>(t, seedA, count, ti, tj, states, out);
}
#endif
void tickets_4(const TicketKey& t, const uint8_t* seedA, uint32_t count, const uint32_t* ti, const uint32_t* tj,
               const uint32_t* states, uint8_t* out) {
  ticket_lanes<u32x4, 4>(t, seedA, count, ti, tj, states, out);
}

}  // namespace

void sha256_digest(const void* data, size_t len, uint8_t out[32]) {
  Sha s;
  sha_init(s);
  sha_update(s, data, len);
  sha_final(s, out);
}

void stream_init(StreamKey& k, const uint8_t seed[32], const char* label, uint32_t label_len) {
  __builtin_memcpy(k.seed, seed, 32);
  k.label = label;
  k.label_len = label_len;
  k.co = 32 + label_len;
  k.one_block = 32 + label_len + 8 + 9 <= 64;
  if (!k.one_block) return;
  uint8_t b[64];
  __builtin_memset(b, 0, 64);
  __builtin_memcpy(b, seed, 32);
  __builtin_memcpy(b + 32, label, label_len);
  b[k.co + 8] = 0x80;
  uint64_t bits = (uint64_t)(k.co + 8) * 8;
  for (int i = 0; i < 8; i++) b[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
  for (int i = 0; i < 16; i++) k.w[i] = load_be32(b + 4 * i);
  uint32_t s[8], w[16];
  for (int i = 0; i < 8; i++) s[i] = kIV[i];
  for (int i = 0; i < 16; i++) w[i] = k.w[i];
  // rounds 0..7 by hand (rounds() runs to 64)
  uint32_t a = s[0], bb = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
  for (int t = 0; t < 8; t++) round(a, bb, c, d, e, f, g, h, kK[t] + w[t]);
  k.mid[0] = a, k.mid[1] = bb, k.mid[2] = c, k.mid[3] = d;
  k.mid[4] = e, k.mid[5] = f, k.mid[6] = g, k.mid[7] = h;
}

int stream_lanes_available() {
  int lanes = __atomic_load_n(&g_stream_lanes, __ATOMIC_RELAXED);
  if (lanes == 0) {
    lanes = 4;
#if PL_X86
    const CpuFeatures f = cpu_features();
    if (f.avx512f)
      lanes = 16;
    else if (f.avx2)
      lanes = 8;
#endif
    __atomic_store_n(&g_stream_lanes, lanes, __ATOMIC_RELAXED);
  }
  return lanes;
}

void stream_blocks(const StreamKey& k, uint64_t first, uint64_t count, uint8_t* out) {
  if (!k.one_block) {  // long labels: plain hashing (debug helper only)
    for (uint64_t i = 0; i < count; i++) {
      Sha s;
      sha_init(s);
      sha_update(s, k.seed, 32);
      sha_update(s, k.label, k.label_len);
      uint8_t c[8];
      for (int b = 0; b < 8; b++) c[b] = (uint8_t)((first + i) >> (8 * b));
      sha_update(s, c, 8);
      sha_final(s, out + 32 * i);
    }
    return;
  }
#if PL_X86
  const int lanes = stream_lanes_available();
  if (lanes == 16) return stream_blocks_16(k, first, count, out);
  if (lanes == 8) return stream_blocks_8(k, first, count, out);
#endif
  stream_blocks_4(k, first, count, out);
}

// count bytes of the stream from byte offset.
void expand_range(const StreamKey& k, uint64_t offset, uint64_t count, uint8_t* out) {
  if (count == 0) return;
  uint64_t first = offset / 32, skip = offset % 32;
  if (skip) {
    uint8_t blk[32];
    stream_blocks(k, first, 1, blk);
    uint64_t take = 32 - skip < count ? 32 - skip : count;
    __builtin_memcpy(out, blk + skip, take);
    out += take;
    count -= take;
    first++;
  }
  uint64_t full = count / 32;
  if (full) stream_blocks(k, first, full, out);
  out += 32 * full;
  count -= 32 * full;
  first += full;
  if (count) {
    uint8_t blk[32];
    stream_blocks(k, first, 1, blk);
    __builtin_memcpy(out, blk, count);
  }
}

// Dense noise entries: (byte & 63) - 32.
void dense_range(const StreamKey& k, uint64_t offset, uint64_t count, int8_t* out) {
  expand_range(k, offset, count, (uint8_t*)out);
  for (uint64_t i = 0; i < count; i++) out[i] = (int8_t)(((uint8_t)out[i] & 63) - 32);
}

// Index pairs for t in [t0, t0 + count): p = u mod r, q = (p + 1 + v mod (r - 1)) mod r.
void pairs_range(const StreamKey& k, uint32_t r, uint32_t t0, uint32_t count, uint16_t* p, uint16_t* q) {
  FastMod mr, mr1;
  mr.init(r);
  mr1.init(r - 1);
  uint8_t buf[1024];
  while (count > 0) {
    uint32_t c = count < 256 ? count : 256;
    expand_range(k, (uint64_t)t0 * 4, (uint64_t)c * 4, buf);
    for (uint32_t i = 0; i < c; i++) {
      uint32_t u = buf[4 * i] | (uint32_t)buf[4 * i + 1] << 8;
      uint32_t v = buf[4 * i + 2] | (uint32_t)buf[4 * i + 3] << 8;
      uint32_t a = mr.mod(u);
      uint32_t b = a + 1 + mr1.mod(v);
      p[i] = (uint16_t)a;
      q[i] = (uint16_t)(b >= r ? b - r : b);
    }
    p += c;
    q += c;
    t0 += c;
    count -= c;
  }
}

void ticket_init(TicketKey& t) {
  static const char tag[] = "pouw/lottery-ticket";
  uint8_t th[32], blk[64];
  sha256_digest(tag, sizeof(tag) - 1, th);
  __builtin_memcpy(blk, th, 32);
  __builtin_memcpy(blk + 32, th, 32);
  for (int i = 0; i < 8; i++) t.mid[i] = kIV[i];
  compress_bytes(t.mid, blk);
}

// Tickets of `count` tiles (any count), 16 per batch at most.
void tickets_batch(const TicketKey& t, const uint8_t* seedA, uint32_t count, const uint32_t* ti, const uint32_t* tj,
                   const uint32_t* states, uint8_t* out) {
  const int lanes = stream_lanes_available();
  while (count > 0) {
    uint32_t c = count < (uint32_t)lanes ? count : (uint32_t)lanes;
#if PL_X86
    if (lanes == 16)
      tickets_16(t, seedA, c, ti, tj, states, out);
    else if (lanes == 8)
      tickets_8(t, seedA, c, ti, tj, states, out);
    else
#endif
      tickets_4(t, seedA, c, ti, tj, states, out);
    count -= c, ti += c, tj += c, states += 16 * c, out += 32 * c;
  }
}

// ticket <= threshold, both little-endian 256-bit integers.
bool ticket_wins(const uint8_t ticket[32], const uint8_t thr[32]) {
  for (int i = 31; i >= 0; i--) {
    if (ticket[i] != thr[i]) return ticket[i] < thr[i];
  }
  return true;
}

}  // namespace lottery
}  // namespace pouw
