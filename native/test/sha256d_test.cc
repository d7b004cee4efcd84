// Standalone test of the SHA-256d kernels (no test framework, no build system):
// every implementation this CPU can run is selected in turn and must
//  (a) give pouw_sha256d results equal to SHA-256 applied twice, where the test's own
//      small SHA-256 is first checked against the known answers in
//      test/vectors/sha256.json (FIPS examples including one million 'a', CAVS);
//  (b) reproduce the real Bitcoin headers in test/vectors/sha256d-bitcoin.json: the
//      hash (also as an exact-target boundary through the scan), and a nonce search
//      over [nonce - 5000, nonce + 5000] with the target expanded from the header's
//      compact bits, where every nonce found is re-checked with pouw_sha256d;
//  (c) return exactly the brute-force found list (computed here with the test's own
//      SHA-256) on random headers with an easy target, over several layouts: 104-byte
//      header with an 8-byte nonce at 96, 80-byte with a 4-byte nonce at 76, 128-byte
//      (three blocks), unaligned nonces, random layouts, 4-byte wrap at 2^32 - 1,
//      8-byte carry across 2^32 and wrap at 2^64 - 1; plus stop_on_find, max_found,
//      cancellation (before and during a scan) and invalid-job error codes.
//
// It does not measure speed (see sha256d_bench.cc) and cannot exercise the dispatch
// fallbacks of CPUs other than the one it runs on: kernels this CPU lacks are skipped.
//
// Usage: sha256d_test <path to test/vectors>. Exit status 0 when everything passes.
#include <algorithm>
#include <chrono>
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

#include "../src/sha256d.h"

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
// Independent, deliberately plain SHA-256 (FIPS 180-4) used as the test oracle.

struct RefSha256 {
  static uint32_t ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
  static void block(uint32_t h[8], const uint8_t* p) {
    static const uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2};
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
      w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
             p[4 * i + 3];
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
  static std::vector<uint8_t> hash(const std::vector<uint8_t>& m) {
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    std::vector<uint8_t> buf(m);
    uint64_t bits = (uint64_t)m.size() * 8;
    buf.push_back(0x80);
    while (buf.size() % 64 != 56) buf.push_back(0);
    for (int i = 7; i >= 0; i--) buf.push_back((uint8_t)(bits >> (8 * i)));
    for (size_t off = 0; off < buf.size(); off += 64) block(h, buf.data() + off);
    std::vector<uint8_t> out(32);
    for (int i = 0; i < 8; i++)
      for (int j = 0; j < 4; j++) out[4 * i + j] = (uint8_t)(h[i] >> (24 - 8 * j));
    return out;
  }
  static std::vector<uint8_t> hash2(const std::vector<uint8_t>& m) { return hash(hash(m)); }
};

// ---------------------------------------------------------------------------
// Helpers.

std::vector<uint8_t> from_hex(const std::string& s) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < s.size(); i += 2) out.push_back((uint8_t)std::stoul(s.substr(i, 2), nullptr, 16));
  return out;
}

std::string to_hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; i++) s += d[p[i] >> 4], s += d[p[i] & 15];
  return s;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    std::printf("cannot read %s\n", path.c_str());
    std::exit(2);
  }
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Minimal extraction from the flat objects of the vector files: the innermost {...}
// blocks, and "key": "string" or "key": number values inside one block.
std::vector<std::string> flat_objects(const std::string& json) {
  std::vector<std::string> out;
  size_t open = std::string::npos;
  bool in_str = false;
  for (size_t i = 0; i < json.size(); i++) {
    char c = json[i];
    if (in_str) {
      if (c == '\\') i++;
      else if (c == '"') in_str = false;
      continue;
    }
    if (c == '"') in_str = true;
    else if (c == '{') open = i;
    else if (c == '}' && open != std::string::npos) {
      out.push_back(json.substr(open, i - open + 1));
      open = std::string::npos;
    }
  }
  return out;
}

bool field(const std::string& obj, const std::string& key, std::string* value) {
  size_t k = obj.find("\"" + key + "\"");
  if (k == std::string::npos) return false;
  size_t colon = obj.find(':', k);
  size_t v = obj.find_first_not_of(" \t\r\n", colon + 1);
  if (obj[v] == '"') {
    std::string s;
    for (size_t i = v + 1; i < obj.size() && obj[i] != '"'; i++) {
      if (obj[i] == '\\') i++;
      s += obj[i];
    }
    *value = s;
  } else {
    size_t e = obj.find_first_of(",}\r\n", v);
    *value = obj.substr(v, e - v);
  }
  return true;
}

