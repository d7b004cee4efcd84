// Standalone test of the matmul-lottery kernel (native/src/lottery.cc); no framework,
// no build system (see lottery_run.sh).
//
// For every implementation this machine can run:
//  (a) the regression vectors of test/vectors/lottery.json (the TypeScript reference is
//      the oracle): every tile's ticket, the winner list and the SHA-256 of the recovered
//      product, through the one-call API and through the split API (3 prepare parts,
//      uneven tile-row ranges, concatenated winner lists);
//  (b) random shapes (k a multiple of r or not, odd ranks, rank 2, tile shapes that take
//      the fast and the generic fold, padded panels, k = 65536 with small m and n, entries
//      uniform in [-64, 64] or all at +-64): tickets and winners equal an independent
//      reference computed here (spec-level loops over A+E and B+F plus this file's own
//      SHA-256), the product equals a naive A B, and everything is identical across
//      implementations; winner truncation and error codes.
// Path-independent checks: the stream vectors, the noisy-operand digests and the
// SHA-256 helper (against this file's SHA-256 and FIPS examples).
//
// Usage: lottery_test <path to test/vectors>. Exit status 0 when everything passes.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../src/lottery.h"

namespace {

int g_failures = 0;
int g_checks = 0;

#define CHECK(cond, ...)                                          \
  do {                                                            \
    g_checks++;                                                   \
    if (!(cond)) {                                                \
      g_failures++;                                               \
      std::printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      std::printf(__VA_ARGS__);                                   \
      std::printf("\n");                                          \
    }                                                             \
  } while (0)

// ---------------------------------------------------------------------------
// Minimal JSON reader (objects, arrays, strings without escapes beyond \" \\ \/, numbers,
// true/false/null): enough for the vector files.

struct Json {
  enum Kind { Null, Bool, Num, Str, Arr, Obj } kind = Null;
  double num = 0;
  bool b = false;
  std::string str;
  std::vector<Json> arr;
  std::vector<std::pair<std::string, Json>> obj;

  const Json& operator[](const std::string& key) const {
    static const Json none;
    for (const auto& kv : obj)
      if (kv.first == key) return kv.second;
    return none;
  }
  const Json& operator[](size_t i) const { return arr.at(i); }
  size_t size() const { return kind == Arr ? arr.size() : obj.size(); }
  uint64_t u() const { return (uint64_t)num; }
};

struct JsonParser {
  const char* p;
  void ws() {
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') p++;
  }
  std::string string() {
    std::string s;
    p++;  // opening quote
    while (*p && *p != '"') {
      if (*p == '\\') {
        p++;
        char c = *p++;
        if (c == 'n') s += '\n';
        else if (c == 't') s += '\t';
        else if (c == 'u') {  // keep the escape verbatim; not needed here
          s += "\\u";
        } else s += c;
        continue;
      }
      s += *p++;
    }
    p++;
    return s;
  }
  Json value() {
    ws();
    Json j;
    if (*p == '{') {
      j.kind = Json::Obj;
      p++;
      ws();
      if (*p == '}') {
        p++;
        return j;
      }
      for (;;) {
        ws();
        std::string key = string();
        ws();
        p++;  // ':'
        j.obj.emplace_back(key, value());
        ws();
        if (*p == ',') {
          p++;
          continue;
        }
        p++;  // '}'
        return j;
      }
    }
    if (*p == '[') {
      j.kind = Json::Arr;
      p++;
      ws();
      if (*p == ']') {
        p++;
        return j;
      }
      for (;;) {
        j.arr.push_back(value());
        ws();
        if (*p == ',') {
          p++;
          continue;
        }
        p++;  // ']'
        return j;
      }
    }
    if (*p == '"') {
      j.kind = Json::Str;
      j.str = string();
      return j;
    }
    if (!std::strncmp(p, "true", 4)) {
      j.kind = Json::Bool, j.b = true, p += 4;
      return j;
    }
    if (!std::strncmp(p, "false", 5)) {
      j.kind = Json::Bool, p += 5;
      return j;
    }
    if (!std::strncmp(p, "null", 4)) {
      p += 4;
      return j;
    }
    char* end;
    j.kind = Json::Num;
    j.num = std::strtod(p, &end);
    p = end;
    return j;
  }
};

bool load_json(const std::string& path, Json& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::stringstream ss;
  ss << f.rdbuf();
  std::string text = ss.str();
  JsonParser jp{text.c_str()};
  out = jp.value();
  return true;
}

std::vector<uint8_t> unhex(const std::string& h) {
  std::vector<uint8_t> out(h.size() / 2);
  for (size_t i = 0; i < out.size(); i++) out[i] = (uint8_t)std::stoul(h.substr(2 * i, 2), nullptr, 16);
  return out;
}

std::string hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; i++) s += d[p[i] >> 4], s += d[p[i] & 15];
  return s;
}

