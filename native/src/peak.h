// Peak-throughput probes: the CPU's own ceiling for int8 multiply-adds,
// measured with independent chains of its widest int8 dot-product
// instruction (AMX tiles, AVX-512 VNNI or AVX2) held in registers (no memory
// traffic). The benchmark prints
// kernel rates beside this figure, measured in the same run.
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Runs `iterations` rounds of the probe and returns the multiply-adds done;
// the caller times it. `*impl` receives the unit used ("amx-int8",
// "avx512-vnni", "avx2-vpmaddwd", "scalar").
// `unit` asks for one unit ("amx-int8", "avx512-vnni"); NULL takes the widest.
// An unavailable unit falls back to the next narrower one (see *impl).
uint64_t pouw_peak_i8_probe(uint64_t iterations, const char* unit, const char** impl);

#ifdef __cplusplus
}
#endif