// 256-bit little-endian comparison: hash <= target.
bool le256_leq(const uint8_t* hash, const uint8_t* target) {
  for (int i = 31; i >= 0; i--)
    if (hash[i] != target[i]) return hash[i] < target[i];
  return true;
}

void put_nonce(std::vector<uint8_t>& h, uint32_t off, uint32_t width, uint64_t nonce) {
  for (uint32_t i = 0; i < width; i++) h[off + i] = (uint8_t)(nonce >> (8 * i));
}

// Compact "bits" to a 32-byte little-endian target.
void expand_bits(uint32_t bits, uint8_t target[32]) {
  std::memset(target, 0, 32);
  int exp = (int)(bits >> 24);
  uint32_t mant = bits & 0x7fffff;
  for (int i = 0; i < 3; i++) {
    int pos = exp - 3 + i;
    if (pos >= 0 && pos < 32) target[pos] = (uint8_t)(mant >> (8 * i));
  }
}

const char* kImpls[] = {"avx512-16x", "shani-4x", "shani-2x", "portable"};

struct Scan {
  int rc;
  pouw_sha256d_result res;
  std::vector<uint64_t> found;
};

Scan scan(const std::vector<uint8_t>& header, uint32_t off, uint32_t width, const uint8_t target[32],
          uint64_t start, uint64_t count, uint32_t max_found = 1 << 20, int stop = 0,
          const volatile int32_t* cancel = nullptr) {
  pouw_sha256d_job job;
  job.header = header.data();
  job.header_len = (uint32_t)header.size();
  job.nonce_offset = off;
  job.nonce_width = width;
  std::memcpy(job.target, target, 32);
  Scan s;
  s.found.assign(max_found ? max_found : 1, 0);
  s.res = {0, 0};
  s.rc = pouw_sha256d_scan(&job, start, count, s.found.data(), max_found, stop, cancel, &s.res);
  s.found.resize(s.rc == 0 ? s.res.found_count : 0);
  return s;
}

// Brute force with the test's own SHA-256.
std::vector<uint64_t> brute(std::vector<uint8_t> header, uint32_t off, uint32_t width,
                            const uint8_t target[32], uint64_t start, uint64_t count) {
  std::vector<uint64_t> out;
  uint64_t mask = width == 8 ? ~0ull : 0xffffffffull;
  for (uint64_t i = 0; i < count; i++) {
    uint64_t n = (start + i) & mask;
    put_nonce(header, off, width, n);
    if (le256_leq(RefSha256::hash2(header).data(), target)) out.push_back(n);
  }
  return out;
}

// ---------------------------------------------------------------------------
// (a) known answers.

void test_known_answers(const std::string& dir, bool check_reference) {
  std::string json = read_file(dir + "/sha256.json");
  int n = 0;
  for (const std::string& obj : flat_objects(json)) {
    std::string digest, s, count;
    if (!field(obj, "digest", &digest) || obj.find("\"parts\"") != std::string::npos) continue;
    std::vector<uint8_t> msg;
    if (field(obj, "ascii", &s)) msg.assign(s.begin(), s.end());
    else if (field(obj, "hex", &s)) msg = from_hex(s);
    else if (field(obj, "repeat", &s) && field(obj, "count", &count)) {
      size_t c = std::stoul(count);
      for (size_t i = 0; i < c; i++) msg.insert(msg.end(), s.begin(), s.end());
    } else continue;
    if (check_reference) {
      std::vector<uint8_t> d = RefSha256::hash(msg);
      CHECK(to_hex(d.data(), 32) == digest, "reference SHA-256 of a %zu-byte vector", msg.size());
    }
    uint8_t dd[32];
    pouw_sha256d(msg.data(), msg.size(), dd);
    std::vector<uint8_t> want = RefSha256::hash2(msg);
    CHECK(std::memcmp(dd, want.data(), 32) == 0, "pouw_sha256d of a %zu-byte vector", msg.size());
    n++;
  }
  CHECK(n >= 5, "vectors read: %d", n);
  // SHA-256d known answers (SHA-256 applied twice to the FIPS messages).
  uint8_t d[32];
  pouw_sha256d((const uint8_t*)"abc", 3, d);
  CHECK(to_hex(d, 32) == "4f8b42c22dd3729b519ba6f68d2da7cc5b2d606d05daed5ad5128cc03e6c6358", "abc");
  std::vector<uint8_t> mil(1000000, 'a');
  pouw_sha256d(mil.data(), mil.size(), d);
  CHECK(to_hex(d, 32) == "80d1189477563e1b5206b2749f1afe4807e5705e8bd77887a60187a712156688", "1M a");
  // Every length 0..200 (all padding boundaries) against the reference.
  std::vector<uint8_t> m;
  for (int len = 0; len <= 200; len++) {
    pouw_sha256d(m.data(), m.size(), d);
    CHECK(std::memcmp(d, RefSha256::hash2(m).data(), 32) == 0, "length %d", len);
    m.push_back((uint8_t)(len * 7 + 1));
  }
}