// ---------------------------------------------------------------------------
// Independent plain SHA-256 (FIPS 180-4)

struct RefSha {
  uint32_t h[8];
  std::vector<uint8_t> buf;
  uint64_t total = 0;
  static uint32_t ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
  RefSha() {
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    std::memcpy(h, iv, sizeof h);
  }
  void block(const uint8_t* p) {
    static const uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
    uint32_t w[64];
    for (int i = 0; i < 16; i++) w[i] = (uint32_t)p[4 * i] << 24 | p[4 * i + 1] << 16 | p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
      uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
      uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
      uint32_t t1 = hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
      uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
  }
  void update(const void* data, size_t n) {
    const uint8_t* p = (const uint8_t*)data;
    total += n;
    buf.insert(buf.end(), p, p + n);
    size_t off = 0;
    while (buf.size() - off >= 64) block(buf.data() + off), off += 64;
    buf.erase(buf.begin(), buf.begin() + off);
  }
  std::vector<uint8_t> digest() {
    uint64_t bits = total * 8;
    uint8_t pad = 0x80, zero = 0;
    update(&pad, 1);
    while (buf.size() != 56) update(&zero, 1);
    uint8_t len[8];
    for (int i = 0; i < 8; i++) len[i] = (uint8_t)(bits >> (56 - 8 * i));
    update(len, 8);
    std::vector<uint8_t> out(32);
    for (int i = 0; i < 8; i++)
      for (int j = 0; j < 4; j++) out[4 * i + j] = (uint8_t)(h[i] >> (24 - 8 * j));
    return out;
  }
};

std::vector<uint8_t> ref_sha(const void* p, size_t n) {
  RefSha s;
  s.update(p, n);
  return s.digest();
}

std::vector<uint8_t> product_digest(const std::vector<int32_t>& c) {
  std::vector<uint8_t> bytes(c.size() * 4);
  for (size_t i = 0; i < c.size(); i++)
    for (int b = 0; b < 4; b++) bytes[4 * i + b] = (uint8_t)((uint32_t)c[i] >> (8 * b));
  return ref_sha(bytes.data(), bytes.size());
}

// ---------------------------------------------------------------------------
// Independent reference: tile states from A+E and B+F exactly as §15 states them.

struct Ref {
  std::vector<uint8_t> tickets;  // 32 per tile
  std::vector<uint32_t> winners;
};

Ref reference(const std::vector<int8_t>& AE, const std::vector<int8_t>& BF, uint32_t m, uint32_t k, uint32_t n,
              uint32_t r, uint32_t h, uint32_t w, const uint8_t* seedA, const uint8_t* thr_le) {
  Ref out;
  const uint32_t down = m / h, across = n / w, slices = k / r;
  std::vector<uint8_t> tag_hash = ref_sha("pouw/lottery-ticket", 19);
  std::vector<int32_t> acc((size_t)h * w);
  for (uint32_t ti = 0; ti < down; ti++)
    for (uint32_t tj = 0; tj < across; tj++) {
      std::fill(acc.begin(), acc.end(), 0);
      uint32_t st[16] = {};
      for (uint32_t s = 0; s < slices; s++) {
        for (uint32_t i = 0; i < h; i++)
          for (uint32_t j = 0; j < w; j++) {
            int32_t sum = 0;
            for (uint32_t t = s * r; t < s * r + r; t++)
              sum += AE[(size_t)(ti * h + i) * k + t] * BF[(size_t)t * n + tj * w + j];
            acc[(size_t)i * w + j] += sum;
          }
        for (size_t x = 0; x < (size_t)h * w; x++) st[x % 16] ^= (uint32_t)acc[x];
        for (auto& v : st) v = (v << 13) | (v >> 19);
        st[s % 16] += s + 1;
      }
      RefSha sh;
      sh.update(tag_hash.data(), 32);
      sh.update(tag_hash.data(), 32);
      sh.update(seedA, 32);
      uint8_t body[72];
      for (int b = 0; b < 4; b++) body[b] = (uint8_t)(ti >> (8 * b)), body[4 + b] = (uint8_t)(tj >> (8 * b));
      for (int x = 0; x < 16; x++)
        for (int b = 0; b < 4; b++) body[8 + 4 * x + b] = (uint8_t)(st[x] >> (8 * b));
      sh.update(body, 72);
      std::vector<uint8_t> t = sh.digest();
      out.tickets.insert(out.tickets.end(), t.begin(), t.end());
      bool win = true;
      for (int i = 31; i >= 0; i--)
        if (t[i] != thr_le[i]) {
          win = t[i] < thr_le[i];
          break;
        }
      if (win) out.winners.push_back(ti * across + tj);
    }
  return out;
}

