#!/usr/bin/env bash
# Builds and runs the standalone SHA-256d kernel test (and, with --bench, the
# single-thread benchmark) with g++ directly; no CMake needed.
#   native/test/run.sh            build + test
#   native/test/run.sh --bench    build + test + benchmark
# Output binaries go to build/native-test/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/../.."
CXX=${CXX:-g++}
OUT=build/native-test
mkdir -p "$OUT"
FLAGS=(-std=c++17 -O3 -march=x86-64-v2 -Wall -Wextra)
SRC=(native/src/sha256d.cc native/src/sha256d_shani.cc native/src/sha256d_avx512.cc)

"$CXX" "${FLAGS[@]}" -pthread -o "$OUT/sha256d_test" native/test/sha256d_test.cc "${SRC[@]}"
"$OUT/sha256d_test" test/vectors

if [[ "${1:-}" == "--bench" ]]; then
  BENCH_DEFS=() BENCH_LIBS=()
  if echo '#include <openssl/sha.h>' | "$CXX" -E -x c++ - >/dev/null 2>&1; then
    BENCH_DEFS=(-DPOUW_BENCH_OPENSSL) BENCH_LIBS=(-lcrypto)
  fi
  "$CXX" "${FLAGS[@]}" "${BENCH_DEFS[@]}" -o "$OUT/sha256d_bench" native/test/sha256d_bench.cc "${SRC[@]}" \
    "${BENCH_LIBS[@]}"
  "$OUT/sha256d_bench" "${@:2}"
fi