// ---------------------------------------------------------------------------
// (b) Bitcoin headers.

void test_bitcoin(const std::string& dir, const char* impl) {
  std::string json = read_file(dir + "/sha256d-bitcoin.json");
  int n = 0;
  for (const std::string& obj : flat_objects(json)) {
    std::string hex, display, bits_s, nonce_s, height;
    if (!field(obj, "header", &hex) || !field(obj, "hash", &display) || !field(obj, "bits", &bits_s) ||
        !field(obj, "nonce", &nonce_s))
      continue;
    field(obj, "height", &height);
    std::vector<uint8_t> header = from_hex(hex);
    CHECK(header.size() == 80, "header size");
    uint32_t nonce = (uint32_t)std::stoul(nonce_s);
    uint32_t bits = (uint32_t)std::stoul(bits_s, nullptr, 16);
    uint32_t in_header = header[76] | header[77] << 8 | header[78] << 16 | (uint32_t)header[79] << 24;
    CHECK(in_header == nonce, "height %s nonce field", height.c_str());

    // Hash: display order is the digest reversed.
    uint8_t d[32];
    pouw_sha256d(header.data(), 80, d);
    std::vector<uint8_t> want = from_hex(display);
    std::vector<uint8_t> rev(want.rbegin(), want.rend());
    CHECK(std::memcmp(d, rev.data(), 32) == 0, "height %s hash", height.c_str());

    // The same hash through the scan: target == hash finds it, hash - 1 does not.
    uint8_t t[32];
    std::memcpy(t, d, 32);
    Scan s = scan(header, 76, 4, t, nonce, 1);
    CHECK(s.rc == 0 && s.found.size() == 1 && s.found[0] == nonce, "%s height %s target == hash", impl,
          height.c_str());
    for (int i = 0; i < 32; i++)
      if (t[i]-- != 0) break;  // t = hash - 1 (hash is never zero)
    s = scan(header, 76, 4, t, nonce, 1);
    CHECK(s.rc == 0 && s.found.empty() && s.res.hashes_done == 1, "%s height %s target == hash-1", impl,
          height.c_str());

    // Nonce search around the real nonce with the header's own target.
    uint8_t target[32];
    expand_bits(bits, target);
    CHECK(le256_leq(d, target), "height %s meets its bits", height.c_str());
    std::vector<uint8_t> zeroed = header;
    put_nonce(zeroed, 76, 4, 0);
    s = scan(zeroed, 76, 4, target, (uint64_t)nonce - 5000, 10001);
    bool hit = false;
    for (uint64_t f : s.found) {
      hit |= f == nonce;
      std::vector<uint8_t> h = zeroed;
      put_nonce(h, 76, 4, f);
      pouw_sha256d(h.data(), 80, d);
      CHECK(le256_leq(d, target), "%s height %s found nonce %llu meets target", impl, height.c_str(),
            (unsigned long long)f);
    }
    CHECK(s.rc == 0 && hit && s.res.hashes_done == 10001, "%s height %s search found the nonce", impl,
          height.c_str());
    n++;
  }
  CHECK(n >= 5, "bitcoin headers read: %d", n);
}

// ---------------------------------------------------------------------------
// (c) layouts, equality with brute force, control flow.

struct Layout {
  uint32_t len, off, width;
  uint64_t start, count;
  const char* what;
};

std::vector<uint8_t> random_header(std::mt19937_64& rng, uint32_t len) {
  std::vector<uint8_t> h(len);
  for (auto& b : h) b = (uint8_t)rng();
  return h;
}

void easy_target(uint8_t t[32]) {
  std::memset(t, 0xff, 32);
  t[31] = 0x00;
  t[30] = 0x0f;  // about 1 in 4096 hashes qualify
}

struct Case {
  Layout l;
  std::vector<uint8_t> header;
  std::vector<uint64_t> want;
};

