// Peak-throughput probes: the CPU's own ceiling for int8 multiply-adds,
// measured with independent chains of its widest int8 dot-product
// instruction held in registers (no memory traffic). The benchmark prints
// kernel rates beside this figure, measured in the same run.
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Runs `iterations` rounds of the probe and returns the multiply-adds done;
// the caller times it. `*impl` receives the instruction used ("avx512-vnni",
// "avx2-vpmaddwd", "scalar").
uint64_t pouw_peak_i8_probe(uint64_t iterations, const char** impl);

#ifdef __cplusplus
}
#endif