std::vector<int32_t> naive_product(const std::vector<int8_t>& A, const std::vector<int8_t>& B, uint32_t m, uint32_t k,
                                   uint32_t n) {
  std::vector<int32_t> C((size_t)m * n, 0);
  for (uint32_t i = 0; i < m; i++)
    for (uint32_t t = 0; t < k; t++) {
      const int32_t a = A[(size_t)i * k + t];
      if (!a) continue;
      for (uint32_t j = 0; j < n; j++) C[(size_t)i * n + j] += a * B[(size_t)t * n + j];
    }
  return C;
}

// ---------------------------------------------------------------------------
// Running the kernel

struct Result {
  int rc = 0;
  std::vector<uint8_t> tickets;
  std::vector<uint32_t> winners;
  uint32_t n_winners = 0;
  std::vector<int32_t> product;
};

Result run_one(const std::vector<int8_t>& A, const std::vector<int8_t>& B, uint32_t m, uint32_t k, uint32_t n,
               const pouw_lottery_config& cfg, const uint8_t* seedA, const uint8_t* seedB, const uint8_t* thr,
               bool product, uint32_t max_winners) {
  Result res;
  const uint32_t tiles = (m / cfg.tile_rows) * (n / cfg.tile_cols);
  res.tickets.assign((size_t)tiles * 32, 0xee);
  res.winners.assign(tiles + 1, 0xffffffffu);
  if (product) res.product.assign((size_t)m * n, 0x5a5a5a5a);
  size_t bytes = pouw_lottery_scratch_bytes(m, k, n, cfg.rank, cfg.tile_rows, cfg.tile_cols);
  std::vector<uint8_t> scratch(bytes + 1);
  // unaligned on purpose
  res.rc = pouw_lottery_run(A.data(), B.data(), m, k, n, &cfg, seedA, seedB, thr, res.tickets.data(),
                            res.winners.data(), max_winners, &res.n_winners, product ? res.product.data() : nullptr,
                            scratch.data() + 1);
  res.winners.resize(std::min(res.n_winners, max_winners));
  return res;
}

// The split API with `parts` prepare parts and the tile rows cut into `ranges` pieces;
// threaded: every part and every range in its own thread (each with its own scratch).
Result run_split(const std::vector<int8_t>& A, const std::vector<int8_t>& B, uint32_t m, uint32_t k, uint32_t n,
                 const pouw_lottery_config& cfg, const uint8_t* seedA, const uint8_t* seedB, const uint8_t* thr,
                 uint32_t parts, uint32_t ranges, bool threaded = false) {
  Result res;
  const uint32_t down = m / cfg.tile_rows;
  const uint32_t tiles = down * (n / cfg.tile_cols);
  res.tickets.assign((size_t)tiles * 32, 0xee);
  res.product.assign((size_t)m * n, 0x5a5a5a5a);
  std::vector<uint8_t> shared(pouw_lottery_shared_bytes(m, k, n, cfg.rank, cfg.tile_rows, cfg.tile_cols) + 3);
  std::vector<int> prc(parts, 0);
  auto prep = [&](uint32_t p) {
    prc[p] = pouw_lottery_prepare(B.data(), m, k, n, &cfg, seedA, seedB, 1, p, parts, shared.data() + 3);
  };
  if (threaded) {
    std::vector<std::thread> th;
    for (uint32_t p = 0; p < parts; p++) th.emplace_back(prep, p);
    for (auto& t : th) t.join();
  } else {
    for (uint32_t p = parts; p-- > 0;) prep(p);  // reverse order: parts must not depend on each other
  }
  for (int rc : prc)
    if (rc) res.rc = rc;
  // uneven ranges: the first one small
  std::vector<uint32_t> cuts{0};
  for (uint32_t x = 1; x < ranges; x++) cuts.push_back(std::min(down, (uint32_t)((uint64_t)down * x * x / (ranges * ranges))));
  cuts.push_back(down);
  const size_t nr = cuts.size() - 1;
  std::vector<std::vector<uint32_t>> wins(nr, std::vector<uint32_t>(tiles + 1));
  std::vector<uint32_t> nw(nr, 0);
  std::vector<int> rrc(nr, 0);
  auto rows = [&](size_t x) {
    std::vector<uint8_t> scratch(pouw_lottery_rows_scratch_bytes(m, k, n, cfg.rank, cfg.tile_rows, cfg.tile_cols));
    rrc[x] = pouw_lottery_run_rows(A.data(), m, k, n, &cfg, seedA, seedB, thr, shared.data() + 3, cuts[x], cuts[x + 1],
                                   res.tickets.data(), wins[x].data(), tiles + 1, &nw[x], res.product.data(),
                                   scratch.data());
  };
  if (threaded) {
    std::vector<std::thread> th;
    for (size_t x = 0; x < nr; x++) th.emplace_back(rows, x);
    for (auto& t : th) t.join();
  } else {
    for (size_t x = 0; x < nr; x++) rows(x);
  }
  for (size_t x = 0; x < nr; x++) {
    if (rrc[x]) res.rc = rrc[x];
    res.winners.insert(res.winners.end(), wins[x].begin(), wins[x].begin() + nw[x]);
    res.n_winners += nw[x];
  }
  return res;
}