std::vector<Case> make_cases() {
  std::mt19937_64 rng(20240611);
  std::vector<Layout> layouts = {
      {104, 96, 8, rng(), 60000, "104-byte header, 8-byte nonce at 96"},
      {80, 76, 4, rng() & 0xffffffff, 60000, "80-byte header, 4-byte nonce at 76"},
      {128, 120, 8, rng(), 30000, "128-byte header (3 blocks), 8-byte nonce at 120"},
      {128, 64, 4, rng() & 0xffffffff, 30000, "128-byte header, 4-byte nonce at 64"},
      {120, 101, 4, rng() & 0xffffffff, 30000, "120-byte header (3 blocks), unaligned nonce at 101"},
      {119, 111, 8, rng(), 30000, "119-byte header (last 2-block length), nonce at 111"},
      {104, 98, 4, rng() & 0xffffffff, 30000, "104-byte header, unaligned 4-byte nonce at 98"},
      {104, 96, 8, 0xfffff000ull, 8192 + 37, "8-byte nonce, low word carries into high word"},
      {104, 96, 8, ~0ull - 40000, 80001, "8-byte nonce wraps at 2^64 - 1"},
      {80, 76, 4, 0xffffffffull - 40000, 80001, "4-byte nonce wraps at 2^32 - 1"},
      {80, 76, 4, 0x1ffffff00ull, 1000, "4-byte nonce, start above 2^32 is masked"},
      {80, 64, 8, rng(), 20000, "80-byte header, 8-byte nonce at 64"},
  };
  for (int i = 0; i < 16; i++) {
    uint32_t len = 80 + (uint32_t)(rng() % 49);
    uint32_t width = rng() % 2 ? 8 : 4;
    uint32_t off = 64 + (uint32_t)(rng() % (len - 64 - width + 1));
    uint64_t count = 1 + rng() % 12000;
    layouts.push_back({len, off, width, rng(), count, "random layout"});
  }
  std::vector<Case> cases;
  uint8_t target[32];
  easy_target(target);
  for (const Layout& l : layouts) {
    Case c{l, random_header(rng, l.len), {}};
    c.want = brute(c.header, l.off, l.width, target, l.start, l.count);
    cases.push_back(c);
  }
  return cases;
}

void test_layouts(const std::vector<Case>& cases, const char* impl) {
  uint8_t target[32];
  easy_target(target);
  for (const Case& c : cases) {
    const Layout& l = c.l;
    Scan s = scan(c.header, l.off, l.width, target, l.start, l.count);
    CHECK(s.rc == 0 && s.res.hashes_done == l.count && s.found == c.want,
          "%s: %s (len %u off %u width %u count %llu): %zu found, %zu expected", impl, l.what, l.len,
          l.off, l.width, (unsigned long long)l.count, s.found.size(), c.want.size());
  }
  // The wrap cases must actually have found nonces on both sides of the wrap.
  for (const Case& c : cases) {
    if (std::strstr(c.l.what, "wraps")) {
      bool low = false, high = false;
      for (uint64_t f : c.want) (f < (1ull << 31) ? low : high) = true;
      CHECK(low && high, "%s has finds on both sides of the wrap", c.l.what);
    }
  }

  // Every nonce meets a trivial target: all lanes report candidates, partial groups.
  uint8_t all[32];
  std::memset(all, 0xff, 32);
  const Case& c0 = cases[0];
  Scan s = scan(c0.header, 96, 8, all, 1000, 37);
  bool ok = s.rc == 0 && s.found.size() == 37;
  for (size_t i = 0; ok && i < 37; i++) ok = s.found[i] == 1000 + i;
  CHECK(ok, "%s: trivial target finds every nonce", impl);

  // stop_on_find and max_found.
  const Case& c1 = cases[1];
  CHECK(c1.want.size() >= 4, "case has enough finds");
  s = scan(c1.header, c1.l.off, c1.l.width, target, c1.l.start, c1.l.count, 8, 1);
  uint64_t first_idx = (c1.want[0] - c1.l.start) & 0xffffffffull;
  CHECK(s.rc == 0 && s.found.size() == 1 && s.found[0] == c1.want[0] && s.res.hashes_done == first_idx + 1,
        "%s: stop_on_find", impl);
  s = scan(c1.header, c1.l.off, c1.l.width, target, c1.l.start, c1.l.count, 3, 0);
  CHECK(s.rc == 0 && s.found.size() == 3 && s.res.found_count == 3 && s.res.hashes_done == c1.l.count &&
            std::equal(s.found.begin(), s.found.end(), c1.want.begin()),
        "%s: max_found caps the list, scan continues", impl);
  s = scan(c1.header, c1.l.off, c1.l.width, target, c1.l.start, c1.l.count, 0, 0);
  CHECK(s.rc == 0 && s.res.found_count == 0 && s.res.hashes_done == c1.l.count, "%s: max_found 0", impl);
  s = scan(c1.header, c1.l.off, c1.l.width, target, c1.l.start, 0);
  CHECK(s.rc == 0 && s.res.hashes_done == 0 && s.found.empty(), "%s: count 0", impl);

  // Cancellation: already set, and set by another thread during a long scan.
  volatile int32_t cancel = 1;
  s = scan(c0.header, 96, 8, target, 0, 1000000, 16, 0, &cancel);
  CHECK(s.rc == 0 && s.res.hashes_done == 0 && s.found.empty(), "%s: pre-set cancel", impl);
  uint8_t impossible[32] = {0};
  cancel = 0;
  std::thread setter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    cancel = 1;
  });
  auto t0 = std::chrono::steady_clock::now();
  s = scan(c0.header, 96, 8, impossible, 0, 1ull << 40, 16, 0, &cancel);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  setter.join();
  CHECK(s.rc == 0 && s.res.hashes_done > 0 && s.res.hashes_done < (1ull << 40) &&
            s.res.hashes_done % 4096 == 0 && ms < 2000,
        "%s: cancel during scan (hashes_done %llu, %.1f ms)", impl,
        (unsigned long long)s.res.hashes_done, ms);
}

