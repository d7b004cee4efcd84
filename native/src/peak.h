// Peak-throughput probes: the CPU's own ceiling for int8 multiply-adds, one
// probe per multiply-add instruction sequence a kernel unit can issue. Each
// probe keeps its operands in registers (no memory traffic) and runs enough
// independent accumulators to hide the sequence's latency, so its rate is
// bounded by the execution ports and the clock alone. A unit's peak is the
// fastest of its sequences: a kernel built from any of them, with loads and
// packing on top, cannot exceed it. The probes are timed by the caller.
//
// Units are named like the kernel implementations they bound ("amx-int8",
// "avx512-vnni", "avx2", "simd128"). A CPU without any listed unit has no
// probe: a scalar loop would not bound a compiler-vectorized kernel.
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Number of probes compiled into this build (available here or not).
int pouw_peak_i8_count(void);
// The unit probe `i` bounds, and its instruction sequence ("vpdpbusd zmm", ...);
// an empty string when `i` is out of range.
const char* pouw_peak_i8_unit(int i);
const char* pouw_peak_i8_sequence(int i);
// 1 when this CPU (and OS) can run probe `i`.
int pouw_peak_i8_available(int i);
// Runs `iterations` rounds of probe `i`; returns the multiply-adds done, or 0
// when the probe is out of range or not available here.
double pouw_peak_i8_run(int i, uint32_t iterations);

#ifdef __cplusplus
}
#endif