std::vector<std::string> available_impls() {
  std::vector<std::string> out;
  for (const char* name : {"amx-int8", "avx512-vnni", "avx2", "simd128", "portable"})
    if (pouw_lottery_select(name) == 0) out.push_back(name);
  return out;
}

// ---------------------------------------------------------------------------
// (a) vectors

void check_vectors(const Json& root, const std::vector<std::string>& impls) {
  // streams
  for (const Json& s : root["streams"].arr) {
    std::vector<uint8_t> seed = unhex(s["seed"].str);
    std::vector<uint8_t> out(s["count"].u() + 1, 0xcd);
    const std::string& label = s["label"].str;
    pouw_lottery_expand(seed.data(), label.data(), (uint32_t)label.size(), s["offset"].u(), s["count"].u(), out.data());
    CHECK(hex(out.data(), s["count"].u()) == s["hex"].str, "stream %s offset %llu count %llu", label.c_str(),
          (unsigned long long)s["offset"].u(), (unsigned long long)s["count"].u());
    CHECK(out[s["count"].u()] == 0xcd, "stream wrote past its end");
  }
  for (const Json& v : root["vectors"].arr) {
    const std::string name = v["name"].str;
    const uint32_t m = (uint32_t)v["m"].u(), k = (uint32_t)v["k"].u(), n = (uint32_t)v["n"].u();
    pouw_lottery_config cfg{(uint32_t)v["config"]["rank"].u(), (uint32_t)v["config"]["tileRows"].u(),
                            (uint32_t)v["config"]["tileCols"].u()};
    std::vector<uint8_t> a = unhex(v["A"].str), b = unhex(v["B"].str);
    std::vector<int8_t> A(a.begin(), a.end()), B(b.begin(), b.end());
    std::vector<uint8_t> seedA = unhex(v["seedA"].str), seedB = unhex(v["seedB"].str);
    std::vector<uint8_t> thr = unhex(v["threshold"].str);  // big-endian hex
    std::reverse(thr.begin(), thr.end());
    // noisy operands
    std::vector<int8_t> AE((size_t)m * k), BF((size_t)k * n);
    std::vector<uint8_t> ns(pouw_lottery_noisy_scratch_bytes(m, k, n, cfg.rank));
    CHECK(pouw_lottery_noisy(A.data(), B.data(), m, k, n, cfg.rank, seedA.data(), seedB.data(), AE.data(), BF.data(),
                             ns.data()) == 0,
          "%s noisy rc", name.c_str());
    CHECK(hex(ref_sha(AE.data(), AE.size()).data(), 32) == v["noisyASha256"].str, "%s A+E digest", name.c_str());
    CHECK(hex(ref_sha(BF.data(), BF.size()).data(), 32) == v["noisyBSha256"].str, "%s B+F digest", name.c_str());
    // the in-test reference against the vector (validates the reference itself)
    Ref ref = reference(AE, BF, m, k, n, cfg.rank, cfg.tile_rows, cfg.tile_cols, seedA.data(), thr.data());
    for (size_t t = 0; t < v["tickets"].size(); t++)
      CHECK(hex(ref.tickets.data() + 32 * t, 32) == v["tickets"][t].str, "%s reference ticket %zu", name.c_str(), t);
    std::vector<uint32_t> want;
    const uint32_t across = n / cfg.tile_cols;
    for (const Json& wv : v["winners"].arr) want.push_back((uint32_t)(wv["ti"].u() * across + wv["tj"].u()));
    CHECK(ref.winners == want, "%s reference winners", name.c_str());

    for (const std::string& impl : impls) {
      pouw_lottery_select(impl.c_str());
      Result res = run_one(A, B, m, k, n, cfg, seedA.data(), seedB.data(), thr.data(), true, 1000);
      CHECK(res.rc == 0, "%s [%s] rc %d", name.c_str(), impl.c_str(), res.rc);
      for (size_t t = 0; t < v["tickets"].size(); t++)
        CHECK(hex(res.tickets.data() + 32 * t, 32) == v["tickets"][t].str, "%s [%s] ticket %zu", name.c_str(),
              impl.c_str(), t);
      CHECK(res.winners == want && res.n_winners == want.size(), "%s [%s] winners (%u)", name.c_str(), impl.c_str(),
            res.n_winners);
      CHECK(hex(product_digest(res.product).data(), 32) == v["productSha256"].str, "%s [%s] product digest",
            name.c_str(), impl.c_str());
      Result nop = run_one(A, B, m, k, n, cfg, seedA.data(), seedB.data(), thr.data(), false, 1000);
      CHECK(nop.rc == 0 && nop.tickets == res.tickets && nop.winners == res.winners, "%s [%s] without product",
            name.c_str(), impl.c_str());
      Result sp = run_split(A, B, m, k, n, cfg, seedA.data(), seedB.data(), thr.data(), 3, 3);
      CHECK(sp.rc == 0 && sp.tickets == res.tickets && sp.winners == res.winners && sp.product == res.product,
            "%s [%s] split API", name.c_str(), impl.c_str());
    }
  }
}

