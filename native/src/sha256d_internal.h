// Private glue between the SHA-256d nonce-search kernels (not part of the public
// interface in sha256d.h).
//
// What it holds: the "prepared job" every kernel starts from (midstate of the
// constant first block, the remaining padded block(s) as big-endian words with the
// nonce field zeroed, the target as words), and the small kernel table the
// dispatcher uses.
//
// Division of work: the dispatcher (sha256d.cc) validates the job, prepares it once
// per call, splits the range into batches, polls the cancel flag between batches and
// confirms every candidate with the full 256-bit comparison. A kernel only reports,
// per batch, the nonce offsets whose most significant 32 bits of the little-endian
// hash integer are <= the target's top word ("candidates"), in increasing order.
//
// It does not define any kernel or any exported symbol, only shared declarations;
// the SHA-256 compression itself (constants, rounds, schedule) is sha256_core.h,
// shared with the lottery.
//
// Everything here has internal linkage (static / anonymous namespace) on purpose:
// the kernel files are compiled with different target options, and a shared inline
// function merged across them by the linker could carry wide instructions into the
// code that runs on every CPU.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "sha256_core.h"
#include "sha256d.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define POUW_X86_KERNELS 1
#else
#define POUW_X86_KERNELS 0
#endif

namespace pouw {

// The SHA-256 compression, its constants and its helpers are sha256_core.h's.
using namespace sha256;

// A validated job, prepared once per scan call.
struct Prep {
  uint32_t mid[8];          // state after the first (nonce-free) 64-byte block
  uint32_t block[2][16];    // the remaining padded block(s), big-endian words, nonce bytes zero
  uint32_t tail_blocks;     // 1 (header_len <= 119) or 2 (120..128)
  uint32_t nonce_pos;       // byte offset of the nonce inside block[0] (0..60)
  uint32_t nonce_width;     // 4 or 8
  uint32_t first_word;      // block[0] word holding the nonce's first byte
  uint32_t last_word;       // block[0] word holding the nonce's last byte
  uint64_t nonce_mask;      // 0xffffffff or ~0
  uint32_t target_words[8]; // target as little-endian 32-bit words; [7] is the most significant
};

namespace {

// ORs the nonce bytes (little-endian, at p.nonce_pos) into the big-endian words of a
// copy of block[0]. Only words first_word..last_word change.
inline void put_nonce(const Prep& p, uint64_t nonce, uint32_t words[16]) {
  for (uint32_t j = 0; j < p.nonce_width; j++) {
    uint32_t pos = p.nonce_pos + j;
    words[pos >> 2] |= (uint32_t)((nonce >> (8 * j)) & 0xff) << (24 - 8 * (pos & 3));
  }
}

// Big-endian nonce words first_word..last_word (at most 3) for one nonce, each
// including the constant bytes of block[0] that share the word.
inline void nonce_words(const Prep& p, uint64_t nonce, uint32_t out[3]) {
  uint32_t tmp[16];
  for (uint32_t i = p.first_word; i <= p.last_word; i++) tmp[i] = p.block[0][i];
  put_nonce(p, nonce, tmp);
  for (uint32_t i = p.first_word; i <= p.last_word; i++) out[i - p.first_word] = tmp[i];
}

}  // namespace

// Per-scan scratch a kernel may fill in init() and read in batch(); no allocation.
struct alignas(64) KernelScratch {
  unsigned char bytes[6144];
};

// Largest batch the dispatcher hands to a kernel; candidate offsets fit in uint16_t.
constexpr uint32_t kBatch = 4096;

struct Kernel {
  const char* name;
  void (*init)(const Prep& p, KernelScratch* s);
  // Hashes nonces (first + i) & p.nonce_mask for i in [0, n), n <= kBatch, and writes the
  // offsets i whose candidate test passes, in increasing order, to cand[]. Returns how many.
  uint32_t (*batch)(const Prep& p, const KernelScratch* s, uint64_t first, uint32_t n,
                    uint16_t* cand);
};

#if POUW_X86_KERNELS
extern const Kernel kKernelAvx512;
extern const Kernel kKernelShani4;
extern const Kernel kKernelShani2;
#endif
#if defined(__wasm_simd128__)
extern const Kernel kKernelSimd128;
#endif

}  // namespace pouw