void test_invalid() {
  std::vector<uint8_t> h(129, 0);
  uint8_t t[32] = {0};
  pouw_sha256d_job job{};
  pouw_sha256d_result r;
  uint64_t f[4];
  auto run = [&](uint32_t len, uint32_t off, uint32_t width, const uint8_t* header) {
    job.header = header;
    job.header_len = len;
    job.nonce_offset = off;
    job.nonce_width = width;
    std::memcpy(job.target, t, 32);
    return pouw_sha256d_scan(&job, 0, 10, f, 4, 0, nullptr, &r);
  };
  CHECK(run(79, 72, 4, h.data()) == -1, "len 79");
  CHECK(run(129, 96, 8, h.data()) == -1, "len 129");
  CHECK(run(104, 96, 8, nullptr) == -1, "null header");
  CHECK(run(104, 96, 5, h.data()) == -2, "width 5");
  CHECK(run(104, 60, 4, h.data()) == -2, "offset 60");
  CHECK(run(104, 100, 8, h.data()) == -2, "nonce past the end");
  CHECK(run(104, 0xfffffffcu, 8, h.data()) == -2, "huge offset");
  CHECK(run(104, 100, 4, h.data()) == 0, "nonce at the very end is fine");
  CHECK(pouw_sha256d_scan(nullptr, 0, 1, f, 4, 0, nullptr, &r) == -3, "null job");
  CHECK(pouw_sha256d_scan(&job, 0, 1, f, 4, 0, nullptr, nullptr) == -3, "null out");
  CHECK(pouw_sha256d_scan(&job, 0, 1, nullptr, 4, 0, nullptr, &r) == -3, "null found");
  CHECK(pouw_sha256d_scan(&job, 0, 1, nullptr, 0, 0, nullptr, &r) == 0, "null found, max 0");
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : "test/vectors";
  std::printf("default implementation: %s\n", pouw_sha256d_impl());
  CHECK(pouw_sha256d_select("no-such-impl") != 0, "unknown name rejected");
  CHECK(pouw_sha256d_select(nullptr) != 0, "null name rejected");

  std::printf("building brute-force expectations...\n");
  std::vector<Case> cases = make_cases();
  size_t total = 0;
  for (const Case& c : cases) total += c.want.size();
  std::printf("%zu layouts, %zu expected finds\n", cases.size(), total);

  bool first = true;
  int tested = 0;
  for (const char* impl : kImpls) {
    if (pouw_sha256d_select(impl) != 0) {
      std::printf("%-11s not available on this CPU, skipped\n", impl);
      continue;
    }
    CHECK(std::strcmp(pouw_sha256d_impl(), impl) == 0, "selected %s", impl);
    int before = g_failures;
    test_known_answers(dir, first);
    test_bitcoin(dir, impl);
    test_layouts(cases, impl);
    first = false;
    tested++;
    std::printf("%-11s %s\n", impl, g_failures == before ? "ok" : "FAILED");
  }
  test_invalid();
  CHECK(tested >= 1, "at least the portable implementation ran");
  std::printf("%d checks, %d failures\n", g_checks, g_failures);
  return g_failures ? 1 : 0;
}