// ---------------------------------------------------------------------------
// (b) random shapes

struct Shape {
  uint32_t m, k, n, r, h, w;
  int fill;  // 0 uniform, 1 all +64, 2 all -64, 3 random +-64, 4 A +64 / B -64
};

std::vector<int8_t> fill_matrix(std::mt19937_64& rng, size_t count, int fill, bool isB) {
  std::vector<int8_t> M(count);
  std::uniform_int_distribution<int> u(-64, 64), coin(0, 1);
  for (auto& x : M) {
    switch (fill) {
      case 0: x = (int8_t)u(rng); break;
      case 1: x = 64; break;
      case 2: x = -64; break;
      case 3: x = coin(rng) ? 64 : -64; break;
      default: x = isB ? -64 : 64; break;
    }
  }
  return M;
}

void check_random(const std::vector<std::string>& impls, bool quick) {
  std::vector<Shape> shapes = {
      {64, 256, 64, 32, 16, 16, 0},    {64, 300, 96, 32, 16, 32, 0},   {32, 100, 48, 7, 8, 16, 0},
      {24, 50, 40, 5, 12, 8, 0},       {6, 40, 5, 3, 1, 1, 0},         {128, 1024, 128, 128, 64, 64, 0},
      {96, 777, 80, 64, 32, 16, 0},    {12, 64, 32, 2, 4, 16, 3},      {40, 200, 40, 9, 8, 8, 1},
      {64, 512, 64, 128, 64, 64, 4},   {16, 96, 32, 96, 16, 16, 2},    {16, 97, 32, 96, 16, 16, 3},
      {48, 160, 64, 16, 48, 64, 0},    {200, 72, 48, 36, 40, 24, 0},   {8, 33, 16, 4, 8, 16, 3},
      {24, 300, 40, 64, 12, 8, 0},     {40, 256, 48, 128, 8, 24, 3},   {48, 350, 64, 100, 48, 16, 0},
      {96, 640, 96, 128, 16, 32, 4},
  };
  if (!quick) {
    shapes.push_back({16, 65536, 16, 128, 16, 16, 3});
    shapes.push_back({16, 65536, 32, 128, 16, 16, 4});
    shapes.push_back({8, 65536, 16, 2, 8, 16, 0});
    shapes.push_back({32, 65535, 48, 1000, 16, 16, 1});
    shapes.push_back({256, 512, 256, 256, 128, 128, 0});
  }
  std::mt19937_64 rng(20250101);
  int idx = 0;
  for (const Shape& s : shapes) {
    idx++;
    std::vector<int8_t> A = fill_matrix(rng, (size_t)s.m * s.k, s.fill, false);
    std::vector<int8_t> B = fill_matrix(rng, (size_t)s.k * s.n, s.fill, true);
    uint8_t seedA[32], seedB[32], thr[32];
    for (auto& x : seedA) x = (uint8_t)rng();
    for (auto& x : seedB) x = (uint8_t)rng();
    std::memset(thr, 0xff, 32);
    thr[31] = 0x7f;  // about half the tiles win
    pouw_lottery_config cfg{s.r, s.h, s.w};
    char what[160];
    std::snprintf(what, sizeof what, "shape %d (%ux%ux%u r%u tile %ux%u fill %d)", idx, s.m, s.k, s.n, s.r, s.h, s.w,
                  s.fill);
    std::vector<int32_t> want_c = naive_product(A, B, s.m, s.k, s.n);
    std::vector<int8_t> AE((size_t)s.m * s.k), BF((size_t)s.k * s.n);
    std::vector<uint8_t> ns(pouw_lottery_noisy_scratch_bytes(s.m, s.k, s.n, s.r));
    pouw_lottery_noisy(A.data(), B.data(), s.m, s.k, s.n, s.r, seedA, seedB, AE.data(), BF.data(), ns.data());
    Ref ref = reference(AE, BF, s.m, s.k, s.n, s.r, s.h, s.w, seedA, thr);
    Result first;
    for (size_t x = 0; x < impls.size(); x++) {
      pouw_lottery_select(impls[x].c_str());
      Result res = run_one(A, B, s.m, s.k, s.n, cfg, seedA, seedB, thr, true, 1u << 30);
      CHECK(res.rc == 0, "%s [%s] rc %d", what, impls[x].c_str(), res.rc);
      CHECK(res.tickets == ref.tickets, "%s [%s] tickets", what, impls[x].c_str());
      CHECK(res.winners == ref.winners, "%s [%s] winners (%u vs %zu)", what, impls[x].c_str(), res.n_winners,
            ref.winners.size());
      if (res.product != want_c) {
        size_t bad = 0, first_bad = 0;
        for (size_t i = 0; i < want_c.size(); i++)
          if (res.product[i] != want_c[i]) {
            if (!bad) first_bad = i;
            bad++;
          }
        CHECK(false, "%s [%s] product: %zu wrong, first at (%zu, %zu): %d vs %d", what, impls[x].c_str(), bad,
              first_bad / s.n, first_bad % s.n, res.product[first_bad], want_c[first_bad]);
      }
      if (x == 0) first = res;
      else
        CHECK(res.tickets == first.tickets && res.winners == first.winners && res.product == first.product,
              "%s [%s] differs from [%s]", what, impls[x].c_str(), impls[0].c_str());
      if (!quick || s.k <= 4096) {
        Result sp = run_split(A, B, s.m, s.k, s.n, cfg, seedA, seedB, thr, 2, 4);
        CHECK(sp.rc == 0 && sp.tickets == res.tickets && sp.winners == res.winners && sp.product == res.product,
              "%s [%s] split API", what, impls[x].c_str());
        Result st = run_split(A, B, s.m, s.k, s.n, cfg, seedA, seedB, thr, 3, 3, true);
        CHECK(st.rc == 0 && st.tickets == res.tickets && st.winners == res.winners && st.product == res.product,
              "%s [%s] split API, threaded", what, impls[x].c_str());
      }
      // truncated winner list
      if (ref.winners.size() > 1) {
        Result tr = run_one(A, B, s.m, s.k, s.n, cfg, seedA, seedB, thr, false, 1);
        CHECK(tr.rc == 0 && tr.n_winners == ref.winners.size() && tr.winners.size() == 1 &&
                  tr.winners[0] == ref.winners[0],
              "%s [%s] truncated winners", what, impls[x].c_str());
      }
    }
  }
}

