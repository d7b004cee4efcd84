#!/usr/bin/env bash
# Builds and runs the standalone matmul-lottery kernel test (and, with --bench, the
# single-thread benchmark) with g++ directly; no CMake needed.
#   native/test/lottery_run.sh                 build + full test
#   native/test/lottery_run.sh --quick         build + test without the k = 65536 shapes
#   native/test/lottery_run.sh --bench [impl]  build + full test + benchmark
#   native/test/lottery_run.sh --wasm          also compile-check the freestanding wasm32 build
# Output binaries go to build/native-test/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/../.."
CXX=${CXX:-g++}
OUT=build/native-test
mkdir -p "$OUT"
FLAGS=(-std=c++17 -O3 -march=x86-64-v2 -Wall -Wextra -pthread)
SRC=(native/src/lottery.cc native/src/lottery_stream.cc native/src/lottery_portable.cc native/src/lottery_avx2.cc native/src/lottery_vnni.cc native/src/lottery_amx.cc)

"$CXX" "${FLAGS[@]}" -o "$OUT/lottery_test" native/test/lottery_test.cc "${SRC[@]}"
if [[ "${1:-}" == "--quick" ]]; then
  "$OUT/lottery_test" test/vectors --quick
else
  "$OUT/lottery_test" test/vectors
fi

if [[ "${1:-}" == "--wasm" ]]; then
  CLANGXX=${CLANGXX:-clang++}
  "$CLANGXX" --target=wasm32 -O3 -msimd128 -mbulk-memory -nostdlib -ffreestanding -fno-exceptions -fno-rtti \
    -std=c++17 -Wall -Wl,--no-entry -Wl,--export=pouw_lottery_run -Wl,--export=__heap_base \
    -o "$OUT/lottery.wasm" native/src/lottery.cc native/src/lottery_stream.cc native/src/lottery_portable.cc native/src/lottery_simd128.cc
  echo "wasm32 build OK: $OUT/lottery.wasm"
fi

if [[ "${1:-}" == "--bench" ]]; then
  BENCH_DEFS=() BENCH_SRC=()
  if [[ -f native/src/gemm_i8.cc && -f native/src/gemm_i8.h ]]; then
    BENCH_DEFS=(-DPOUW_BENCH_GEMM_I8) BENCH_SRC=(native/src/gemm_i8.cc)
  fi
  "$CXX" "${FLAGS[@]}" "${BENCH_DEFS[@]}" -o "$OUT/lottery_bench" native/test/lottery_bench.cc "${SRC[@]}" \
    "${BENCH_SRC[@]}"
  "$OUT/lottery_bench" "${@:2}"
fi