// Plain GEMM helper and error codes.
void check_misc(const std::vector<std::string>& impls) {
  std::mt19937_64 rng(7);
  for (const std::string& impl : impls) {
    pouw_lottery_select(impl.c_str());
    for (auto dims : {std::vector<uint32_t>{37, 1000, 45}, std::vector<uint32_t>{64, 64, 64},
                      std::vector<uint32_t>{1, 1, 1}, std::vector<uint32_t>{130, 2049, 33},
                      std::vector<uint32_t>{64, 300, 96}, std::vector<uint32_t>{256, 700, 192}}) {
      const uint32_t m = dims[0], k = dims[1], n = dims[2];
      std::vector<int8_t> A((size_t)m * k), B((size_t)k * n);
      for (auto& x : A) x = (int8_t)rng();
      for (auto& x : B) x = (int8_t)rng();
      std::vector<int32_t> C((size_t)m * n, 7);
      std::vector<uint8_t> scratch(pouw_lottery_plain_scratch_bytes(m, k, n));
      CHECK(pouw_lottery_plain_gemm(A.data(), B.data(), m, k, n, C.data(), scratch.data()) == 0, "plain rc");
      CHECK(C == naive_product(A, B, m, k, n), "[%s] plain GEMM %ux%ux%u", impl.c_str(), m, k, n);
    }
    // error codes
    std::vector<int8_t> A(64 * 64, 1), B(64 * 64, 1);
    uint8_t seed[32] = {1}, thr[32] = {};
    std::vector<uint8_t> scratch(pouw_lottery_scratch_bytes(64, 64, 64, 8, 8, 8));
    uint32_t nw;
    pouw_lottery_config bad_r{1, 8, 8}, bad_h{8, 7, 8}, big_r{128, 8, 8}, ok{8, 8, 8};
    CHECK(pouw_lottery_run(A.data(), B.data(), 64, 64, 64, &bad_r, seed, seed, thr, nullptr, nullptr, 0, &nw, nullptr,
                           scratch.data()) == POUW_LOTTERY_EDIMS,
          "rank 1");
    CHECK(pouw_lottery_run(A.data(), B.data(), 64, 64, 64, &bad_h, seed, seed, thr, nullptr, nullptr, 0, &nw, nullptr,
                           scratch.data()) == POUW_LOTTERY_EDIMS,
          "h does not divide m");
    CHECK(pouw_lottery_run(A.data(), B.data(), 64, 64, 64, &big_r, seed, seed, thr, nullptr, nullptr, 0, &nw, nullptr,
                           scratch.data()) == POUW_LOTTERY_EDIMS,
          "k < r");
    A[100] = 65;
    CHECK(pouw_lottery_run(A.data(), B.data(), 64, 64, 64, &ok, seed, seed, thr, nullptr, nullptr, 0, &nw, nullptr,
                           scratch.data()) == POUW_LOTTERY_EENTRY,
          "[%s] A entry 65", impl.c_str());
    A[100] = -64;
    B[4000] = -65;
    CHECK(pouw_lottery_run(A.data(), B.data(), 64, 64, 64, &ok, seed, seed, thr, nullptr, nullptr, 0, &nw, nullptr,
                           scratch.data()) == POUW_LOTTERY_EENTRY,
          "[%s] B entry -65", impl.c_str());
    B[4000] = 64;
    CHECK(pouw_lottery_run(A.data(), B.data(), 64, 64, 64, &ok, seed, seed, thr, nullptr, nullptr, 0, &nw, nullptr,
                           scratch.data()) == 0,
          "[%s] entries at +-64", impl.c_str());
    CHECK(pouw_lottery_run(A.data(), B.data(), 64, 64, 64, &ok, seed, seed, thr, nullptr, nullptr, 0, &nw, nullptr,
                           nullptr) == POUW_LOTTERY_ENULL,
          "null scratch");
    // shared prepared by another implementation / shape
    std::vector<uint8_t> shared(pouw_lottery_shared_bytes(64, 64, 64, 8, 8, 8));
    std::vector<uint8_t> rows(pouw_lottery_rows_scratch_bytes(64, 64, 64, 8, 8, 8));
    CHECK(pouw_lottery_prepare(B.data(), 64, 64, 64, &ok, seed, seed, 0, 0, 1, shared.data()) == 0, "prepare");
    int32_t prod[64 * 64];
    CHECK(pouw_lottery_run_rows(A.data(), 64, 64, 64, &ok, seed, seed, thr, shared.data(), 0, 8, nullptr, nullptr, 0,
                                &nw, prod, rows.data()) == POUW_LOTTERY_ESHARED,
          "product without prepared recovery");
    pouw_lottery_config other{8, 8, 16};
    CHECK(pouw_lottery_run_rows(A.data(), 64, 64, 64, &other, seed, seed, thr, shared.data(), 0, 8, nullptr, nullptr,
                                0, &nw, nullptr, rows.data()) == POUW_LOTTERY_ESHARED,
          "other tile shape");
    CHECK(pouw_lottery_run_rows(A.data(), 64, 64, 64, &ok, seed, seed, thr, shared.data(), 3, 9, nullptr, nullptr, 0,
                                &nw, nullptr, rows.data()) == POUW_LOTTERY_ERANGE,
          "tile rows past the end");
    CHECK(pouw_lottery_prepare(B.data(), 64, 64, 64, &ok, seed, seed, 0, 2, 2, shared.data()) == POUW_LOTTERY_ERANGE,
          "part index");
  }
}

void check_sha(const std::string& dir) {
  Json root;
  int checked = 0;
  if (load_json(dir + "/sha256.json", root)) {
    for (const Json& set : root["sets"].arr)
      for (const Json& v : set["vectors"].arr) {
        std::vector<uint8_t> msg;
        if (v["ascii"].kind == Json::Str) msg.assign(v["ascii"].str.begin(), v["ascii"].str.end());
        else if (v["hex"].kind == Json::Str) msg = unhex(v["hex"].str);
        else if (v["repeat"].kind == Json::Str)
          for (uint64_t i = 0; i < v["count"].u(); i++) msg.insert(msg.end(), v["repeat"].str.begin(), v["repeat"].str.end());
        else continue;
        if (v["bits"].kind == Json::Num && v["bits"].u() % 8) continue;
        uint8_t out[32];
        pouw_lottery_sha256(msg.data(), msg.size(), out);
        CHECK(hex(out, 32) == v["digest"].str, "sha256 vector %d of set %s", checked, set["name"].str.c_str());
        checked++;
      }
  }
  CHECK(checked >= 5, "sha256 vectors found: %d", checked);
  std::mt19937_64 rng(3);
  for (size_t len : {0, 1, 55, 56, 63, 64, 65, 119, 120, 1000}) {
    std::vector<uint8_t> msg(len);
    for (auto& x : msg) x = (uint8_t)rng();
    uint8_t out[32];
    pouw_lottery_sha256(msg.data(), len, out);
    CHECK(hex(out, 32) == hex(ref_sha(msg.data(), len).data(), 32), "sha256 length %zu", len);
  }
  // one-million 'a'
  std::vector<uint8_t> mil(1000000, 'a');
  uint8_t out[32];
  pouw_lottery_sha256(mil.data(), mil.size(), out);
  CHECK(hex(out, 32) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "sha256 million a");
  // long streams: the lanes of every width must agree with the plain construction
  uint8_t seed[32];
  for (auto& x : seed) x = (uint8_t)rng();
  std::vector<uint8_t> st(32 * 70 + 5);
  pouw_lottery_expand(seed, "FR", 2, 7, st.size(), st.data());
  for (uint64_t blk = 0; blk < 71; blk++) {
    uint8_t msg[42];
    std::memcpy(msg, seed, 32);
    msg[32] = 'F', msg[33] = 'R';
    for (int b = 0; b < 8; b++) msg[34 + b] = (uint8_t)(blk >> (8 * b));
    std::vector<uint8_t> h = ref_sha(msg, 42);
    for (int b = 0; b < 32; b++) {
      int64_t pos = (int64_t)blk * 32 + b - 7;
      if (pos >= 0 && pos < (int64_t)st.size() && st[pos] != h[b]) {
        CHECK(false, "stream block %llu byte %d", (unsigned long long)blk, b);
        blk = 71;
        break;
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : "test/vectors";
  bool quick = argc > 2 && std::string(argv[2]) == "--quick";
  Json root;
  if (!load_json(dir + "/lottery.json", root)) {
    std::printf("cannot read %s/lottery.json\n", dir.c_str());
    return 2;
  }
  std::vector<std::string> impls = available_impls();
  std::printf("implementations:");
  for (auto& s : impls) std::printf(" %s", s.c_str());
  std::printf("\n");
  check_sha(dir);
  check_vectors(root, impls);
  check_random(impls, quick);
  check_misc(impls);
  std::printf("%d checks, %d failures\n", g_checks, g_failures);
  return g_failures ? 1 : 0;
}
